//! After a commit: pushing what changed to the devices it concerns, recording push
//! wake-ups for the ones that are offline, and tracing each step.
//!
//! Everything here runs only after the writer committed, so a device is never told about
//! something a crash could still undo.

use bluetick_shared::frames::{DeviceId, MessageId, Recipient, ServerFrame, TraceStage, UserId};

use crate::connections::Pushed;
use crate::state::AppState;
use crate::store::{InboxEntry, ReceiptsOutcome, unix_millis};

/// Pushes new messages to their recipients' devices; for offline devices, records a push
/// wake-up (the APNs/FCM notification that would wake the phone).
pub async fn deliver_message(state: &AppState, sender: UserId, to: Recipient, id: MessageId, entries: Vec<InboxEntry>) {
    for entry in entries {
        push_entry(state, sender, to, id, entry).await;
    }
}

/// Pushes one committed inbox entry, or records a wake-up if its device is offline.
pub async fn push_entry(state: &AppState, sender: UserId, to: Recipient, id: MessageId, entry: InboxEntry) {
    let device = entry.device;
    let seq = entry.seq;
    // Trace before handing over: once handed over, the device may ack (and the ack be
    // traced) before this task runs again.
    if state.connections.is_online(device) {
        state.traces.emit(sender, to, id, TraceStage::Pushed, Some(device), || {
            format!("pushed over the device's WebSocket as inbox #{seq}")
        });
    }
    if state.connections.push(entry) == Pushed::Offline {
        state.traces.emit(sender, to, id, TraceStage::Queued, Some(device), || {
            format!("device offline: waits in its inbox as #{seq}; push wake-up sent")
        });
        record_wakeup(state, device, seq).await;
    }
}

async fn record_wakeup(state: &AppState, device: DeviceId, seq: u64) {
    if let Err(e) = state.store.record_wakeup(device, seq, unix_millis()).await {
        tracing::warn!(error = %e, %device, "could not record a push wake-up");
    }
}

/// Pushes the receipts an ack, read or expiry produced to the senders, and traces the
/// step for each message touched.
pub fn deliver_receipts(state: &AppState, outcome: ReceiptsOutcome, stage: TraceStage) {
    for touched in &outcome.changed {
        state.traces.emit(touched.sender, touched.to, touched.id, stage, Some(touched.device), || match stage {
            TraceStage::Acked => "the recipient device acknowledged it: DELIVERED".to_string(),
            TraceStage::Read => "the recipient read it: READ".to_string(),
            TraceStage::Failed => "not delivered before its expiry: moved to the dead-letter table".to_string(),
            _ => String::new(),
        });
    }
    for receipt in outcome.receipts {
        // An offline sender finds the receipt in its inbox on reconnect.
        let _ = state.connections.push(receipt);
    }
    for (sender_device, id, progress) in outcome.progress {
        // Live only: a sender that is offline now gets the totals in its durable
        // receipts.
        state.connections.progress(sender_device, id, progress);
    }
}

/// The frame a sender gets for a committed (or deduplicated) message.
pub fn sent_frame(id: MessageId, at: i64) -> ServerFrame {
    ServerFrame::Sent { id, at }
}
