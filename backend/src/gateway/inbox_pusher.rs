//! Pushes one device's inbox over its connection, strictly in sequence order.
//!
//! First the backlog: everything after the sequence the device said it has, read from
//! the database page by page (this is the offline queue flushing, FIFO). Then `drained`.
//! Then live entries as they are committed, announced by notices from
//! [`Connections`](crate::delivery::connections::Connections). Notices can overtake each
//! other: a few that do are put back in order; a gap that stays open (an entry expired, a
//! notice was dropped) sends the pusher back to the database to fill it. Either way the
//! device never sees sequence n+1 before n.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::Message;
use bluetick_shared::frames::{DeviceId, ServerFrame};
use tokio::sync::mpsc;

use crate::store::{InboxEntry, Store};

/// Entries read from the database per query.
const PAGE: u32 = 256;
/// Times a pusher lets other tasks run while waiting for an entry that was overtaken.
const GAP_YIELDS: usize = 4;
/// Overtaking entries held at most before the database fills the gap instead.
const MAX_EARLY: usize = 64;

pub(super) struct InboxPusher {
    pub store: Store,
    pub device: DeviceId,
    pub socket_queue: mpsc::Sender<Message>,
    pub pushed_up_to: Arc<AtomicU64>,
}

impl InboxPusher {
    pub async fn run(self, resume_after: u64, mut notices: mpsc::Receiver<InboxEntry>) {
        let mut pushed = resume_after;
        let mut drained = false;
        loop {
            // Catch up from the database.
            loop {
                let page = match self.store.inbox_after(self.device, pushed, PAGE).await {
                    Ok(page) => page,
                    Err(e) => {
                        tracing::warn!(error = %e, "inbox read failed; retrying");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                };
                let full = page.len() as u32 == PAGE;
                for entry in page {
                    let seq = entry.seq;
                    if !self.push(entry).await {
                        return;
                    }
                    pushed = seq;
                }
                if !full {
                    break;
                }
            }
            if !drained {
                drained = true;
                if !self.push_frame(&ServerFrame::Drained { up_to: pushed }).await {
                    return;
                }
            }
            // Live entries, in order; a few that overtook each other are put back in order
            // here, and only a gap that stays open goes back to the database.
            let mut early: BTreeMap<u64, InboxEntry> = BTreeMap::new();
            loop {
                let Some(entry) = notices.recv().await else { return };
                if entry.seq <= pushed {
                    continue;
                }
                early.insert(entry.seq, entry);
                if !early.contains_key(&(pushed + 1)) && !self.wait_for_gap(&mut notices, &mut early, pushed).await {
                    break;
                }
                while let Some(entry) = early.remove(&(pushed + 1)) {
                    let seq = entry.seq;
                    if !self.push(entry).await {
                        return;
                    }
                    pushed = seq;
                }
            }
        }
    }

    /// A notice skipped ahead of `pushed`. Notices of one batch are sent by different
    /// tasks and can overtake each other by a few microseconds, so first take what else
    /// is already queued, and let those tasks run (a yield, not a timer) a few times;
    /// whether the entry after `pushed` turned up. If not, the gap is real (an entry
    /// expired, or a notice was lost with a full queue) and the database fills it.
    async fn wait_for_gap(
        &self,
        notices: &mut mpsc::Receiver<InboxEntry>,
        early: &mut BTreeMap<u64, InboxEntry>,
        pushed: u64,
    ) -> bool {
        for _ in 0..GAP_YIELDS {
            while let Ok(entry) = notices.try_recv() {
                if entry.seq > pushed {
                    early.insert(entry.seq, entry);
                }
            }
            if early.contains_key(&(pushed + 1)) {
                return true;
            }
            if early.len() > MAX_EARLY {
                return false;
            }
            tokio::task::yield_now().await;
        }
        false
    }

    async fn push(&self, entry: InboxEntry) -> bool {
        // Raise the ack ceiling before the frame can reach the client.
        self.pushed_up_to.fetch_max(entry.seq, Ordering::SeqCst);
        self.push_frame(&entry.frame).await
    }

    async fn push_frame(&self, frame: &ServerFrame) -> bool {
        self.socket_queue.send(crate::peer::text_message(frame)).await.is_ok()
    }
}
