//! The pages watching each class, and a bounded queue of frames for each: the
//! instructor's pages (every student's row, health, the projector) and the students'
//! pages (the projector only).
//!
//! A frame is serialised once and shared by every watcher. A watcher whose queue is full
//! is let go instead of blocking the server or losing frames silently: its socket closes
//! saying it fell behind, and the page reconnects and starts from a fresh snapshot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bluetick_shared::class::ClassId;
use serde::Serialize;

/// Frames one watcher may have waiting.
const WATCHER_QUEUE: usize = 256;

/// Who a watcher is: what it may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Audience {
    /// The instructor's `/teach` page ([`bluetick_shared::class::TeachFrame`]s).
    Instructor,
    /// A student's page ([`bluetick_shared::class::ClassFrame`]s).
    Students,
}

/// One watcher's queue of serialised frames.
type Watcher = flume::Sender<Arc<str>>;

#[derive(Default)]
pub struct ClassHub {
    watchers: Mutex<HashMap<(ClassId, Audience), Vec<Watcher>>>,
}

impl ClassHub {
    /// A new watcher of `class`: the frames published to `audience` from now on.
    pub fn subscribe(&self, class: ClassId, audience: Audience) -> flume::Receiver<Arc<str>> {
        let (tx, rx) = flume::bounded(WATCHER_QUEUE);
        self.watchers.lock().unwrap().entry((class, audience)).or_default().push(tx);
        rx
    }

    pub fn is_watched(&self, class: ClassId, audience: Audience) -> bool {
        self.watchers.lock().unwrap().get(&(class, audience)).is_some_and(|w| !w.is_empty())
    }

    /// Sends `frame` to every watcher of `class` in `audience`, letting go of those that
    /// fell behind or left.
    pub fn publish(&self, class: ClassId, audience: Audience, frame: &impl Serialize) {
        let key = (class, audience);
        let mut watchers = self.watchers.lock().unwrap();
        let Some(list) = watchers.get_mut(&key) else { return };
        let text: Arc<str> = serde_json::to_string(frame).expect("a class frame serialises").into();
        list.retain(|tx| tx.try_send(text.clone()).is_ok());
        if list.is_empty() {
            watchers.remove(&key);
        }
    }

    /// Lets go of watchers whose sockets closed.
    pub fn prune(&self, class: ClassId, audience: Audience) {
        let key = (class, audience);
        let mut watchers = self.watchers.lock().unwrap();
        if let Some(list) = watchers.get_mut(&key) {
            list.retain(|tx| !tx.is_disconnected());
            if list.is_empty() {
                watchers.remove(&key);
            }
        }
    }
}
