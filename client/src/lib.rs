//! # bluetick-client
//!
//! The Rust client library: a device's connection as the simulated crowd, the tests and
//! the load generator use it (the browser page runs the same pure logic from
//! `bluetick_shared` over the browser's WebSocket).
//!
//! It does what every well-behaved client must: authenticate in `hello`, resume after
//! the last inbox sequence it has, drop redeliveries ([`InboxCursor`]), acknowledge,
//! keep unacknowledged sends and resend them with the same id after a reconnect
//! ([`Outbox`]), and apply receipts forward-only. [`http`] is the small HTTP client for
//! the API (registration, groups, crowds). [`e2e`] adds end-to-end encryption on top.
//! [`pair`] is the load-run driver both the lab's load run and `bluetick-load` use: a
//! sender and a recipient device, metered as they go, ending in an exact
//! [`bluetick_shared::ledger::Ledger`]. [`transport`] is the byte stream under a
//! connection: TCP, or an in-memory pipe to a server in the same process.

pub mod e2e;
pub mod http;
pub mod pair;
pub mod transport;

use std::time::Duration;

use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{
    ClientFrame, Credentials, Delivery, DeviceId, GroupId, GroupProgress, MessageId, Recipient, Registration,
    ServerFrame, TickState, UserId,
};
use bluetick_shared::inbox::{Arrival, InboxCursor};
use bluetick_shared::outbox::{Outbox, TickChange};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use transport::Transport;
use uuid::Uuid;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("websocket: {0}")]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("the server refused: {code:?}: {message}")]
    Refused { code: ErrorCode, message: String },
    #[error("the server closed the connection ({0})")]
    Closed(String),
    #[error("unexpected frame: {0}")]
    Unexpected(String),
}

/// Something the application should know about.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A new message (redeliveries are dropped before they get here).
    Message {
        seq: u64,
        message: Delivery,
    },
    /// A tick moved forward (SENT from a `sent` ack; the rest from receipts).
    Tick(TickChange),
    /// The backlog has been pushed.
    Drained {
        up_to: u64,
    },
    Presence {
        user: UserId,
        online: bool,
        last_seen: Option<i64>,
    },
    /// Delivered k/N and read k/N of a group message this device sent.
    GroupProgress {
        id: MessageId,
        progress: GroupProgress,
    },
    Trace(ServerFrame),
    /// A refused frame.
    Error {
        code: ErrorCode,
        id: Option<MessageId>,
        message: String,
    },
}

/// A device's state that outlives connections.
#[derive(Debug, Clone)]
pub struct DeviceState {
    pub registration: Registration,
    pub inbox: InboxCursor,
    pub outbox: Outbox,
}

impl DeviceState {
    pub fn new(registration: Registration) -> Self {
        DeviceState { registration, inbox: InboxCursor::default(), outbox: Outbox::new() }
    }

    pub fn device(&self) -> DeviceId {
        self.registration.device_id
    }

    pub fn user(&self) -> UserId {
        self.registration.user_id
    }
}

/// One live connection of a device.
pub struct Connection {
    ws: WebSocketStream<Transport>,
    pub state: DeviceState,
    /// Redeliveries dropped on this connection (for tests and the load generator's
    /// ledger).
    pub duplicates_dropped: u64,
    /// Whether to acknowledge each new inbox entry as it arrives.
    pub auto_ack: bool,
}

/// Buffer sizes for client sockets: small, like the server's, so that thousands of
/// simulated devices fit in memory.
fn socket_config() -> WebSocketConfig {
    WebSocketConfig::default().read_buffer_size(4 * 1024).write_buffer_size(4 * 1024)
}

/// Most frames one [`Connection::absorb_waiting`] takes before it acknowledges.
pub const ABSORB_BATCH: usize = 256;

impl Connection {
    /// Connects as `state`'s device, resuming after its last inbox sequence, and resends
    /// every unacknowledged message with its original id.
    pub async fn connect(url: &str, state: DeviceState) -> Result<Connection, ClientError> {
        let request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(url)?;
        // An IPv6 host comes bracketed (`[::1]`); the socket wants it bare.
        let host = request.uri().host().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
        let port = request.uri().port_u16().unwrap_or(80);
        let stream =
            TcpStream::connect((host.as_str(), port)).await.map_err(tokio_tungstenite::tungstenite::Error::Io)?;
        Connection::connect_over(stream, url, state).await
    }

