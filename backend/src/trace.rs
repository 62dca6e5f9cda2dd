//! Pipeline traces: every step a message takes, sent to whoever observes its
//! conversation. The lesson's tick pipeline is drawn from these events, so what a
//! student sees animate is what the server actually did, when it did it.
//!
//! A group message makes three traces per member (pushed or queued, acked, read): three
//! thousand frames within a second or two for a 1,024-member group. They do not go
//! straight into the connection's small frame queue, which would call the observer a
//! slow consumer and cut it off; each observing connection has a trace queue of its own
//! ([`TRACE_QUEUE`] frames) that a forwarder task drains into the connection with
//! backpressure. Should even that fill, traces are dropped and counted, never the
//! connection: traces are a view of the work, not the work.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bluetick_shared::frames::{DeviceId, GroupId, MessageId, Recipient, ServerFrame, TraceStage, UserId};
use uuid::Uuid;

/// Traces one observing connection may have waiting.
pub const TRACE_QUEUE: usize = 8192;

/// Where one observing connection's traces go.
#[derive(Debug, Clone)]
pub struct TraceSink {
    pub connection_id: Uuid,
    /// Whose connection it is: a user removed from a group stops observing it on every
    /// one of their connections at once.
    pub user: UserId,
    pub frames: tokio::sync::mpsc::Sender<ServerFrame>,
}

/// A conversation: two users (in either order), or a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Conversation {
    Direct(UserId, UserId),
    Group(GroupId),
}

impl Conversation {
    /// The conversation of a message from `sender` to `to`.
    pub fn of(sender: UserId, to: Recipient) -> Conversation {
        match to {
            Recipient::User(user) if sender <= user => Conversation::Direct(sender, user),
            Recipient::User(user) => Conversation::Direct(user, sender),
            Recipient::Group(group) => Conversation::Group(group),
        }
    }
}

#[derive(Debug, Default)]
pub struct TraceBus {
    observers: Mutex<HashMap<Conversation, Vec<TraceSink>>>,
    /// Traces dropped because an observer's trace queue was full.
    pub dropped: std::sync::atomic::AtomicU64,
    /// How many observers exist, so that emitting costs one atomic load when nobody
    /// watches (the usual case under load).
    count: AtomicUsize,
}

impl TraceBus {
    pub fn observe(&self, conversation: Conversation, peer: TraceSink) {
        let mut observers = self.observers.lock().unwrap();
        let list = observers.entry(conversation).or_default();
        if !list.iter().any(|p| p.connection_id == peer.connection_id) {
            list.push(peer);
            self.count.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Ends the subscriptions to `conversation` of every sink `which` picks, so that no
    /// trace emitted from now on reaches them; returns how many ended.
    pub fn unobserve(&self, conversation: Conversation, which: impl Fn(&TraceSink) -> bool) -> usize {
        let mut observers = self.observers.lock().unwrap();
        let Some(list) = observers.get_mut(&conversation) else { return 0 };
        let before = list.len();
        list.retain(|sink| !which(sink));
        let removed = before - list.len();
        if list.is_empty() {
            observers.remove(&conversation);
        }
        self.count.fetch_sub(removed, Ordering::Relaxed);
        removed
    }

    /// `user` left group `group` (or was removed): none of their connections may watch
    /// it any more. Called after the membership row is gone, so an `observe` that checked
    /// membership before the removal either is ended here or sees the removal when it
    /// checks again after subscribing (see the gateway's `on_observe`).
    pub fn member_left(&self, group: GroupId, user: UserId) -> usize {
        self.unobserve(Conversation::Group(group), |sink| sink.user == user)
    }

    pub fn forget(&self, connection_id: Uuid) {
        let mut observers = self.observers.lock().unwrap();
        let mut removed = 0;
        observers.retain(|_, list| {
            let before = list.len();
            list.retain(|p| p.connection_id != connection_id);
            removed += before - list.len();
            !list.is_empty()
        });
        self.count.fetch_sub(removed, Ordering::Relaxed);
    }

    /// Records one step of message `id` from `sender` to `to`.
    pub fn emit(
        &self,
        sender: UserId,
        to: Recipient,
        id: MessageId,
        stage: TraceStage,
        device: Option<DeviceId>,
        detail: impl FnOnce() -> String,
    ) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let conversation = Conversation::of(sender, to);
        let mut observers = self.observers.lock().unwrap();
        let Some(list) = observers.get_mut(&conversation) else { return };
        let frame = ServerFrame::Trace { id, stage, at_us: unix_micros(), device, detail: detail() };
        let before = list.len();
        list.retain(|sink| match sink.frames.try_send(frame.clone()) {
            Ok(()) => true,
            Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => false,
        });
        let removed = before - list.len();
        if list.is_empty() {
            observers.remove(&conversation);
        }
        self.count.fetch_sub(removed, Ordering::Relaxed);
    }
}

fn unix_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}
