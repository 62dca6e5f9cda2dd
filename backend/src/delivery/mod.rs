//! Delivery: everything that happens to a message after its commit.
//!
//! The gateway ends where a frame is valid and its write is queued; this stage takes
//! over there. Everything here runs only after the writer committed, so a device is
//! never told about something a crash could still undo. A message's way through:
//!
//! 1. [`on_send_committed`] waits for the commit. A duplicate (the same id stored
//!    before) gets the original's `sent` again and nothing more; a new message gets
//!    `sent` (SENT ✓), then:
//! 2. 1:1: the store made one inbox entry per recipient device; `push` hands each to the
//!    device's live connection (found in [`connections`], the routing table) or, for an
//!    offline device, records a push wake-up.
//! 3. Group: the job goes to the [`fanout`] worker, which makes the members' entries a
//!    batch at a time and pushes them the same way (a paced lab's jobs in a lane of
//!    their own, waiting per batch).
//! 4. The recipient's `ack` ([`on_ack_committed`]) and `read` ([`on_read_committed`])
//!    become receipts (`receipts`) pushed to the sender: DELIVERED ✓✓, READ; for a
//!    group, merged counts ([`progress`]) as well. The [`expiry`] sweep turns what no
//!    device acknowledged in time into FAILED receipts.
//!
//! Each step is traced (see [`crate::trace`]): `stored` or `dedup_hit`, `recipient_lookup`, `pushed` or `queued` per device, then `acked`, `read` or `failed`.
//! In a lab that runs in slow motion or step by step, each of the lab's phones' steps
//! first waits at its lab's gate ([`crate::lab::pace`]), traced as `paced`.

pub mod connections;
pub(crate) mod expiry;
pub mod fanout;
pub mod progress;
mod push;
mod receipts;

use axum::extract::ws::Message;
use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{DeviceId, MessageId, Recipient, ServerFrame, TraceStage, UserId};
use bluetick_shared::lab::{LabId, paced_step};

use crate::lab::pace::Gate;
use crate::peer::text_message;
use crate::state::AppState;
use crate::store::{Pending, ReceiptsOutcome, SendOutcome};
use receipts::deliver_receipts;

/// Waits for a `send`'s commit, answers the sender on `socket_queue` and delivers the
/// message: to the recipient's devices (1:1) or through the fan-out worker (group).
pub(crate) async fn on_send_committed(
    state: AppState,
    sender: UserId,
    paced: Option<LabId>,
    to: Recipient,
    id: MessageId,
    committed: Pending<SendOutcome>,
    socket_queue: flume::Sender<Message>,
) {
    let traces = &state.traces;
    let (sent_at, deliveries, fanout) = match committed.await {
        Ok(SendOutcome::Stored { sent_at, deliveries, fanout }) => (sent_at, deliveries, fanout),
        Ok(SendOutcome::Duplicate { sent_at }) => {
            pace(&state, paced, sender, to, id, TraceStage::DedupHit, None).await;
            traces.emit(sender, to, id, TraceStage::DedupHit, None, || {
                "ON CONFLICT DO NOTHING: this id was stored before; same ack, nothing new".into()
            });
            answer(&socket_queue, &ServerFrame::Sent { id, at: sent_at }).await;
            return;
        }
        Err(e) => {
            let message = format!("not stored ({e}); retry with the same id");
            answer(&socket_queue, &ServerFrame::Error { code: ErrorCode::StorageUnavailable, id: Some(id), message })
                .await;
            return;
        }
    };
    pace(&state, paced, sender, to, id, TraceStage::Stored, None).await;
    traces.emit(sender, to, id, TraceStage::Stored, None, || "committed once: SENT".into());
    answer(&socket_queue, &ServerFrame::Sent { id, at: sent_at }).await;
    pace(&state, paced, sender, to, id, TraceStage::RecipientLookup, None).await;
    match fanout {
        Some(job) => {
            traces.emit(sender, to, id, TraceStage::RecipientLookup, None, || {
                "group: the fan-out worker reads the participant list".into()
            });
            let paced = paced.map(|lab| fanout::PacedJob { lab, sender, to, id });
            let _ = state.fanout.send(fanout::FanoutJob { job, paced }).await;
        }
        None => {
            traces.emit(sender, to, id, TraceStage::RecipientLookup, None, || {
                format!("recipient has {} device(s)", deliveries.len())
            });
            push::push_entries(&state, paced, sender, to, id, deliveries).await;
        }
    }
}

/// Waits for an `ack`'s commit and pushes the DELIVERED receipts it made; if it was not
/// stored, tells the acking device on `socket_queue` to send it again.
pub(crate) async fn on_ack_committed(
    state: AppState,
    paced: Option<LabId>,
    committed: Pending<ReceiptsOutcome>,
    socket_queue: flume::Sender<Message>,
) {
    match committed.await {
        Ok(outcome) => {
            pace_receipts(&state, paced, &outcome, TraceStage::Acked).await;
            deliver_receipts(&state, outcome, TraceStage::Acked)
        }
        Err(e) => {
            let frame =
                ServerFrame::error(ErrorCode::StorageUnavailable, format!("ack not stored ({e}); send it again"));
            answer(&socket_queue, &frame).await;
        }
    }
}

/// Pushes the READ receipts a committed `read` made. In a paced lab they wait at its
/// gate in a task of their own, so the reader goes on reading meanwhile.
pub(crate) fn on_read_committed(state: &AppState, paced: Option<LabId>, outcome: ReceiptsOutcome) {
    if !state.pacing.is_paced(paced) {
        return deliver_receipts(state, outcome, TraceStage::Read);
    }
    let state = state.clone();
    tokio::spawn(async move {
        pace_receipts(&state, paced, &outcome, TraceStage::Read).await;
        deliver_receipts(&state, outcome, TraceStage::Read);
    });
}

/// Waits at `lab`'s gate before message `id`'s next step `stage`, tracing the wait.
async fn pace(
    state: &AppState,
    lab: Option<LabId>,
    sender: UserId,
    to: Recipient,
    id: MessageId,
    stage: TraceStage,
    device: Option<DeviceId>,
) {
    let gate = state.pacing.gate(lab, id, stage, device);
    wait_at(state, gate, paced_step(stage), sender, to, id, device).await;
}

/// Waits at a gate, tracing the wait as a `paced` step of message `id` that names `step`.
pub(crate) async fn wait_at(
    state: &AppState,
    gate: Gate,
    step: &str,
    sender: UserId,
    to: Recipient,
    id: MessageId,
    device: Option<DeviceId>,
) {
    if let Some(note) = gate.note(step) {
        state.traces.emit(sender, to, id, TraceStage::Paced, device, || note);
    }
    gate.pass(&state.clock).await;
}

/// One gate for the receipts one ack or read sends back: a 1:1 message's DELIVERED or
/// READ is a hop of its own. A group's receipts are merged counts of many members; the
/// group is paced where it fans out, not per member.
async fn pace_receipts(state: &AppState, lab: Option<LabId>, outcome: &ReceiptsOutcome, stage: TraceStage) {
    let Some(first) = outcome.changed.iter().find(|t| matches!(t.to, Recipient::User(_))) else { return };
    pace(state, lab, first.sender, first.to, first.id, stage, Some(first.device)).await;
}

/// Queues a frame for the connection that sent the frame being answered. If that
/// connection is gone, so is the need: the client resends after reconnecting and gets
/// the same answer.
async fn answer(socket_queue: &flume::Sender<Message>, frame: &ServerFrame) {
    let _ = socket_queue.send_async(text_message(frame)).await;
}
