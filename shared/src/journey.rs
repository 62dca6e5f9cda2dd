//! A message's journey through the lesson's five hops (sender device → chat server →
//! dedup → recipient server → recipient device), worked out from the server's trace
//! events and the sender's tick. The page draws it; the logic is here so it is tested
//! natively.

use crate::frames::{TickState, TraceStage};

/// The five hops, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    SenderDevice,
    ChatServer,
    Dedup,
    RecipientServer,
    RecipientDevice,
}

pub const HOPS: [Hop; 5] = [Hop::SenderDevice, Hop::ChatServer, Hop::Dedup, Hop::RecipientServer, Hop::RecipientDevice];

impl Hop {
    pub fn title(self) -> &'static str {
        match self {
            Hop::SenderDevice => "Sender device",
            Hop::ChatServer => "Chat server",
            Hop::Dedup => "Dedup",
            Hop::RecipientServer => "Recipient server",
            Hop::RecipientDevice => "Recipient device",
        }
    }
}

/// Where the message is at one hop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HopState {
    /// Not reached yet.
    Waiting,
    /// Passed.
    Done,
    /// Held here: the recipient is offline and the message waits in its inbox.
    Held,
    /// It ended here: expired undelivered.
    Failed,
    /// The lab's pace holds it before this hop: slow motion, or step mode waiting for
    /// "Next hop".
    Paced,
}

/// One hop as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HopStatus {
    pub hop: Hop,
    pub state: HopState,
    /// When it got there, in µs after the send.
    pub after_us: Option<i64>,
    pub note: String,
}

/// A trace event: the stage, µs after the send, and the server's note.
pub type StageEvent<'a> = (TraceStage, i64, &'a str);