    /// Like [`Connection::connect`], over a TCP stream the caller opened: the load
    /// generator binds its sockets to several loopback source addresses so that a hundred
    /// thousand connections do not run out of ephemeral ports.
    pub async fn connect_over(stream: TcpStream, url: &str, state: DeviceState) -> Result<Connection, ClientError> {
        Connection::connect_on(Transport::Tcp(MaybeTlsStream::Plain(stream)), url, state).await
    }

    /// Like [`Connection::connect`], over `transport` (a TCP stream, or an in-memory pipe
    /// to a server in this process); `url` is the request's address.
    pub async fn connect_on(transport: Transport, url: &str, state: DeviceState) -> Result<Connection, ClientError> {
        let (ws, _) = tokio_tungstenite::client_async_with_config(url, transport, Some(socket_config())).await?;
        Connection::hello(ws, state).await
    }

    async fn hello(ws: WebSocketStream<Transport>, state: DeviceState) -> Result<Connection, ClientError> {
        let mut connection = Connection { ws, state, duplicates_dropped: 0, auto_ack: true };
        let hello = ClientFrame::hello_as(
            "bluetick-rust-client",
            Credentials { device_id: connection.state.device(), token: connection.state.registration.token.clone() },
            connection.state.inbox.resume_after(),
        );
        connection.send_frame(&hello).await?;
        match connection.recv_frame().await? {
            ServerFrame::Welcome { .. } => {}
            ServerFrame::Error { code, message, .. } => return Err(ClientError::Refused { code, message }),
            other => return Err(ClientError::Unexpected(other.to_json())),
        }
        // Acknowledge again what we have: an ack sent just before the last connection
        // died may never have reached the server, and acks are idempotent.
        let have = connection.state.inbox.highest();
        if have > 0 {
            connection.send_frame(&ClientFrame::Ack { up_to: have }).await?;
        }
        for frame in connection.state.outbox.unacknowledged() {
            connection.send_frame(&frame).await?;
        }
        Ok(connection)
    }

    /// Sends a new text message and returns its id.
    pub async fn send_message(&mut self, to: UserId, body: impl Into<String>) -> Result<MessageId, ClientError> {
        let id = Uuid::now_v7();
        let frame = self.state.outbox.queue(id, Recipient::User(to), body.into());
        self.send_frame(&frame).await?;
        Ok(id)
    }

    /// Sends a new message to a group and returns its id.
    pub async fn send_to_group(&mut self, group: GroupId, body: impl Into<String>) -> Result<MessageId, ClientError> {
        let id = Uuid::now_v7();
        let frame = self.state.outbox.queue(id, Recipient::Group(group), body.into());
        self.send_frame(&frame).await?;
        Ok(id)
    }

    pub async fn send_frame(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        self.ws.send(Message::text(frame.to_json())).await?;
        Ok(())
    }

    pub async fn heartbeat(&mut self) -> Result<(), ClientError> {
        self.send_frame(&ClientFrame::Heartbeat).await
    }

    pub async fn read(&mut self, seqs: Vec<u64>) -> Result<(), ClientError> {
        self.send_frame(&ClientFrame::Read { seqs }).await
    }

    /// Sends the cumulative ack now, if one is due.
    pub async fn ack(&mut self) -> Result<(), ClientError> {
        if let Some(up_to) = self.state.inbox.ack_due() {
            self.send_frame(&ClientFrame::Ack { up_to }).await?;
        }
        Ok(())
    }

    /// The next event, handling acks and dropping redeliveries on the way.
    pub async fn next_event(&mut self) -> Result<Event, ClientError> {
        loop {
            let frame = self.recv_frame().await?;
            if let Some(event) = self.absorb(frame).await? {
                return Ok(event);
            }
        }
    }

