//! What every handler and socket task shares.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::connections::Connections;
use crate::presence::Presence;
use crate::store::Store;
use crate::trace::TraceBus;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Store,
    pub connections: Arc<Connections>,
    pub presence: Arc<Presence>,
    pub traces: Arc<TraceBus>,
    /// Cancelled when the server begins shutting down: every socket task watches it and
    /// sends its client a close frame.
    pub shutdown: CancellationToken,
    /// Every socket task runs inside this tracker, so shutdown can wait for them all to
    /// finish their close handshakes (axum's graceful shutdown does not track upgraded
    /// connections).
    pub sockets: TaskTracker,
}

impl AppState {
    pub fn new(config: Config, store: Store) -> Self {
        AppState {
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
