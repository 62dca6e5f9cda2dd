//! The server's door for clients inside its own process: the simulated crowd.
//!
//! A crowd member is a real client (`bluetick_client`) that speaks the WebSocket
//! protocol to the real gateway, HTTP upgrade included. Over loopback TCP both ends of
//! its socket are this process's open files, two per member, and a process may hold only
//! so many (20,000 on the machines the lab runs on): that, not memory or CPU, bounded
//! how many members a class could run at once. Through this door a member gets an
//! in-memory pipe instead, served by the same router as a TCP connection, so every
//! frame still goes through the gateway's handshake, session, socket queue and pushes.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use tokio::io::DuplexStream;

/// Bytes each direction of a member's pipe holds before the writer waits: a few frames,
/// like a small socket buffer.
const PIPE_BYTES: usize = 16 * 1024;

/// The address the gateway logs for a member that came in through the door.
pub const IN_PROCESS_PEER: SocketAddr = SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

/// The router in-process clients are served by, once the server has built it, until it
/// shuts down.
#[derive(Default)]
pub struct InProcessDoor {
    router: OnceLock<Router>,
    closed: AtomicBool,
}

impl InProcessDoor {
    /// Opens the door onto `router` (the server's own, once).
    pub fn open(&self, router: Router) {
        let _ = self.router.set(router.layer(axum::Extension(ConnectInfo(IN_PROCESS_PEER))));
    }

    /// Closes the door for good, as the listener closes when the server shuts down: a
    /// member that reconnects then finds nobody, instead of starting a session the
    /// shutdown must close again.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Relaxed);
    }

    /// A new in-memory connection to the server: the client's end of the pipe, or `None`
    /// before the server has opened the door and after it closed it.
    pub fn dial(&self) -> Option<DuplexStream> {
        if self.closed.load(Ordering::Relaxed) {
            return None;
        }
        let router = self.router.get()?.clone();
        let (client, server) = tokio::io::duplex(PIPE_BYTES);
        tokio::spawn(async move {
            // The connection ends after the upgrade; the WebSocket's session is tracked
            // by the gateway like any other.
            let served = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(server), TowerToHyperService::new(router))
                .with_upgrades()
                .await;
            if let Err(e) = served {
                tracing::debug!(error = %e, "an in-process connection ended with an error");
            }
        });
        Some(client)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_door_opens_onto_the_router_and_stays_shut_once_closed() {
        let door = InProcessDoor::default();
        assert!(door.dial().is_none(), "not open yet");
        door.open(Router::new());
        assert!(door.dial().is_some());
        door.close();
        assert!(door.dial().is_none(), "closed with the server");
    }
}
