//! Replay: a message's run as recorded from the server's trace frames, redrawn at any
//! event of it. The page's replay control scrubs through these; nothing is re-simulated:
//! the stops and the tick at an instant come from the events up to it. [`queue`] does
//! the same for the offline queue: which messages were still in the inbox at an instant.

pub mod queue;

use crate::frames::{TickState, TraceStage};
use crate::journey::{HopStatus, StageEvent as JourneyEvent, journey};
use crate::phone::StageEvent;

/// A message's recorded events in the order they happened: by server time, with arrival
/// order breaking ties (the server emits one message's traces in order).
pub fn recorded(stages: &[StageEvent]) -> Vec<StageEvent> {
    let mut events = stages.to_vec();
    events.sort_by_key(|e| e.after_us);
    events
}

/// The stops as they were just after event `k` (from 0) of a run whose events are in
/// the order they happened: what a replay draws at that instant, from the recorded
/// events alone.
pub fn replayed(events: &[JourneyEvent<'_>], k: usize) -> [HopStatus; 9] {
    let upto = &events[..(k + 1).min(events.len())];
    journey(true, upto, tick_from_events(upto))
}

/// The sender's tick as the events say it was: SENT once stored, DELIVERED once
/// acknowledged, READ once read, FAILED once expired; the furthest reached wins, as
/// ticks only move forward.
pub fn tick_from_events(events: &[JourneyEvent<'_>]) -> Option<TickState> {
    let reached = |stage| events.iter().any(|(s, _, _)| *s == stage);
    if reached(TraceStage::Failed) {
        Some(TickState::Failed)
    } else if reached(TraceStage::Read) {
        Some(TickState::Read)
    } else if reached(TraceStage::Acked) {
        Some(TickState::Delivered)
    } else if reached(TraceStage::Stored) || reached(TraceStage::DedupHit) {
        Some(TickState::Sent)
    } else {
        None
    }
}

/// One recorded event, said: "event 3 of 8, +1.2 ms: stored (SENT)".
pub fn event_words(events: &[StageEvent], k: usize) -> String {
    match events.get(k) {
        Some(e) => {
            format!(
                "event {} of {}, +{:.1} ms: {}",
                k + 1,
                events.len(),
                e.after_us as f64 / 1000.0,
                stage_word(e.stage)
            )
        }
        None => String::new(),
    }
}

fn stage_word(stage: TraceStage) -> &'static str {
    match stage {
        TraceStage::Received => "received",
        TraceStage::Stored => "stored (SENT)",
        TraceStage::DedupHit => "dedup hit (SENT again)",
        TraceStage::RecipientLookup => "recipient look-up",
        TraceStage::Pushed => "pushed",
        TraceStage::Queued => "queued (offline)",
        TraceStage::Acked => "acked (DELIVERED)",
        TraceStage::Read => "read (READ)",
        TraceStage::Failed => "failed (FAILED)",
        TraceStage::Paced => "paced (waits)",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::journey::HopState::*;

    fn states(hops: &[HopStatus; 9]) -> Vec<crate::journey::HopState> {
        hops.iter().map(|h| h.state).collect()
    }

    #[test]
    fn events_are_replayed_in_server_time_order_and_said_in_words() {
        let e = |stage, after_us| StageEvent { stage, after_us, detail: String::new() };
        let events = recorded(&[e(TraceStage::Stored, 900), e(TraceStage::Received, 300), e(TraceStage::Paced, 900)]);
        let order: Vec<_> = events.iter().map(|e| e.stage).collect();
        assert_eq!(order, [TraceStage::Received, TraceStage::Stored, TraceStage::Paced], "ties keep arrival order");
        assert_eq!(event_words(&events, 1), "event 2 of 3, +0.9 ms: stored (SENT)");
    }

    #[test]
    fn a_replay_draws_each_instant_from_the_events_up_to_it() {
        let events = [
            (TraceStage::Received, 300, ""),
            (TraceStage::Stored, 900, ""),
            (TraceStage::RecipientLookup, 950, ""),
            (TraceStage::Pushed, 1000, ""),
            (TraceStage::Acked, 1500, ""),
            (TraceStage::Read, 9000, ""),
        ];
        let at = |k: usize| {
            let tick = tick_from_events(&events[..(k + 1).min(events.len())]);
            (tick, states(&replayed(&events, k)).iter().filter(|s| **s == Done).count())
        };
        assert_eq!(at(0), (None, 2));
        assert_eq!(at(1), (Some(TickState::Sent), 4));
        assert_eq!(at(3), (Some(TickState::Sent), 7));
        assert_eq!(at(4), (Some(TickState::Delivered), 8));
        assert_eq!(at(5), (Some(TickState::Read), 9));
        assert_eq!(at(99), at(5), "past the end is the end");
    }
}
