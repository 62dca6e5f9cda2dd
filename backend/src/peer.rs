//! A connection as the rest of the server sees it: somewhere to push frames, and a way
//! to close it with a reason.
//!
//! Pushing never waits and never buffers without bound: a full queue means the client is
//! not reading, and it is disconnected as a slow consumer. What it missed is either in
//! its durable inbox (messages, receipts) or is live state it gets again on reconnect
//! (presence, traces).

use std::sync::{Arc, Mutex};

use axum::extract::ws::Message;
use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::ServerFrame;
use tokio::sync::Notify;
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

/// Where closes asked for from outside a connection's task wait for it: the first one
/// asked for is the one that happens (the connection ends on it), later ones are
/// dropped. One slot, not a channel: every connection has one and nearly none is used.
#[derive(Debug, Default)]
pub struct KickSlot {
    kick: Mutex<Option<Kick>>,
    asked: Notify,
}

impl KickSlot {
    fn ask(&self, kick: Kick) {
        let mut slot = self.kick.lock().unwrap();
        if slot.is_none() {
            *slot = Some(kick);
            drop(slot);
            self.asked.notify_one();
        }
    }

    /// Waits until a close is asked for (the connection's own task is the only waiter).
    pub async fn wait(&self) -> Kick {
        loop {
            if let Some(kick) = self.kick.lock().unwrap().take() {
                return kick;
            }
            self.asked.notified().await;
        }
    }
}

#[derive(Debug, Clone)]
pub struct Peer {
    pub connection_id: Uuid,
    socket_queue: flume::Sender<Message>,
    kick: Arc<KickSlot>,
}

impl Peer {
    pub fn new(connection_id: Uuid, socket_queue: flume::Sender<Message>, kick: Arc<KickSlot>) -> Peer {
        Peer { connection_id, socket_queue, kick }
    }

    /// Queues a frame for the client without waiting. Returns false if the connection is
    /// gone or was too slow (and is now being closed).
    pub fn push(&self, frame: &ServerFrame) -> bool {
        match self.socket_queue.try_send(text_message(frame)) {
            Ok(()) => true,
            Err(flume::TrySendError::Full(_)) => {
                self.close(ErrorCode::SlowConsumer, "the client is not reading its frames fast enough");
                false
            }
            Err(flume::TrySendError::Disconnected(_)) => false,
        }
    }

    /// Asks the connection to close with a reason.
    pub fn close(&self, code: ErrorCode, reason: &str) {
        self.kick.ask(Kick { code, reason: reason.to_string(), abrupt: false });
    }

    /// Cuts the connection without a close frame, as a failing network would.
    pub fn cut(&self, reason: &str) {
        self.kick.ask(Kick { code: ErrorCode::ShuttingDown, reason: reason.to_string(), abrupt: true });
    }

    pub fn is_closed(&self) -> bool {
        self.socket_queue.is_disconnected()
    }
}
