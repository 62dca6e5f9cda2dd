//! One MQTT client connection over TCP: packets out through a write buffer flushed when
//! the caller says so (a window of PUBLISHes goes out in one write), packets in from a
//! read buffer refilled from the socket.

use std::net::{Ipv4Addr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpSocket;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use super::codec::{Packet, decode, encode};

pub type Error = String;

pub struct Conn {
    read: OwnedReadHalf,
    write: OwnedWriteHalf,
    inbox: Vec<u8>,
    /// Where the packets not yet taken start in `inbox`.
    taken: usize,
    outbox: Vec<u8>,
    /// Who this is, for error messages.
    pub client_id: String,
}

impl Conn {
    /// Connects from `source` to the broker at `addr` and opens a persistent session
    /// (clean session off) as `client_id`; keep-alive is off, so no pings are needed.
    pub async fn connect(addr: SocketAddr, source: Ipv4Addr, client_id: &str) -> Result<Conn, Error> {
        let io = |e: std::io::Error| format!("{client_id}: {e}");
        let socket = TcpSocket::new_v4().map_err(io)?;
        socket.bind(SocketAddr::from((source, 0))).map_err(io)?;
        let stream = socket.connect(addr).await.map_err(io)?;
        stream.set_nodelay(true).map_err(io)?;
        let (read, write) = stream.into_split();
        let mut conn = Conn {
            read,
            write,
            inbox: Vec::with_capacity(8192),
            taken: 0,
            outbox: Vec::new(),
            client_id: client_id.into(),
        };
        conn.queue(&Packet::Connect { client_id: client_id.into(), clean_session: false, keep_alive_s: 0 });
        conn.flush().await?;
        match conn.recv().await? {
            Packet::ConnAck { code: 0, .. } => Ok(conn),
            other => Err(format!("{client_id}: the broker answered CONNECT with {other:?}")),
        }
    }

    /// Subscribes to `topic` at QoS 2 and checks the broker granted QoS 2.
    pub async fn subscribe_qos2(&mut self, topic: &str) -> Result<(), Error> {
        self.queue(&Packet::Subscribe { id: 1, filter: topic.into(), qos: 2 });
        self.flush().await?;
        match self.recv().await? {
            Packet::SubAck { id: 1, codes } if codes == [2] => Ok(()),
            other => Err(format!("{}: the broker answered SUBSCRIBE QoS 2 with {other:?}", self.client_id)),
        }
    }

    /// Adds a packet to the next [`flush`](Conn::flush).
    pub fn queue(&mut self, packet: &Packet) {
        encode(packet, &mut self.outbox);
    }

    pub async fn flush(&mut self) -> Result<(), Error> {
        if self.outbox.is_empty() {
            return Ok(());
        }
        let result = self.write.write_all(&self.outbox).await;
        self.outbox.clear();
        result.map_err(|e| format!("{}: {e}", self.client_id))
    }

    /// The next packet from the broker. Cancel-safe: a packet is taken from the buffer
    /// only once it is all there, and a cancelled read loses no bytes.
    pub async fn recv(&mut self) -> Result<Packet, Error> {
        loop {
            if let Some(packet) = self.buffered()? {
                return Ok(packet);
            }
            // Only a partial packet is left: move it to the front before reading more.
            self.inbox.drain(..self.taken);
            self.taken = 0;
            if self.inbox.capacity() - self.inbox.len() < 4096 {
                self.inbox.reserve(8192);
            }
            match self.read.read_buf(&mut self.inbox).await {
                Ok(0) => return Err(format!("{}: the broker closed the connection", self.client_id)),
                Ok(_) => {}
                Err(e) => return Err(format!("{}: {e}", self.client_id)),
            }
        }
    }

    /// A packet already read from the socket, if a whole one is waiting: lets a caller
    /// answer everything one read brought in with one write.
    pub fn buffered(&mut self) -> Result<Option<Packet>, Error> {
        match decode(&self.inbox[self.taken..]) {
            Ok(Some((packet, used))) => {
                self.taken += used;
                Ok(Some(packet))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(format!("{}: {e}", self.client_id)),
        }
    }

    /// DISCONNECT, then close: the session stays on the broker (clean session is off).
    pub async fn disconnect(mut self) {
        self.queue(&Packet::Disconnect);
        let _ = self.flush().await;
        let _ = self.write.shutdown().await;
    }
}
