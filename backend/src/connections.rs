//! Which device is connected where: the server's routing table for pushes (the role
//! `conn:{user}` keys in Redis play in the lesson's reference design).
//!
//! Each device has at most one live connection; registering a new one closes the old
//! with `replaced`. Inbox entries are handed to the connection's delivery task through a
//! bounded queue of notices; a full queue means the device is not keeping up and it is
//! disconnected, while its entries stay in the durable inbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{DeviceId, GroupProgress, MessageId};
use tokio::sync::mpsc::error::TrySendError;
use tokio::sync::{Notify, mpsc};
use uuid::Uuid;

use crate::peer::Peer;
use crate::store::InboxEntry;

/// Notices waiting for one connection's delivery task at most.
pub const NOTICE_CAPACITY: usize = 1024;

#[derive(Debug, Clone)]
struct Route {
    peer: Peer,
    notices: mpsc::Sender<InboxEntry>,
    progress: Arc<ProgressSlot>,
}

/// The latest delivered/read counts of a device's group messages, waiting to be sent.
///
/// Counts change once per member receipt (a thousand times for a big group), but only
/// the latest matters, so they are merged here and sent as fast as the client reads:
/// however many receipts arrive, this holds one entry per message.
#[derive(Debug, Default)]
pub struct ProgressSlot {
    /// The highest counts seen per message, and whether they changed since last sent.
    latest: Mutex<HashMap<MessageId, (GroupProgress, bool)>>,
    pub changed: Notify,
}

impl ProgressSlot {
    fn merge(&self, id: MessageId, progress: GroupProgress) {
        let mut latest = self.latest.lock().unwrap();
        let (entry, dirty) = latest.entry(id).or_insert((progress, true));
        // Outcomes can be handled out of order: a late, smaller count is ignored rather
        // than sent.
        let merged = entry.merge(progress);
        if merged != *entry {
            *entry = merged;
            *dirty = true;
        }
        let notify = *dirty;
        drop(latest);
        if notify {
            self.changed.notify_one();
        }
    }

    /// The counts that changed since last taken. Messages read by every member are
    /// forgotten once sent: nothing about them can change any more.
    pub fn take(&self) -> Vec<(MessageId, GroupProgress)> {
        let mut latest = self.latest.lock().unwrap();
        let changed: Vec<_> = latest
            .iter_mut()
            .filter(|(_, (_, dirty))| *dirty)
            .map(|(id, (progress, dirty))| {
                *dirty = false;
                (*id, *progress)
            })
            .collect();
        latest.retain(|_, (p, _)| !(p.fanned_out && p.read >= p.total));
        changed
    }
}

#[derive(Debug, Default)]
pub struct Connections {
    routes: Mutex<HashMap<DeviceId, Route>>,
}

/// Where a pushed entry went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// Handed to the device's live connection.
    Live,
    /// The device has no live connection: the entry waits in its inbox.
    Offline,
}

impl Connections {
    /// Makes `peer` the device's connection, closing any previous one.
    pub fn register(
        &self,
        device: DeviceId,
        peer: Peer,
        notices: mpsc::Sender<InboxEntry>,
        progress: Arc<ProgressSlot>,
    ) {
        let previous = self.routes.lock().unwrap().insert(device, Route { peer, notices, progress });
        if let Some(previous) = previous {
            previous.peer.close(ErrorCode::Replaced, "this device connected again elsewhere");
        }
    }

    /// Removes the device's route if it still belongs to `connection_id` (a replaced
    /// connection must not remove its successor).
    pub fn unregister(&self, device: DeviceId, connection_id: Uuid) {
        let mut routes = self.routes.lock().unwrap();
        if routes.get(&device).is_some_and(|r| r.peer.connection_id == connection_id) {
            routes.remove(&device);
        }
    }

    pub fn is_online(&self, device: DeviceId) -> bool {
        self.routes.lock().unwrap().contains_key(&device)
    }

    pub fn peer(&self, device: DeviceId) -> Option<Peer> {
        self.routes.lock().unwrap().get(&device).map(|r| r.peer.clone())
    }

    /// Hands a committed inbox entry to its device's connection, if it has one.
    pub fn push(&self, entry: InboxEntry) -> Pushed {
        let route = self.routes.lock().unwrap().get(&entry.device).cloned();
        let Some(route) = route else {
            return Pushed::Offline;
        };
        match route.notices.try_send(entry) {
            Ok(()) => Pushed::Live,
            Err(TrySendError::Full(_)) => {
                route
                    .peer
                    .close(ErrorCode::SlowConsumer, "too many undelivered frames; reconnect to resume from the inbox");
                Pushed::Offline
            }
            Err(TrySendError::Closed(_)) => Pushed::Offline,
        }
    }

    /// Records new counts of a group message for its sender's connection, if it has one.
    pub fn progress(&self, device: DeviceId, id: MessageId, progress: GroupProgress) {
        let slot = self.routes.lock().unwrap().get(&device).map(|r| r.progress.clone());
        if let Some(slot) = slot {
            slot.merge(id, progress);
        }
    }

    pub fn len(&self) -> usize {
        self.routes.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
