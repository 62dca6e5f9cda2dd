//! What every handler and socket task shares.

use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::classes::LabPhones;
use crate::classes::hub::ClassHub;
use crate::classes::projector::Projectors;
use crate::clock::Clock;
use crate::config::Config;
use crate::delivery::connections::Connections;
use crate::delivery::fanout::FanoutJob;
use crate::gateway::in_process::InProcessDoor;
use crate::lab::crowd::CrowdRegistry;
use crate::lab::load::LoadRuns;
use crate::lab::pace::Pacing;
use crate::lab::sandbox::LabControls;
use crate::presence::Presence;
use crate::store::Store;
use crate::trace::TraceBus;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    /// The time presence, outages, crowds and expiry read (`config.clock`).
    pub clock: Clock,
    pub store: Store,
    pub connections: Arc<Connections>,
    pub presence: Arc<Presence>,
    pub traces: Arc<TraceBus>,
    /// `ws://…/ws` of this server, for the simulated crowd to connect to.
    pub ws_url: String,
    pub crowds: Arc<CrowdRegistry>,
    /// Each lab sandbox's controls (compressed expiry, injected outages).
    pub labs: Arc<LabControls>,
    /// Each lab's pace: live, slow motion or step by step.
    pub pacing: Arc<Pacing>,
    /// Labs' load runs (one at a time per server).
    pub load: Arc<LoadRuns>,
    /// The pages watching each class (instructors' and students').
    pub class_hub: Arc<ClassHub>,
    /// Each class's projector: the run the instructor shows the whole class.
    pub projectors: Arc<Projectors>,
    /// Each student lab's own phones, for who of a class is connected.
    pub lab_phones: Arc<LabPhones>,
    /// The door the server's own crowd members come in by (`--crowd-transport pipe`).
    pub in_process: Arc<InProcessDoor>,
    /// New group messages for the fan-out worker.
    pub fanout: mpsc::Sender<FanoutJob>,
    /// Cancelled when the server begins shutting down: every socket task watches it and
    /// sends its client a close frame.
    pub shutdown: CancellationToken,
    /// Every socket task runs inside this tracker, so shutdown can wait for them all to
    /// finish their close handshakes (axum's graceful shutdown does not track upgraded
    /// connections).
    pub sockets: TaskTracker,
}

impl AppState {
    pub fn new(config: Config, store: Store, fanout: mpsc::Sender<FanoutJob>, ws_url: String) -> Self {
        let clock = config.clock.clone();
        AppState {
            ws_url,
            crowds: Arc::default(),
            labs: Arc::new(LabControls::new(clock.clone())),
            pacing: Arc::new(Pacing::new(clock.clone())),
            clock,
            load: Arc::default(),
            class_hub: Arc::default(),
            projectors: Arc::default(),
            lab_phones: Arc::default(),
            in_process: Arc::default(),
            fanout,
            config: Arc::new(config),
            store,
            connections: Arc::default(),
            presence: Arc::default(),
            traces: Arc::default(),
            shutdown: CancellationToken::new(),
            sockets: TaskTracker::new(),
        }
    }
}
