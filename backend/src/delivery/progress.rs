//! A sender's group progress: the latest delivered/read counts of its group messages,
//! merged until its connection sends them.

use std::collections::HashMap;

use bluetick_shared::frames::{GroupProgress, MessageId};

/// The latest delivered/read counts of a device's group messages, waiting to be sent.
///
/// Counts change once per member receipt (a thousand times for a big group), but only
/// the latest matters, so they are merged here and sent as fast as the client reads:
/// however many receipts arrive, this holds one entry per message. It lives inside the
/// connection's inbox feed, under the feed's lock.
#[derive(Debug, Default)]
pub struct ProgressCounts {
    /// The highest counts seen per message, and whether they changed since last sent.
    latest: HashMap<MessageId, (GroupProgress, bool)>,
    /// Whether any entry is marked changed, so that an empty take costs nothing.
    dirty: bool,
}

impl ProgressCounts {
    /// Merges new counts; true if something changed that has not been sent.
    pub fn merge(&mut self, id: MessageId, progress: GroupProgress) -> bool {
        let (entry, dirty) = self.latest.entry(id).or_insert((progress, true));
        // Outcomes can be handled out of order: a late, smaller count is ignored rather
        // than sent.
        let merged = entry.merge(progress);
        if merged != *entry {
            *entry = merged;
            *dirty = true;
        }
        self.dirty |= *dirty;
        *dirty
    }

    /// The counts that changed since last taken. Messages read by every member are
    /// forgotten once sent: nothing about them can change any more.
    pub fn take(&mut self) -> Vec<(MessageId, GroupProgress)> {
        if !self.dirty {
            return Vec::new();
        }
        self.dirty = false;
        let changed: Vec<_> = self
            .latest
            .iter_mut()
            .filter(|(_, (_, dirty))| *dirty)
            .map(|(id, (progress, dirty))| {
                *dirty = false;
                (*id, *progress)
            })
            .collect();
        self.latest.retain(|_, (p, _)| !(p.fanned_out && p.read >= p.total));
        if self.latest.is_empty() {
            // A big group's burst of counts leaves nothing behind on an idle connection.
            self.latest = HashMap::new();
        }
        changed
    }
}
