//! A connection as the rest of the server sees it: somewhere to push frames, and a way
//! to close it with a reason.
//!
//! Pushing never waits and never buffers without bound: a full queue means the client is
//! not reading, and it is disconnected as a slow consumer. What it missed is either in
//! its durable inbox (messages, receipts) or is live state it gets again on reconnect
//! (presence, traces).

use axum::extract::ws::Message;
use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::ServerFrame;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;
use uuid::Uuid;

/// A frame as the WebSocket text message every socket queue carries.
pub fn text_message(frame: &ServerFrame) -> Message {
    Message::Text(frame.to_json().into())
}

/// Why a connection is being closed from outside its own task.
#[derive(Debug, Clone)]
pub struct Kick {
    pub code: ErrorCode,
    pub reason: String,
    /// Cut the TCP connection without a close frame (a simulated network failure).
    pub abrupt: bool,
}

#[derive(Debug, Clone)]
pub struct Peer {
    pub connection_id: Uuid,
    socket_queue: mpsc::Sender<Message>,
    kick: mpsc::Sender<Kick>,
}

impl Peer {
    pub fn new(connection_id: Uuid, socket_queue: mpsc::Sender<Message>, kick: mpsc::Sender<Kick>) -> Peer {
        Peer { connection_id, socket_queue, kick }
    }

    /// Queues a frame for the client without waiting. Returns false if the connection is
    /// gone or was too slow (and is now being closed).
    pub fn push(&self, frame: &ServerFrame) -> bool {
        match self.socket_queue.try_send(text_message(frame)) {
            Ok(()) => true,
            Err(TrySendError::Full(_)) => {
                self.close(ErrorCode::SlowConsumer, "the client is not reading its frames fast enough");
                false
            }
            Err(TrySendError::Closed(_)) => false,
        }
    }

    /// Asks the connection to close with a reason.
    pub fn close(&self, code: ErrorCode, reason: &str) {
        let _ = self.kick.try_send(Kick { code, reason: reason.to_string(), abrupt: false });
    }

    /// Cuts the connection without a close frame, as a failing network would.
    pub fn cut(&self, reason: &str) {
        let _ = self.kick.try_send(Kick { code: ErrorCode::ShuttingDown, reason: reason.to_string(), abrupt: true });
    }

    pub fn is_closed(&self) -> bool {
        self.socket_queue.is_closed()
    }
}
