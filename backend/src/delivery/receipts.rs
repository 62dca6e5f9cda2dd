//! Receipts: what an ack, a read or the expiry sweep changed, pushed to the senders of
//! the messages concerned.

use bluetick_shared::frames::TraceStage;

use crate::state::AppState;
use crate::store::ReceiptsOutcome;

/// Pushes the receipts an ack, read or expiry produced to the senders, and traces the
/// step (`stage`) for each message touched.
pub(super) fn deliver_receipts(state: &AppState, outcome: ReceiptsOutcome, stage: TraceStage) {
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