    /// Like [`Connection::next_event`], but gives up after `wait` (only ever while
    /// waiting for a frame, never halfway through handling one).
    pub async fn next_event_within(&mut self, wait: Duration) -> Result<Option<Event>, ClientError> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.recv_frame()).await {
                Ok(frame) => frame?,
                Err(_) => return Ok(None),
            };
            if let Some(event) = self.absorb(frame).await? {
                return Ok(Some(event));
            }
        }
    }

    /// Applies a frame from [`Connection::recv_frame`] to the device's state (dropping
    /// redeliveries, acknowledging, moving ticks) and says what happened.
    pub async fn absorb(&mut self, frame: ServerFrame) -> Result<Option<Event>, ClientError> {
        Ok(match frame {
            ServerFrame::Message { seq, message } => {
                let arrival = self.state.inbox.arrive(seq);
                if self.auto_ack {
                    self.ack().await?;
                }
                match arrival {
                    Arrival::New => Some(Event::Message { seq, message }),
                    Arrival::Duplicate => {
                        self.duplicates_dropped += 1;
                        None
                    }
                }
            }
            ServerFrame::Receipt { seq, id, state, .. } => {
                let arrival = self.state.inbox.arrive(seq);
                if self.auto_ack {
                    self.ack().await?;
                }
                if arrival == Arrival::Duplicate {
                    self.duplicates_dropped += 1;
                    return Ok(None);
                }
                self.state.outbox.advance(id, state).map(Event::Tick)
            }
            ServerFrame::Sent { id, .. } => self.state.outbox.advance(id, TickState::Sent).map(Event::Tick),
            ServerFrame::Drained { up_to } => Some(Event::Drained { up_to }),
            ServerFrame::GroupProgress { id, progress } => Some(Event::GroupProgress { id, progress }),
            ServerFrame::Presence { user, online, last_seen } => Some(Event::Presence { user, online, last_seen }),
            frame @ ServerFrame::Trace { .. } => Some(Event::Trace(frame)),
            ServerFrame::Error { code, id, message } => Some(Event::Error { code, id, message }),
            ServerFrame::Welcome { .. } => None,
        })
    }

    /// Applies `first` and every frame already waiting on the socket (at most
    /// [`ABSORB_BATCH`]), giving each event to `apply`, then acknowledges once. Acks are
    /// cumulative, so a busy client sends one per burst instead of one per message.
    pub async fn absorb_waiting(
        &mut self,
        first: ServerFrame,
        mut apply: impl FnMut(Event),
    ) -> Result<(), ClientError> {
        let mut frame = Some(first);
        for _ in 0..ABSORB_BATCH {
            let Some(f) = frame.take() else { break };
            if let Some(event) = self.absorb(f).await? {
                apply(event);
            }
            match self.recv_frame().now_or_never() {
                Some(next) => frame = Some(next?),
                None => break,
            }
        }
        self.ack().await
    }

    /// The next frame from the server, untouched. Cancel-safe: use it in `select!` and
    /// pass the frame to [`Connection::absorb`].
    pub async fn recv_frame(&mut self) -> Result<ServerFrame, ClientError> {
        loop {
            match self.ws.next().await {
                Some(Ok(Message::Text(text))) => {
                    return ServerFrame::from_json(text.as_str()).map_err(|e| ClientError::Unexpected(e.0));
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(ClientError::Closed(
                        frame.map(|f| format!("{}: {}", u16::from(f.code), f.reason)).unwrap_or_default(),
                    ));
                }
                Some(Ok(_)) => continue,
                Some(Err(e)) => return Err(e.into()),
                None => return Err(ClientError::Closed("connection ended".into())),
            }
        }
    }

    /// Closes cleanly and hands back the device's state for the next connection.
    pub async fn close(mut self) -> DeviceState {
        let _ = self.ws.close(None).await;
        self.state
    }

    /// Drops the connection without a close handshake (a lost network), handing back the
    /// device's state. An ack sent but not yet read by the server may be lost with it;
    /// the next [`Connection::connect`] acknowledges again.
    pub fn drop_abruptly(self) -> DeviceState {
        self.state
    }
}
