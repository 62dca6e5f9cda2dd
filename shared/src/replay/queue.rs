//! The offline queue's replay: the messages that waited for Bob, redrawn at any recorded
//! event of their run — which were still in his inbox, which had been pushed, which he
//! had acknowledged — from the server's trace frames alone. The traces reach the sender
//! with the receipts, so a message counts as delivered when its DELIVERED receipt
//! leaves the server: a moment after the recipient's ack clears it from the server's
//! queue (and, in step mode, one step after).

use crate::frames::TraceStage;
use crate::phone::SentMessage;

/// Messages of one run replayed at most (the newest that waited).
pub const MAX_REPLAYED: usize = 20;

/// Where one message was at an instant of the run, in the order a message moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Spot {
    /// Not sent yet at this instant.
    NotYet,
    /// Sent, not yet stored.
    Sending,
    /// Stored (SENT) and waiting in the recipient's inbox: the offline queue.
    InInbox,
    /// Pushed to the recipient's phone, its ack not back yet.
    Pushed,
    /// Acknowledged by the recipient's phone (DELIVERED).
    Delivered,
    /// Read (READ).
    Read,
    /// Expired undelivered (FAILED).
    Failed,
}

impl Spot {
    /// The spot in words, with a symbol, so it is never colour alone.
    pub fn words(self) -> &'static str {
        match self {
            Spot::NotYet => "· not sent yet",
            Spot::Sending => "… on its way to the server",
            Spot::InInbox => "◐ waiting in Bob's inbox",
            Spot::Pushed => "→ pushed, ack not back yet",
            Spot::Delivered => "✓✓ delivered",
            Spot::Read => "✓✓ read",
            Spot::Failed => "⚠ failed",
        }
    }
}

/// One recorded step of one message of the run.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueEvent {
    /// Which message (index into [`QueueRun::bodies`]).
    pub message: usize,
    pub stage: TraceStage,
    /// Server time, µs since the run's first send.
    pub after_us: i64,
}

/// A run of the offline queue: the messages that waited, and their events in the order
/// they happened.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct QueueRun {
    pub bodies: Vec<String>,
    pub events: Vec<QueueEvent>,
}

impl QueueRun {
    /// The run of `sent`'s newest 1:1 messages that waited in an inbox (queued while
    /// their recipient was offline), oldest first, with every step of each.
    pub fn of(sent: &[SentMessage]) -> QueueRun {
        let waited = |m: &&SentMessage| !m.group && m.stages.iter().any(|s| s.stage == TraceStage::Queued);
        let mut chosen: Vec<&SentMessage> = sent.iter().rev().filter(waited).take(MAX_REPLAYED).collect();
        chosen.reverse();
        let Some(start) = chosen.iter().map(|m| m.sent_at_us).min() else { return QueueRun::default() };
        let mut events: Vec<QueueEvent> = chosen
            .iter()
            .enumerate()
            .flat_map(|(message, m)| {
                m.stages.iter().filter(|s| s.stage != TraceStage::Paced).map(move |s| QueueEvent {
                    message,
                    stage: s.stage,
                    after_us: m.sent_at_us - start + s.after_us,
                })
            })
            .collect();
        // By server time; a tie keeps the order the frames came in.
        events.sort_by_key(|e| e.after_us);
        QueueRun { bodies: chosen.iter().map(|m| m.body.clone()).collect(), events }
    }

    /// Each message's spot just after event `k` (from 0): the run as it was then.
    pub fn at(&self, k: usize) -> Vec<Spot> {
        let mut spots = vec![Spot::NotYet; self.bodies.len()];
        for e in self.events.iter().take(k + 1) {
            let spot = &mut spots[e.message];
            let next = match e.stage {
                TraceStage::Received => Spot::Sending,
                TraceStage::Stored | TraceStage::DedupHit | TraceStage::RecipientLookup | TraceStage::Queued => {
                    Spot::InInbox
                }
                TraceStage::Pushed => Spot::Pushed,
                TraceStage::Acked => Spot::Delivered,
                TraceStage::Read => Spot::Read,
                TraceStage::Failed => Spot::Failed,
                TraceStage::Paced => continue,
            };
            // A message only moves forward (a late trace never moves it back).
            *spot = (*spot).max(next);
        }
        spots
    }

