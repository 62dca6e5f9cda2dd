//! Which device is connected where: the server's routing table for pushes (the role
//! `conn:{user}` keys in Redis play in the lesson's reference design).
//!
//! Each device has at most one live connection; registering a new one closes the old
//! with `replaced`. Inbox entries are handed to the connection's inbox pusher through its
//! bounded feed; a full feed means the device is not keeping up and it is disconnected,
//! while its entries stay in the durable inbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{DeviceId, GroupProgress, MessageId};
use uuid::Uuid;

use crate::gateway::{InboxFeed, Offered};
use crate::peer::Peer;
use crate::store::InboxEntry;

#[derive(Clone)]
struct Route {
    peer: Peer,
    feed: Arc<InboxFeed>,
}

#[derive(Default)]
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
    pub(crate) fn register(&self, device: DeviceId, peer: Peer, feed: Arc<InboxFeed>) {
        let previous = self.routes.lock().unwrap().insert(device, Route { peer, feed });
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

    /// How many devices are connected.
    pub fn count(&self) -> usize {
        self.routes.lock().unwrap().len()
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
        match route.feed.offer(entry) {
            Offered::Queued => Pushed::Live,
            Offered::Full => {
                route
                    .peer
                    .close(ErrorCode::SlowConsumer, "too many undelivered frames; reconnect to resume from the inbox");
                Pushed::Offline
            }
            Offered::Closed => Pushed::Offline,
        }
    }

    /// Records new counts of a group message for its sender's connection, if it has one.
    pub fn progress(&self, device: DeviceId, id: MessageId, progress: GroupProgress) {
        let feed = self.routes.lock().unwrap().get(&device).map(|r| r.feed.clone());
        if let Some(feed) = feed {
            feed.progress(id, progress);
        }
    }
}
