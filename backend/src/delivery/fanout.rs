//! The fan-out worker: turns each committed group message into one inbox entry per
//! member device, a batch at a time, and pushes them.
//!
//! The sender got SENT when the message committed; this runs afterwards (asynchronous
//! delivery). Jobs live in the database, so on start the worker first resumes whatever a
//! crash interrupted, then takes new jobs in the order they were sent.

use bluetick_shared::frames::{Recipient, TraceStage};
use tokio::sync::mpsc;

use super::push::push_entries;
use super::receipts::deliver_receipts;
use crate::state::AppState;
use crate::store::{ReceiptsOutcome, unix_millis};

/// Members fanned out to per transaction.
const BATCH_MEMBERS: i64 = 256;
/// Jobs queued for the worker at most; senders wait beyond that.
pub(crate) const QUEUE_CAPACITY: usize = 4096;

pub(crate) async fn run(state: AppState, mut jobs: mpsc::Receiver<i64>) {
    match state.store.pending_fanouts().await {
        Ok(pending) => {
            if !pending.is_empty() {
                tracing::info!(jobs = pending.len(), "resuming interrupted group fan-out");
            }
            for job in pending {
                fan_out(&state, job).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read pending fan-out jobs"),
    }
    loop {
        let job = tokio::select! {
            _ = state.shutdown.cancelled() => return,
            job = jobs.recv() => job,
        };
        let Some(job) = job else { return };
        fan_out(&state, job).await;
    }
}

async fn fan_out(state: &AppState, job: i64) {
    loop {
        if state.shutdown.is_cancelled() {
            return; // resumed from the database on the next start
        }
        let outcome = match state.store.fanout_batch(job, BATCH_MEMBERS, unix_millis()).await {
            Ok(outcome) => outcome,
            Err(e) => {
                tracing::warn!(error = %e, job, "fan-out batch failed; will resume on restart");
                return;
            }
        };
        if let (Some(id), Some(sender), Some(group)) = (outcome.id, outcome.sender, outcome.group) {
            let to = Recipient::Group(group);
            push_entries(state, None, sender, to, id, outcome.entries).await;
            if outcome.done {
                state.traces.emit(sender, to, id, TraceStage::RecipientLookup, None, || {
                    "fan-out complete: every member device has its delivery record".into()
                });
            }
        }
        deliver_receipts(
            state,
            ReceiptsOutcome { receipts: outcome.receipts, ..Default::default() },
            TraceStage::Acked,
        );
        if outcome.done {
            return;
        }
    }
}
