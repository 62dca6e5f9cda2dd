//! A message's journey through the lesson's pipeline, stop by stop (sender device →
//! WebSocket → chat server → Redis check → dedup layer → recipient server → WebSocket
//! push → recipient device), and the read receipt travelling back to the sender: worked
//! out from the server's trace events and the sender's tick. The page draws it; the logic
//! is here so it is tested natively. Replaying a recorded run is [`crate::replay`].

use crate::frames::{TickState, TraceStage};

/// The stops, in the lesson's order, and the way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hop {
    SenderDevice,
    UpLink,
    ChatServer,
    Lookup,
    Dedup,
    RecipientServer,
    DownLink,
    RecipientDevice,
    ReadReceipt,
}

pub const HOPS: [Hop; 9] = [
    Hop::SenderDevice,
    Hop::UpLink,
    Hop::ChatServer,
    Hop::Lookup,
    Hop::Dedup,
    Hop::RecipientServer,
    Hop::DownLink,
    Hop::RecipientDevice,
    Hop::ReadReceipt,
];

impl Hop {
    pub fn title(self) -> &'static str {
        match self {
            Hop::SenderDevice => "Sender's device",
            Hop::UpLink => "WebSocket",
            Hop::ChatServer => "Chat server",
            Hop::Lookup => "Redis check",
            Hop::Dedup => "Dedup layer",
            Hop::RecipientServer => "Recipient's server",
            Hop::DownLink => "WebSocket push",
            Hop::RecipientDevice => "Recipient's device",
            Hop::ReadReceipt => "Read receipt",
        }
    }

    /// What happens there, in the lesson's words.
    pub fn what(self) -> &'static str {
        match self {
            Hop::SenderDevice => "encrypts the message",
            Hop::UpLink => "carries it up to the server",
            Hop::ChatServer => "stores the ciphertext",
            Hop::Lookup => "is the recipient online? (here the server's connection table plays Redis)",
            Hop::Dedup => "is this msg_id new? (here the insert itself: ON CONFLICT DO NOTHING)",
            Hop::RecipientServer => "finds the recipient's open connection",
            Hop::DownLink => "carries it down to the phone",
            Hop::RecipientDevice => "decrypts it locally and acknowledges: DELIVERED",
            Hop::ReadReceipt => "the recipient opens the chat; READ travels back to the sender",
        }
    }

    /// The tick the sender sees once the message has passed this stop, if one changes.
    pub fn tick(self) -> Option<TickState> {
        match self {
            Hop::ChatServer => Some(TickState::Sent),
            Hop::RecipientDevice => Some(TickState::Delivered),
            Hop::ReadReceipt => Some(TickState::Read),
            _ => None,
        }
    }
}

/// Where the message is at one stop.
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
    /// The lab's pace holds it before this stop: slow motion, or step mode waiting for
    /// "Next hop".
    Paced,
}

/// One stop as the page shows it.
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