/// The five hops of a message, given whether its send frame left the phone, the
/// server's trace events for it (in any order) and the sender's tick. If the latest
/// event is `paced` (later in `events` on a tie), the lab's pace holds the message: the
/// first hop not yet passed shows the wait (or, with every hop passed and only the READ
/// receipt waiting, the last hop's note does).
pub fn journey(on_the_wire: bool, events: &[StageEvent<'_>], tick: Option<TickState>) -> [HopStatus; 5] {
    let mut hops = hops(on_the_wire, events, tick);
    let latest = events.iter().enumerate().max_by_key(|(i, (_, t, _))| (*t, *i)).map(|(_, e)| e);
    if let Some((TraceStage::Paced, after_us, note)) = latest {
        let waits = match hops.iter().position(|h| matches!(h.state, HopState::Waiting | HopState::Held)) {
            Some(i) => {
                hops[i].state = HopState::Paced;
                hops[i].after_us = Some(*after_us);
                i
            }
            None => hops.len() - 1,
        };
        hops[waits].note = note.to_string();
    }
    hops
}

fn hops(on_the_wire: bool, events: &[StageEvent<'_>], tick: Option<TickState>) -> [HopStatus; 5] {
    let first = |wanted: &[TraceStage]| events.iter().filter(|(s, _, _)| wanted.contains(s)).min_by_key(|(_, t, _)| *t);
    let status = |hop, state, event: Option<&StageEvent<'_>>, fallback: &str| HopStatus {
        hop,
        state,
        after_us: event.map(|e| e.1),
        note: event.map(|e| e.2.to_string()).filter(|n| !n.is_empty()).unwrap_or_else(|| fallback.to_string()),
    };
    let waiting = |hop| HopStatus { hop, state: HopState::Waiting, after_us: None, note: String::new() };

    let sender = if on_the_wire || tick.is_some() {
        HopStatus {
            hop: Hop::SenderDevice,
            state: HopState::Done,
            after_us: Some(0),
            note: "the phone put a send frame on its WebSocket".into(),
        }
    } else {
        HopStatus { note: "waiting in the phone's outbox (offline)".into(), ..waiting(Hop::SenderDevice) }
    };
    let sent = tick.is_some();
    let chat = match first(&[TraceStage::Received]) {
        Some(e) => status(Hop::ChatServer, HopState::Done, Some(e), ""),
        None if sent => status(Hop::ChatServer, HopState::Done, None, "the server read the send frame"),
        None => waiting(Hop::ChatServer),
    };
    let dedup = match first(&[TraceStage::Stored, TraceStage::DedupHit]) {
        Some(e) => status(Hop::Dedup, HopState::Done, Some(e), ""),
        None if sent => status(Hop::Dedup, HopState::Done, None, "stored once: SENT"),
        None => waiting(Hop::Dedup),
    };
    let reached = matches!(tick, Some(TickState::Delivered | TickState::Read));
    let recipient_server = match (first(&[TraceStage::Pushed]), first(&[TraceStage::Queued])) {
        (Some(e), _) => status(Hop::RecipientServer, HopState::Done, Some(e), ""),
        (None, _) if reached => status(Hop::RecipientServer, HopState::Done, None, "pushed to the recipient"),
        (None, Some(e)) if tick == Some(TickState::Failed) => status(Hop::RecipientServer, HopState::Done, Some(e), ""),
        (None, Some(e)) => status(Hop::RecipientServer, HopState::Held, Some(e), ""),
        (None, None) => match first(&[TraceStage::RecipientLookup]) {
            Some(e) => status(Hop::RecipientServer, HopState::Waiting, Some(e), ""),
            None => waiting(Hop::RecipientServer),
        },
    };
    let device = match tick {
        Some(TickState::Failed) => {
            status(Hop::RecipientDevice, HopState::Failed, first(&[TraceStage::Failed]), "expired undelivered: FAILED")
        }
        Some(TickState::Read) => {
            status(Hop::RecipientDevice, HopState::Done, first(&[TraceStage::Read]), "read: blue ticks")
        }
        Some(TickState::Delivered) => {
            status(Hop::RecipientDevice, HopState::Done, first(&[TraceStage::Acked]), "the device acknowledged it")
        }
        _ => match first(&[TraceStage::Acked]) {
            Some(e) => status(Hop::RecipientDevice, HopState::Done, Some(e), ""),
            None => waiting(Hop::RecipientDevice),
        },
    };
    [sender, chat, dedup, recipient_server, device]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn states(hops: &[HopStatus; 5]) -> [HopState; 5] {
        hops.each_ref().map(|h| h.state)
    }

    #[test]
    fn nothing_has_happened_before_the_send() {
        let hops = journey(false, &[], None);
        assert_eq!(states(&hops), [HopState::Waiting; 5]);
        assert!(hops[0].note.contains("outbox"));
    }

    #[test]
    fn an_online_recipient_lights_every_hop_in_turn() {
        let events = [
            (TraceStage::Received, 300, "read the frame"),
            (TraceStage::Stored, 900, "committed"),
            (TraceStage::RecipientLookup, 950, "1 device"),
            (TraceStage::Pushed, 1000, "pushed"),
        ];
        let hops = journey(true, &events, Some(TickState::Sent));
        use HopState::*;
        assert_eq!(states(&hops), [Done, Done, Done, Done, Waiting]);
        assert_eq!(hops[3].after_us, Some(1000));
        let mut acked = events.to_vec();
        acked.push((TraceStage::Acked, 1500, "acked"));
        assert_eq!(states(&journey(true, &acked, Some(TickState::Delivered))), [Done; 5]);
    }

    #[test]
    fn an_offline_recipient_holds_the_message_at_its_server_until_it_fails() {
        let events = [(TraceStage::Received, 1, ""), (TraceStage::Stored, 2, ""), (TraceStage::Queued, 3, "queued")];
        let held = journey(true, &events, Some(TickState::Sent));
        assert_eq!(held[3].state, HopState::Held);
        assert_eq!(held[3].note, "queued");
        let mut failed = events.to_vec();
        failed.push((TraceStage::Failed, 5_000_000, "expired"));
        let hops = journey(true, &failed, Some(TickState::Failed));
        assert_eq!(hops[3].state, HopState::Done);
        assert_eq!(hops[4].state, HopState::Failed);
        assert_eq!(hops[4].after_us, Some(5_000_000));
    }

    #[test]
    fn a_paced_message_waits_at_the_first_hop_it_has_not_passed() {
        let events = [(TraceStage::Received, 1, ""), (TraceStage::Paced, 2, "step mode: waits before SENT")];
        let hops = journey(true, &events, None);
        use HopState::*;
        assert_eq!(states(&hops), [Done, Done, Paced, Waiting, Waiting]);
        assert_eq!(hops[2].note, "step mode: waits before SENT");
        // Let go: the stored trace comes after the paced one, and the wait is over.
        let mut stored = events.to_vec();
        stored.push((TraceStage::Stored, 2, "committed"));
        assert_eq!(states(&journey(true, &stored, Some(TickState::Sent)))[2], Done);
        // Only the READ receipt waits: every hop has passed, the last one says why.
        let read_waits = [(TraceStage::Acked, 5, "acked"), (TraceStage::Paced, 6, "waits before READ")];
        let hops = journey(true, &read_waits, Some(TickState::Delivered));
        assert_eq!(states(&hops), [Done; 5]);
        assert_eq!(hops[4].note, "waits before READ");
    }

    #[test]
    fn a_retry_is_shown_as_a_dedup_hit() {
        let events = [(TraceStage::Received, 1, ""), (TraceStage::DedupHit, 2, "ON CONFLICT DO NOTHING")];
        let hops = journey(true, &events, Some(TickState::Sent));
        assert_eq!(hops[2].note, "ON CONFLICT DO NOTHING");
    }

    #[test]
    fn ticks_fill_in_hops_whose_traces_were_missed() {
        // Observing started after the message was sent: only the receipt is known.
        let hops = journey(false, &[], Some(TickState::Read));
        assert_eq!(states(&hops), [HopState::Done; 5]);
    }
}
