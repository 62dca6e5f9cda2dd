//! The instructor pages watching each class, and a bounded queue of frames for each.
//!
//! A frame is serialised once and shared by every watcher. A watcher whose queue is full
//! is let go instead of blocking the server or losing frames silently: its socket closes
//! saying it fell behind, and the page reconnects and starts from a fresh snapshot.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use bluetick_shared::class::{ClassId, TeachFrame};

/// Frames one watcher may have waiting.
const WATCHER_QUEUE: usize = 256;

#[derive(Default)]
pub struct ClassHub {
    watchers: Mutex<HashMap<ClassId, Vec<flume::Sender<Arc<str>>>>>,
}

impl ClassHub {
    /// A new watcher of `class`: the frames published from now on.
    pub fn subscribe(&self, class: ClassId) -> flume::Receiver<Arc<str>> {
        let (tx, rx) = flume::bounded(WATCHER_QUEUE);
        self.watchers.lock().unwrap().entry(class).or_default().push(tx);
        rx
    }

    pub fn is_watched(&self, class: ClassId) -> bool {
        self.watchers.lock().unwrap().get(&class).is_some_and(|w| !w.is_empty())
    }

    /// Sends `frame` to every watcher of `class`, letting go of those that fell behind or
    /// left.
    pub fn publish(&self, class: ClassId, frame: &TeachFrame) {
        let text: Arc<str> = serde_json::to_string(frame).expect("a teach frame serialises").into();
        let mut watchers = self.watchers.lock().unwrap();
        if let Some(list) = watchers.get_mut(&class) {
            list.retain(|tx| tx.try_send(text.clone()).is_ok());
            if list.is_empty() {
                watchers.remove(&class);
            }
        }
    }

    /// Lets go of watchers whose sockets closed.
    pub fn prune(&self, class: ClassId) {
        let mut watchers = self.watchers.lock().unwrap();
        if let Some(list) = watchers.get_mut(&class) {
            list.retain(|tx| !tx.is_disconnected());
            if list.is_empty() {
                watchers.remove(&class);
            }
        }
    }
}
