//! The expiry sweep: messages that no device acknowledged before their expiry become
//! FAILED, move to the dead-letter table, and their senders are told.

use std::time::Duration;

use bluetick_shared::frames::TraceStage;

use crate::delivery::deliver_receipts;
use crate::state::AppState;
use crate::store::unix_millis;

/// Messages dead-lettered per transaction at most, so one sweep never holds the writer
/// for long.
const SWEEP_BATCH: i64 = 500;

pub async fn run(state: AppState) {
    let mut interval = tokio::time::interval(Duration::from_millis(state.config.expiry_sweep_ms.max(10)));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = interval.tick() => {}
        }
        loop {
            match state.store.expire(unix_millis(), SWEEP_BATCH).await {
                Ok(outcome) => {
                    let full = outcome.receipts.len() as i64 >= SWEEP_BATCH;
                    if !outcome.changed.is_empty() {
                        tracing::info!(
                            messages = outcome.receipts.len(),
                            "messages expired into the dead-letter table"
                        );
                    }
                    deliver_receipts(&state, outcome, TraceStage::Failed);
                    if !full {
                        break;
                    }
                }
                Err(e) => {
                    tracing::warn!(error = %e, "expiry sweep failed");
                    break;
                }
            }
        }
    }
}