    /// How many had been pushed to the recipient's phone but not yet acknowledged (by
    /// the traces: DELIVERED goes back to the sender) just after event `k`.
    pub fn pushed_at(&self, k: usize) -> usize {
        self.at(k).iter().filter(|s| **s == Spot::Pushed).count()
    }

    /// How many were in the inbox, not yet pushed, just after event `k`.
    pub fn waiting_at(&self, k: usize) -> usize {
        self.at(k).iter().filter(|s| **s == Spot::InInbox).count()
    }

    /// Event `k`, said: "event 4 of 12, +1,204.5 ms: “message 2” pushed from the inbox".
    pub fn words(&self, k: usize) -> String {
        let Some(e) = self.events.get(k) else { return String::new() };
        let what = match e.stage {
            TraceStage::Received => "reached the server",
            TraceStage::Stored => "stored (SENT)",
            TraceStage::DedupHit => "was a duplicate (SENT again)",
            TraceStage::RecipientLookup => "looked up Bob's connection",
            TraceStage::Queued => "waits in Bob's inbox (he is offline)",
            TraceStage::Pushed => "pushed from the inbox",
            TraceStage::Acked => "acknowledged by Bob's phone (DELIVERED)",
            TraceStage::Read => "read (READ)",
            TraceStage::Failed => "failed (FAILED)",
            TraceStage::Paced => "waited for the lab's pace",
        };
        format!(
            "event {} of {}, +{:.1} ms: “{}” {what}; {} in the inbox",
            k + 1,
            self.events.len(),
            e.after_us as f64 / 1000.0,
            self.bodies[e.message],
            self.waiting_at(k)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phone::StageEvent;

    fn message(body: &str, sent_at_us: i64, stages: &[(TraceStage, i64)]) -> SentMessage {
        SentMessage {
            id: uuid::Uuid::now_v7(),
            body: body.into(),
            tick: None,
            acks: 1,
            sends: 1,
            failed_reason: None,
            error: None,
            sent_at_us,
            stages: stages
                .iter()
                .map(|&(stage, after_us)| StageEvent { stage, after_us, detail: String::new() })
                .collect(),
            group: false,
        }
    }

    #[test]
    fn a_queue_replay_shows_the_inbox_fill_and_flush_in_order() {
        use TraceStage::*;
        // Two messages wait while Bob is offline; he comes back 5 s later and they flush.
        let sent = [
            message("live one", 0, &[(Stored, 10), (Pushed, 20), (Acked, 30)]),
            message("one", 1_000, &[(Stored, 10), (Queued, 20), (Pushed, 5_000_000), (Acked, 5_000_100)]),
            message("two", 2_000, &[(Stored, 10), (Queued, 20), (Paced, 30), (Pushed, 5_000_200), (Acked, 5_000_300)]),
        ];
        let run = QueueRun::of(&sent);
        assert_eq!(run.bodies, ["one", "two"], "only the messages that waited");
        assert_eq!(run.events.len(), 8, "paced waits are not steps of the queue");
        assert_eq!(run.at(0), [Spot::InInbox, Spot::NotYet]);
        assert_eq!(run.waiting_at(3), 2, "both wait before the flush");
        assert_eq!(run.at(4), [Spot::Pushed, Spot::InInbox], "the oldest leaves first");
        assert_eq!((run.waiting_at(4), run.pushed_at(4)), (1, 1));
        assert_eq!(run.at(5), [Spot::Delivered, Spot::InInbox]);
        assert_eq!(run.at(99), [Spot::Delivered, Spot::Delivered]);
        assert_eq!(run.words(4), "event 5 of 8, +5000.0 ms: “one” pushed from the inbox; 1 in the inbox");
    }

    #[test]
    fn a_late_trace_never_moves_a_message_back() {
        use TraceStage::*;
        let sent = [message("one", 0, &[(Queued, 20), (Acked, 30), (Pushed, 30)])];
        let run = QueueRun::of(&sent);
        assert_eq!(run.at(2), [Spot::Delivered]);
    }
}
