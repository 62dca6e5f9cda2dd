//! Starting and stopping the server.

use std::future::Future;
use std::time::Duration;

use axum::serve::ListenerExt;
use tokio::net::TcpListener;

use crate::config::Config;
use crate::routes::router;
use crate::state::AppState;
use crate::store::{StorageError, Store};

/// How long shutdown waits for sockets to finish their close handshakes.
const SOCKET_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error("server I/O error: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves on `listener` until `shutdown` completes, then closes every WebSocket with a
/// close frame (1001, going away), waits for them, and closes the database.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let store = Store::open_sqlite(&config.data_dir).await?;
    let (fanout_jobs, fanout_queue) = tokio::sync::mpsc::channel(crate::delivery::fanout::QUEUE_CAPACITY);
    let local = listener.local_addr()?;
    let reachable = match local.ip() {
        ip if ip.is_unspecified() && ip.is_ipv4() => std::net::SocketAddr::from(([127, 0, 0, 1], local.port())),
        ip if ip.is_unspecified() => std::net::SocketAddr::from((std::net::Ipv6Addr::LOCALHOST, local.port())),
        _ => local,
    };
    let state = AppState::new(config, store.clone(), fanout_jobs, format!("ws://{reachable}/ws"));
    let app = router(state.clone());
    state.in_process.open(app.clone());
    let sweeper = tokio::spawn(crate::delivery::expiry::run(state.clone()));
    let fanout = tokio::spawn(crate::delivery::fanout::run(state.clone(), fanout_queue));
    let lab_sweeper = tokio::spawn(crate::lab::sandbox::sweep(state.clone()));

    let token = state.shutdown.clone();
    let door = state.in_process.clone();
    let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
    // Frames are small and each is flushed as it is written: with Nagle's algorithm on,
    // a frame written while the previous one is unacknowledged waits for the client's
    // delayed ACK (up to 40 ms on Linux), which showed up as tens of milliseconds of
    // latency under load.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "could not set TCP_NODELAY");
        }
    });
    let serve = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: closing sockets");
        token.cancel();
        door.close();
    });
    let result = serve.await;

    // Upgraded sockets live outside axum's graceful shutdown; wait for them here.
    state.shutdown.cancel();
    state.crowds.stop_all().await;
    state.load.stop_all().await;
    state.sockets.close();
    if tokio::time::timeout(SOCKET_DRAIN_TIMEOUT, state.sockets.wait()).await.is_err() {
        tracing::warn!(open = state.sockets.len(), "sockets still open after drain timeout");
    }
    let _ = sweeper.await;
    let _ = fanout.await;
    let _ = lab_sweeper.await;
    store.close().await;
    tracing::info!("stopped");
    Ok(result?)
}
