//! Pushes one device's inbox over its connection, strictly in sequence order.
//!
//! First the backlog: everything after the sequence the device said it has, read from
//! the database page by page (this is the offline queue flushing, FIFO). Then `drained`.
//! Then live entries as they are committed, announced by notices from
//! [`Connections`](crate::delivery::connections::Connections). A notice that skips ahead (notices
//! can overtake each other; entries can expire) sends the pusher back to the database to
//! fill the gap, so the device never sees sequence n+1 before n.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::Message;
use bluetick_shared::frames::{DeviceId, ServerFrame};
use tokio::sync::mpsc;

use crate::store::{InboxEntry, Store};

/// Entries read from the database per query.
const PAGE: u32 = 256;

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
            // Live entries, while they arrive in order.
            loop {
                let Some(entry) = notices.recv().await else { return };
                if entry.seq <= pushed {
                    continue;
                }
                if entry.seq != pushed + 1 {
                    break;
                }
                let seq = entry.seq;
                if !self.push(entry).await {
                    return;
                }
                pushed = seq;
            }
        }
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
