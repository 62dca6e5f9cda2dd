//! The expiry sweep: messages that no device acknowledged before their expiry become
//! FAILED, move to the dead-letter table, and their senders are told.

use std::time::Duration;

use bluetick_shared::frames::TraceStage;

use super::receipts::deliver_receipts;
use crate::state::AppState;

/// Messages dead-lettered per transaction at most, so one sweep never holds the writer
/// for long.
const SWEEP_BATCH: i64 = 500;

pub(crate) async fn run(state: AppState) {
    let every = Duration::from_millis(state.config.expiry_sweep_ms.max(10));
    // The first sweep right away, then one `every` after the last one ended. On the
    // server's clock, so a test that moves it past a message's expiry wakes the sweep.
    let mut next = state.clock.now();
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = state.clock.sleep_until(next) => {}
        }
        loop {
            match state.store.expire(state.clock.unix_millis(), SWEEP_BATCH).await {
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
        next = state.clock.now() + every;
    }
}
