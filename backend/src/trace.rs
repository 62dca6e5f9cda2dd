//! Pipeline traces: every step a message takes, sent to whoever observes its
//! conversation. The lesson's tick pipeline is drawn from these events, so what a
//! student sees animate is what the server actually did, when it did it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use bluetick_shared::frames::{DeviceId, MessageId, ServerFrame, TraceStage, UserId};
use uuid::Uuid;

use crate::peer::Peer;

type Conversation = (UserId, UserId);

fn conversation(a: UserId, b: UserId) -> Conversation {
    if a <= b { (a, b) } else { (b, a) }
}

#[derive(Debug, Default)]
pub struct TraceBus {
    observers: Mutex<HashMap<Conversation, Vec<Peer>>>,
    /// How many observers exist, so that emitting costs one atomic load when nobody
    /// watches (the usual case under load).
    count: AtomicUsize,
}

impl TraceBus {
    pub fn observe(&self, a: UserId, b: UserId, peer: Peer) {
        let mut observers = self.observers.lock().unwrap();
        let list = observers.entry(conversation(a, b)).or_default();
        if !list.iter().any(|p| p.connection_id == peer.connection_id) {
            list.push(peer);
            self.count.fetch_add(1, Ordering::Relaxed);
        }
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

    /// Records one step of message `id` between users `a` and `b`.
    pub fn emit(
        &self,
        a: UserId,
        b: UserId,
        id: MessageId,
        stage: TraceStage,
        device: Option<DeviceId>,
        detail: impl FnOnce() -> String,
    ) {
        if self.count.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut observers = self.observers.lock().unwrap();
        let Some(list) = observers.get_mut(&conversation(a, b)) else { return };
        let frame = ServerFrame::Trace { id, stage, at_us: unix_micros(), device, detail: detail() };
        let before = list.len();
        list.retain(|p| p.push(&frame));
        let removed = before - list.len();
        if list.is_empty() {
            observers.remove(&conversation(a, b));
        }
        self.count.fetch_sub(removed, Ordering::Relaxed);
    }
}

fn unix_micros() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or(0)
}
