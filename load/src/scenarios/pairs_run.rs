//! The part of a paired run that `throughput` and `mqtt-baseline` share: wait until every
//! pair is connected, then collect the pairs' outcomes while the progress bar says how
//! far the run is.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use indicatif::ProgressBar;
use tokio::task::JoinSet;
use tokio::time::Instant;

/// Waits until `ready` counts every task of `tasks` (or `deadline` passes).
pub async fn wait_connected<T: 'static>(tasks: &JoinSet<T>, ready: &AtomicU64, deadline: Instant, bar: &ProgressBar) {
    while (ready.load(Ordering::Relaxed) as usize) < tasks.len() && Instant::now() < deadline {
        bar.set_message(format!("connecting: {}/{} pairs", ready.load(Ordering::Relaxed), tasks.len()));
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Every task's outcome; every half second `status(phase)` ("sending" until
/// `sending_until`, then "draining") is shown on the bar.
pub async fn collect<T: 'static>(
    tasks: &mut JoinSet<T>,
    sending_until: Instant,
    bar: &ProgressBar,
    mut status: impl FnMut(&str) -> String,
) -> Vec<T> {
    let mut outcomes = Vec::with_capacity(tasks.len());
    loop {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(Ok(outcome)) => outcomes.push(outcome),
                Some(Err(e)) => eprintln!("a pair task failed: {e}"),
                None => break,
            },
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                let phase = if Instant::now() < sending_until { "sending" } else { "draining" };
                bar.set_message(status(phase));
            }
        }
    }
    bar.finish_and_clear();
    outcomes
}
