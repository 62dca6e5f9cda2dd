//! Opening client connections: from a chosen loopback source address, with Nagle off,
//! through the shared client library; and reconnect timing with the shared backoff.

use std::net::{Ipv4Addr, SocketAddr};

use bluetick_client::{ClientError, Connection, DeviceState};
use bluetick_shared::backoff::Backoff;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite;

/// Where the clients connect, and from which source addresses.
#[derive(Debug, Clone)]
pub struct Dialer {
    pub url: String,
    pub addr: SocketAddr,
    /// Clients are spread over 127.0.0.1 … 127.0.0.`sources` as source addresses: each
    /// (source, destination) pair has its own ~28,000 ephemeral ports.
    pub sources: u8,
}

impl Dialer {
    pub fn new(addr: SocketAddr, sources: u8) -> Dialer {
        Dialer { url: format!("ws://{addr}/ws"), addr, sources: sources.max(1) }
    }

    /// The source address for client number `i`.
    pub fn source(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(127, 0, 0, 1 + (i % self.sources as usize) as u8)
    }

    /// Connects client `i` as `state`'s device: hello, resume, resend of unacknowledged
    /// sends, all by the client library.
    pub async fn connect(&self, i: usize, state: DeviceState) -> Result<Connection, ClientError> {
        let io = |e: std::io::Error| ClientError::WebSocket(tungstenite::Error::Io(e));
        let socket = TcpSocket::new_v4().map_err(io)?;
        if !self.addr.ip().is_loopback() {
            return Err(io(std::io::Error::other("the load generator only targets loopback addresses")));
        }
        socket.bind(SocketAddr::from((self.source(i), 0))).map_err(io)?;
        let stream = socket.connect(self.addr).await.map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        Connection::connect_over(stream, &self.url, state).await
    }
}

/// The reconnect policy the load generator's clients use: the shared backoff, quick
/// first attempts (a local server comes back within a second), capped at 2 s.
pub fn backoff() -> Backoff {
    Backoff { base_ms: 100, factor: 2, cap_ms: 2_000, jitter: 0.5 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_cycle_over_loopback_addresses() {
        let dialer = Dialer::new("127.0.0.1:1".parse().unwrap(), 4);
        let sources: Vec<_> = (0..5).map(|i| dialer.source(i).to_string()).collect();
        assert_eq!(sources, ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.1"]);
        assert!((0..1000).all(|i| dialer.source(i).is_loopback()));
    }
}
