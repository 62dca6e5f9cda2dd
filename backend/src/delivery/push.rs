//! Pushing committed inbox entries: to the device's live connection, or, for a device
//! that is offline, a push wake-up recorded instead (the APNs/FCM notification that
//! would wake the phone). The entry itself waits in the device's inbox either way.

use bluetick_shared::frames::{DeviceId, MessageId, Recipient, TraceStage, UserId};
use bluetick_shared::lab::LabId;

use super::connections::Pushed;
use crate::state::AppState;
use crate::store::{InboxEntry, unix_millis};

/// Pushes the inbox entries message `id` made, one per recipient device, in order; in a
/// paced lab (`paced`) each push first waits at the lab's gate.
pub(super) async fn push_entries(
    state: &AppState,
    paced: Option<LabId>,
    sender: UserId,
    to: Recipient,
    id: MessageId,
    entries: Vec<InboxEntry>,
) {
    for entry in entries {
        super::pace(state, paced, sender, to, id, TraceStage::Pushed, Some(entry.device)).await;
        push_entry(state, sender, to, id, entry).await;
    }
}

/// Pushes one committed inbox entry, or records a wake-up if its device is offline.
async fn push_entry(state: &AppState, sender: UserId, to: Recipient, id: MessageId, entry: InboxEntry) {
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