/// The stops of a message, given whether its send frame left the phone, the server's
/// trace events for it (in any order) and the sender's tick. If the latest event is
/// `paced` (later in `events` on a tie), the lab's pace holds the message: the first stop
/// not yet passed shows the wait.
pub fn journey(on_the_wire: bool, events: &[StageEvent<'_>], tick: Option<TickState>) -> [HopStatus; 9] {
    let mut hops = hops(on_the_wire, events, tick);
    let latest = events.iter().enumerate().max_by_key(|(i, (_, t, _))| (*t, *i)).map(|(_, e)| e);
    if let Some((TraceStage::Paced, after_us, note)) = latest
        && let Some(waits) = hops.iter_mut().find(|h| matches!(h.state, HopState::Waiting | HopState::Held))
    {
        waits.state = HopState::Paced;
        waits.after_us = Some(*after_us);
        waits.note = note.to_string();
    }
    hops
}

fn hops(on_the_wire: bool, events: &[StageEvent<'_>], tick: Option<TickState>) -> [HopStatus; 9] {
    let first = |wanted: &[TraceStage]| events.iter().filter(|(s, _, _)| wanted.contains(s)).min_by_key(|(_, t, _)| *t);
    let status = |hop, state, event: Option<&StageEvent<'_>>, fallback: &str| HopStatus {
        hop,
        state,
        after_us: event.map(|e| e.1),
        note: event.map(|e| e.2.to_string()).filter(|n| !n.is_empty()).unwrap_or_else(|| fallback.to_string()),
    };
    let waiting = |hop| HopStatus { hop, state: HopState::Waiting, after_us: None, note: String::new() };
    // What a passed stop says when its own trace was missed (observing began late).
    let passed = |hop, wanted: &[TraceStage], fallback: &str| status(hop, HopState::Done, first(wanted), fallback);

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
    let reached = matches!(tick, Some(TickState::Delivered | TickState::Read));
    let stored = &[TraceStage::Stored, TraceStage::DedupHit];

    let up = match first(&[TraceStage::Received]) {
        Some(e) => status(Hop::UpLink, HopState::Done, Some(e), ""),
        None if sent => passed(Hop::UpLink, &[], "the server read the send frame"),
        None => waiting(Hop::UpLink),
    };
    let chat = match first(stored) {
        Some(e) => status(Hop::ChatServer, HopState::Done, Some(e), ""),
        None if sent => passed(Hop::ChatServer, &[], "stored once: SENT"),
        None => waiting(Hop::ChatServer),
    };
    let lookup = match first(&[TraceStage::RecipientLookup]) {
        Some(e) => status(Hop::Lookup, HopState::Done, Some(e), ""),
        None if reached || first(&[TraceStage::Pushed, TraceStage::Queued]).is_some() => {
            passed(Hop::Lookup, &[], "the recipient's devices were looked up")
        }
        None => waiting(Hop::Lookup),
    };
    let dedup = match first(stored) {
        Some(e @ (TraceStage::DedupHit, _, _)) => status(Hop::Dedup, HopState::Done, Some(e), ""),
        Some(e) => HopStatus {
            note: "a new msg_id: the insert stored one row (a retry would hit ON CONFLICT DO NOTHING)".into(),
            ..status(Hop::Dedup, HopState::Done, Some(e), "")
        },
        None if sent => passed(Hop::Dedup, &[], "the id was checked as it was stored"),
        None => waiting(Hop::Dedup),
    };
    let failed = tick == Some(TickState::Failed);
    let (recipient_server, down) = match (first(&[TraceStage::Pushed]), first(&[TraceStage::Queued])) {
        (Some(e), _) => (
            status(Hop::RecipientServer, HopState::Done, Some(e), ""),
            status(Hop::DownLink, HopState::Done, Some(e), "pushed down the recipient's WebSocket"),
        ),
        (None, queued) if reached => (
            passed(Hop::RecipientServer, &[], "found the recipient's connection"),
            HopStatus {
                note: match queued {
                    Some(_) => "pushed when the recipient came back online".into(),
                    None => "pushed to the recipient".into(),
                },
                ..passed(Hop::DownLink, &[], "")
            },
        ),
        (None, Some(e)) if failed => {
            (status(Hop::RecipientServer, HopState::Done, Some(e), ""), waiting(Hop::DownLink))
        }
        (None, Some(e)) => (status(Hop::RecipientServer, HopState::Held, Some(e), ""), waiting(Hop::DownLink)),
        (None, None) => (waiting(Hop::RecipientServer), waiting(Hop::DownLink)),
    };
    let device = match tick {
        Some(TickState::Failed) => {
            status(Hop::RecipientDevice, HopState::Failed, first(&[TraceStage::Failed]), "expired undelivered: FAILED")
        }
        _ => match first(&[TraceStage::Acked]) {
            Some(e) => status(Hop::RecipientDevice, HopState::Done, Some(e), ""),
            None if reached => passed(Hop::RecipientDevice, &[], "the device acknowledged it: DELIVERED"),
            None => waiting(Hop::RecipientDevice),
        },
    };
    let read = match first(&[TraceStage::Read]) {
        Some(e) => status(Hop::ReadReceipt, HopState::Done, Some(e), ""),
        None if tick == Some(TickState::Read) => passed(Hop::ReadReceipt, &[], "read: blue ticks"),
        None => waiting(Hop::ReadReceipt),
    };
    [sender, up, chat, lookup, dedup, recipient_server, down, device, read]
}

#[cfg(test)]
mod tests {
    use super::*;
    use HopState::*;

    fn states(hops: &[HopStatus; 9]) -> [HopState; 9] {
        hops.each_ref().map(|h| h.state)
    }

    #[test]
    fn nothing_has_happened_before_the_send() {
        let hops = journey(false, &[], None);
        assert_eq!(states(&hops), [Waiting; 9]);
        assert!(hops[0].note.contains("outbox"));
    }

    #[test]
    fn an_online_recipient_lights_every_stop_in_turn_and_each_tick_keeps_its_time() {
        let events = [
            (TraceStage::Received, 300, "read the frame"),
            (TraceStage::Stored, 900, "committed"),
            (TraceStage::RecipientLookup, 950, "1 device"),
            (TraceStage::Pushed, 1000, "pushed"),
        ];
        let hops = journey(true, &events, Some(TickState::Sent));
        assert_eq!(states(&hops), [Done, Done, Done, Done, Done, Done, Done, Waiting, Waiting]);
        assert_eq!(hops[3].after_us, Some(950));
        assert_eq!(hops[5].after_us, Some(1000));
        let mut later = events.to_vec();
        later.push((TraceStage::Acked, 1500, "acked"));
        later.push((TraceStage::Read, 9000, "read"));
        let hops = journey(true, &later, Some(TickState::Read));
        assert_eq!(states(&hops), [Done; 9]);
        // READ does not overwrite DELIVERED's time: each tick has its own stop.
        let times: Vec<_> = hops.iter().filter(|h| h.hop.tick().is_some()).map(|h| h.after_us).collect();
        assert_eq!(times, [Some(900), Some(1500), Some(9000)]);
    }

    #[test]
    fn an_offline_recipient_holds_the_message_at_its_server_until_it_fails() {
        let events = [(TraceStage::Received, 1, ""), (TraceStage::Stored, 2, ""), (TraceStage::Queued, 3, "queued")];
        let held = journey(true, &events, Some(TickState::Sent));
        assert_eq!(held[5].state, Held);
        assert_eq!(held[5].note, "queued");
        let mut failed = events.to_vec();
        failed.push((TraceStage::Failed, 5_000_000, "expired"));
        let hops = journey(true, &failed, Some(TickState::Failed));
        assert_eq!(hops[5].state, Done);
        assert_eq!(hops[7].state, Failed);
        assert_eq!(hops[7].after_us, Some(5_000_000));
    }

    #[test]
    fn a_retry_is_shown_as_a_dedup_hit() {
        let events = [(TraceStage::Received, 1, ""), (TraceStage::DedupHit, 2, "ON CONFLICT DO NOTHING")];
        let hops = journey(true, &events, Some(TickState::Sent));
        assert_eq!(hops[4].note, "ON CONFLICT DO NOTHING");
    }

    #[test]
    fn ticks_fill_in_stops_whose_traces_were_missed() {
        // Observing started after the message was sent: only the receipt is known.
        let hops = journey(false, &[], Some(TickState::Read));
        assert_eq!(states(&hops), [Done; 9]);
    }

    #[test]
    fn a_paced_message_waits_at_the_first_stop_it_has_not_passed() {
        let events = [(TraceStage::Received, 1, ""), (TraceStage::Paced, 2, "step mode: waits before SENT")];
        let hops = journey(true, &events, None);
        assert_eq!(states(&hops)[..4], [Done, Done, Paced, Waiting]);
        assert_eq!(hops[2].note, "step mode: waits before SENT");
        // Let go: the stored trace comes after the paced one, and the wait is over.
        let mut stored = events.to_vec();
        stored.push((TraceStage::Stored, 2, "committed"));
        assert_eq!(states(&journey(true, &stored, Some(TickState::Sent)))[2], Done);
        // The READ receipt waits: the last stop says why.
        let read_waits = [(TraceStage::Acked, 5, "acked"), (TraceStage::Paced, 6, "waits before READ")];
        let hops = journey(true, &read_waits, Some(TickState::Delivered));
        assert_eq!((hops[8].state, hops[8].note.as_str()), (Paced, "waits before READ"));
    }
}
