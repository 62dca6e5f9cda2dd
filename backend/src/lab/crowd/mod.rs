//! The simulated crowd: N group members that are real clients.
//!
//! Each member is a registered device that connects over a real WebSocket through the
//! same [`bluetick_client`] library as everyone else, heartbeats, acknowledges
//! what it receives and reads it after a random delay. Some start offline and come back
//! later, reconnecting with the shared backoff policy. A seed makes a run reproducible:
//! the same seed gives every member the same delays. The delays run on the server's
//! [`Clock`], so a test can skip a member's hour offline instead of waiting it out. In
//! an `encrypted` crowd every member also has a vodozemac account: it publishes its keys
//! before it first connects and decrypts what it receives ([`E2eDevice`]).
//!
//! Here: what a crowd is asked to do ([`CrowdSpec`]), what each member did
//! ([`MemberLog`]) and a running [`Crowd`]; [`member`] is one member's life, [`registry`]
//! the crowds a server runs and the caps on them.

mod member;
mod registry;

pub use registry::{CrowdPlaces, CrowdRefusal, CrowdRegistry};

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluetick_shared::frames::{MessageId, Registration};
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::gateway::in_process::InProcessDoor;
use bluetick_client::DeviceState;
use bluetick_client::e2e::E2eDevice;
use member::{Behaviour, api_addr};

/// How a crowd behaves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrowdSpec {
    /// How many members.
    pub size: usize,
    /// How many of them start offline (the first `offline` by index).
    #[serde(default)]
    pub offline: usize,
    /// Offline members come back after this long (ms).
    #[serde(default = "default_back_after_ms")]
    pub back_after_ms: u64,
    /// Each member reads a message after a delay drawn from this range (ms).
    #[serde(default = "default_read_delay_ms")]
    pub read_delay_ms: (u64, u64),
    /// Same seed, same delays.
    #[serde(default)]
    pub seed: u64,
    /// Members publish end-to-end encryption keys and decrypt what they receive.
    #[serde(default)]
    pub encrypted: bool,
}

fn default_back_after_ms() -> u64 {
    5_000
}

fn default_read_delay_ms() -> (u64, u64) {
    (200, 1_500)
}

/// One member as the lab sees it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemberLog {
    pub online: bool,
    /// Messages shown, in arrival order (redeliveries already dropped).
    pub received: Vec<MessageId>,
    /// Messages read.
    pub read: usize,
    /// Redeliveries the client library dropped.
    pub duplicates_dropped: u64,
    pub connects: u32,
    /// Encrypted crowds: whether the member's keys are in the key directory.
    #[serde(default)]
    pub keys_published: bool,
    /// Encrypted crowds: messages decrypted (room keys not counted).
    #[serde(default)]
    pub decrypted: usize,
    /// Encrypted crowds: messages that could not be decrypted.
    #[serde(default)]
    pub undecryptable: usize,
}

/// A running crowd. Dropping it does not stop it; call [`Crowd::stop`].
pub struct Crowd {
    pub members: Vec<Registration>,
    logs: Arc<Mutex<Vec<MemberLog>>>,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Crowd {
    /// Starts a crowd of already registered members against the server at `url`
    /// (`ws://host:port/ws`), through `door` when it is given (the server's in-process
    /// door: no socket per member). Its schedule (coming back, reading, heartbeats,
    /// retrying) runs on `clock`: the server's own, for a crowd it runs.
    pub fn start(
        url: String,
        door: Option<Arc<InProcessDoor>>,
        members: Vec<Registration>,
        spec: &CrowdSpec,
        heartbeat_ms: u64,
        clock: Clock,
    ) -> Crowd {
        let logs = Arc::new(Mutex::new(vec![MemberLog::default(); members.len()]));
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        for (index, member) in members.iter().enumerate() {
            let behaviour = Behaviour {
                url: url.clone(),
                door: door.clone(),
                index,
                starts_offline: index < spec.offline,
                back_after: Duration::from_millis(spec.back_after_ms),
                read_delay_ms: spec.read_delay_ms,
                heartbeat: Duration::from_millis(heartbeat_ms.max(100)),
                rng: fastrand::Rng::with_seed(spec.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(index as u64)),
                logs: logs.clone(),
                stop: stop.clone(),
                clock: clock.clone(),
                e2e: spec.encrypted.then(|| api_addr(&url)).flatten().map(|addr| E2eDevice::new(addr, member.clone())),
            };
            tasks.spawn(behaviour.run(DeviceState::new(member.clone())));
        }
        tasks.close();
        Crowd { members, logs, stop, tasks }
    }

    /// A copy of every member's log.
    pub fn logs(&self) -> Vec<MemberLog> {
        self.logs.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Disconnects every member and waits for them.
    pub async fn stop(&self) {
        self.stop.cancel();
        self.tasks.wait().await;
    }
}
