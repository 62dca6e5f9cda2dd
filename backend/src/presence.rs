//! Who is online, and who wants to know.
//!
//! A user is online while at least one of their devices is. A device is online from its
//! authenticated hello until its connection ends, and its connection ends at the latest
//! when the presence TTL passes without a heartbeat (the session enforces that: the
//! role a Redis key `online:{user}` with a 30-second TTL plays in the lesson's design).
//! When the last device goes, the user's "last seen" is set.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use bluetick_shared::frames::{DeviceId, ServerFrame, UserId};
use uuid::Uuid;

use crate::peer::Peer;

#[derive(Debug, Default, Clone)]
struct UserPresence {
    devices: HashSet<DeviceId>,
    last_seen: Option<i64>,
}

#[derive(Debug, Default)]
struct Inner {
    users: HashMap<UserId, UserPresence>,
    watchers: HashMap<UserId, Vec<Peer>>,
}

#[derive(Debug, Default)]
pub struct Presence {
    inner: Mutex<Inner>,
}

impl Presence {
    pub fn device_online(&self, user: UserId, device: DeviceId) {
        let mut inner = self.inner.lock().unwrap();
        let entry = inner.users.entry(user).or_default();
        let was_online = !entry.devices.is_empty();
        entry.devices.insert(device);
        if !was_online {
            let frame = ServerFrame::Presence { user, online: true, last_seen: entry.last_seen };
            notify(&mut inner, user, &frame);
        }
    }

    pub fn device_offline(&self, user: UserId, device: DeviceId, now: i64) {
        let mut inner = self.inner.lock().unwrap();
        let Some(entry) = inner.users.get_mut(&user) else { return };
        if !entry.devices.remove(&device) || !entry.devices.is_empty() {
            return;
        }
        entry.last_seen = Some(now);
        let frame = ServerFrame::Presence { user, online: false, last_seen: Some(now) };
        notify(&mut inner, user, &frame);
    }

    /// The user's presence as a frame.
    pub fn status(&self, user: UserId) -> ServerFrame {
        let inner = self.inner.lock().unwrap();
        let entry = inner.users.get(&user).cloned().unwrap_or_default();
        ServerFrame::Presence { user, online: !entry.devices.is_empty(), last_seen: entry.last_seen }
    }

    /// Subscribes `peer` to `user`'s changes and sends it the current state.
    pub fn watch(&self, user: UserId, peer: Peer) {
        let status = self.status(user);
        if peer.push(&status) {
            let mut inner = self.inner.lock().unwrap();
            let watchers = inner.watchers.entry(user).or_default();
            if !watchers.iter().any(|w| w.connection_id == peer.connection_id) {
                watchers.push(peer);
            }
        }
    }

    /// Drops every subscription of a closed connection.
    pub fn forget(&self, connection_id: Uuid) {
        let mut inner = self.inner.lock().unwrap();
        inner.watchers.retain(|_, watchers| {
            watchers.retain(|w| w.connection_id != connection_id);
            !watchers.is_empty()
        });
    }
}

fn notify(inner: &mut Inner, user: UserId, frame: &ServerFrame) {
    if let Some(watchers) = inner.watchers.get_mut(&user) {
        watchers.retain(|w| w.push(frame));
    }
}
