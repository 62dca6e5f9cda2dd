//! A sender's group progress: the latest delivered/read counts of its group messages,
//! merged until its connection sends them.

use std::collections::HashMap;
use std::sync::Mutex;

use bluetick_shared::frames::{GroupProgress, MessageId};
use tokio::sync::Notify;

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
    pub(super) fn merge(&self, id: MessageId, progress: GroupProgress) {
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
