//! The fan-out worker: turns each committed group message into one inbox entry per
//! member device, a batch at a time, and pushes them.
//!
//! The sender got SENT when the message committed; this runs afterwards (asynchronous
//! delivery). Jobs live in the database, so on start the worker first resumes whatever a
//! crash interrupted, then takes new jobs in the order they were sent.
//!
//! A lab that runs in slow motion or step by step waits before each of its batches, and
//! one worker waiting would hold every other lab's fan-out too. So a paced lab's jobs
//! leave the worker for a lane of their own: a task that fans that lab's jobs out in
//! order, waiting at the lab's gate per batch. The lane stays while it has jobs, even
//! after the lab goes live again, so that a later job of the lab never overtakes an
//! earlier one still in the lane; emptied, it ends.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use bluetick_shared::frames::{MessageId, Recipient, TraceStage, UserId};
use bluetick_shared::lab::{FANOUT_BATCH_MEMBERS, LabId, fanout_batch_step};
use tokio::sync::mpsc;

use super::push::push_entries;
use super::receipts::deliver_receipts;
use crate::state::AppState;
use crate::store::{ReceiptsOutcome, unix_millis};

/// Jobs queued for the worker at most; senders wait beyond that.
pub(crate) const QUEUE_CAPACITY: usize = 4096;

/// A committed group message for the worker.
#[derive(Debug, Clone, Copy)]
pub struct FanoutJob {
    /// The job's row (the message's row id).
    pub job: i64,
    /// Set when a lab phone sent it: the lab whose pace it follows.
    pub paced: Option<PacedJob>,
}

/// What a paced job's gates need to trace their waits.
#[derive(Debug, Clone, Copy)]
pub struct PacedJob {
    pub lab: LabId,
    pub sender: UserId,
    pub to: Recipient,
    pub id: MessageId,
}

/// The paced labs' lanes: each one's jobs not yet fanned out, oldest first. A lab is in
/// the map exactly while its lane task runs.
type Lanes = Arc<Mutex<HashMap<LabId, VecDeque<(i64, PacedJob)>>>>;

pub(crate) async fn run(state: AppState, mut jobs: mpsc::Receiver<FanoutJob>) {
    match state.store.pending_fanouts().await {
        Ok(pending) => {
            if !pending.is_empty() {
                tracing::info!(jobs = pending.len(), "resuming interrupted group fan-out");
            }
            // A restart runs every lab live, so these are not paced.
            for job in pending {
                fan_out(&state, job, None).await;
            }
        }
        Err(e) => tracing::warn!(error = %e, "cannot read pending fan-out jobs"),
    }
    let lanes = Lanes::default();
    loop {
        let job = tokio::select! {
            _ = state.shutdown.cancelled() => return,
            job = jobs.recv() => job,
        };
        let Some(job) = job else { return };
        if !to_lane(&state, &lanes, job) {
            fan_out(&state, job.job, None).await;
        }
    }
}

/// Hands `job` to its lab's lane if the lab is paced or its lane still runs (starting
/// the lane if need be); false if the worker fans it out itself.
fn to_lane(state: &AppState, lanes: &Lanes, job: FanoutJob) -> bool {
    let Some(paced) = job.paced else { return false };
    let mut all = lanes.lock().unwrap();
    if let Some(lane) = all.get_mut(&paced.lab) {
        lane.push_back((job.job, paced));
        return true;
    }
    if !state.pacing.is_paced(Some(paced.lab)) {
        return false;
    }
    all.insert(paced.lab, VecDeque::from([(job.job, paced)]));
    tokio::spawn(lane(state.clone(), lanes.clone(), paced.lab));
    true
}

/// One paced lab's lane: its jobs in order, until none is left.
async fn lane(state: AppState, lanes: Lanes, lab: LabId) {
    loop {
        let next = {
            let mut all = lanes.lock().unwrap();
            let next = all.get_mut(&lab).and_then(VecDeque::pop_front);
            if next.is_none() {
                all.remove(&lab);
            }
            next
        };
        let Some((job, paced)) = next else { return };
        fan_out(&state, job, Some(paced)).await;
    }
}

async fn fan_out(state: &AppState, job: i64, paced: Option<PacedJob>) {
    let mut batch = 0;
    loop {
        if state.shutdown.is_cancelled() {
            return; // resumed from the database on the next start
        }
        batch += 1;
        if let Some(PacedJob { lab, sender, to, id }) = paced {
            let gate = state.pacing.gate_batch(Some(lab), id, batch);
            super::wait_at(state, gate, &fanout_batch_step(batch), sender, to, id, None).await;
        }
        let now = unix_millis();
        let outcome = match state.store.fanout_batch(job, i64::from(FANOUT_BATCH_MEMBERS), now).await {
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
