//! The connection state machine as the lab draws it: the arrows of the diagram, which
//! arrow a transition took, and why, in words ("CONNECTING → CONNECTED (welcome)").
//!
//! ```text
//!                 DISCONNECTED
//!          connect │      ▲ disconnect / refused (from any state in the box)
//!   ┌──────────────▼──────┴───────────────────┐
//!   │             CONNECTING                  │
//!   │   socket failed ↙     ↘ welcome         │
//!   │  RECONNECTING ◀─socket closed─ CONNECTED│
//!   │       ⟲        ──welcome──▶             │
//!   │ backoff elapsed / attempt failed        │
//!   └─────────────────────────────────────────┘
//! ```
//!
//! It lives apart from [`crate::connection`] because it is about showing the machine,
//! not about what the machine does. Every transition the machine makes maps to exactly
//! one drawn arrow; the tests walk the machine through each of them.

use crate::connection::{ConnectionState, Event, Transition};

/// One arrow of the drawn diagram.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arrow {
    /// DISCONNECTED → CONNECTING.
    Connect,
    /// CONNECTING → CONNECTED.
    Welcome,
    /// CONNECTING → RECONNECTING: the first socket never opened.
    SocketFailed,
    /// CONNECTED → RECONNECTING: an open socket was lost.
    SocketClosed,
    /// RECONNECTING → CONNECTED: a reconnect attempt's handshake finished.
    Resumed,
    /// RECONNECTING → RECONNECTING: a wait ran out and an attempt started, or an
    /// attempt failed and a longer wait began.
    Retry,
    /// Any connecting or connected state → DISCONNECTED: a clean disconnect, or a
    /// refusal retrying cannot fix. Drawn once, from the box round those states.
    Leave,
}

impl Arrow {
    pub const ALL: [Arrow; 7] = [
        Arrow::Connect,
        Arrow::Welcome,
        Arrow::SocketFailed,
        Arrow::SocketClosed,
        Arrow::Resumed,
        Arrow::Retry,
        Arrow::Leave,
    ];

    /// A stable name for the page (`data-arrow`) and its tests.
    pub fn id(self) -> &'static str {
        match self {
            Arrow::Connect => "connect",
            Arrow::Welcome => "welcome",
            Arrow::SocketFailed => "socket-failed",
            Arrow::SocketClosed => "socket-closed",
            Arrow::Resumed => "resumed",
            Arrow::Retry => "retry",
            Arrow::Leave => "leave",
        }
    }

    /// The words written along the arrow, one entry per line.
    pub fn label(self) -> &'static [&'static str] {
        match self {
            Arrow::Connect => &["connect,", "hello sent"],
            Arrow::Welcome => &["welcome"],
            Arrow::SocketFailed => &["socket", "failed"],
            Arrow::SocketClosed => &["socket", "closed"],
            Arrow::Resumed => &["welcome"],
            Arrow::Retry => &["backoff elapsed /", "attempt failed"],
            Arrow::Leave => &["disconnect /", "refused"],
        }
    }

    /// Where the arrow starts (`None`: any of CONNECTING, CONNECTED, RECONNECTING) and
    /// where it ends.
    pub fn ends(self) -> (Option<ConnectionState>, ConnectionState) {
        use ConnectionState::*;
        match self {
            Arrow::Connect => (Some(Disconnected), Connecting),
            Arrow::Welcome => (Some(Connecting), Connected),
            Arrow::SocketFailed => (Some(Connecting), Reconnecting),
            Arrow::SocketClosed => (Some(Connected), Reconnecting),
            Arrow::Resumed => (Some(Reconnecting), Connected),
            Arrow::Retry => (Some(Reconnecting), Reconnecting),
            Arrow::Leave => (None, Disconnected),
        }
    }
}

/// Why a transition happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    Connect,
    /// Connect pressed while a backoff wait runs: the rest of the wait is skipped.
    ConnectNow,
    Disconnect,
    Welcome,
    /// The first socket failed to open.
    SocketFailed,
    /// An open socket was lost (closed by the server, or the network dropped).
    SocketClosed,
    /// A reconnect attempt failed; a longer wait begins.
    AttemptFailed,
    /// A backoff wait ran out; the next attempt starts.
    BackoffElapsed,
    /// The server refused the client for a reason retrying cannot fix.
    Refused,
}

impl Cause {
    pub fn words(self) -> &'static str {
        match self {
            Cause::Connect => "connect, hello sent",
            Cause::ConnectNow => "connect now: rest of the wait skipped",
            Cause::Disconnect => "disconnect",
            Cause::Welcome => "welcome",
            Cause::SocketFailed => "socket failed",
            Cause::SocketClosed => "socket closed",
            Cause::AttemptFailed => "attempt failed",
            Cause::BackoffElapsed => "backoff elapsed",
            Cause::Refused => "refused by the server",
        }
    }
}

/// One transition as the lab shows it: the arrow to highlight and the words for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub from: ConnectionState,
    pub to: ConnectionState,
    pub arrow: Arrow,
    pub cause: Cause,
}

impl Step {
    /// The step `transition` took for `event`; `None` when the machine ignored the
    /// event (no state change and nothing to do), so the highlight stays where it was.
    pub fn of(event: &Event, transition: &Transition) -> Option<Step> {
        use ConnectionState::*;
        let (from, to) = (transition.from, transition.to);
        if from == to && transition.actions.is_empty() {
            return None;
        }
        let (arrow, cause) = match (event, from, to) {
            (Event::ConnectRequested, Disconnected, Connecting) => (Arrow::Connect, Cause::Connect),
            (Event::ConnectRequested, Reconnecting, Reconnecting) => (Arrow::Retry, Cause::ConnectNow),
            (Event::HandshakeCompleted, Connecting, Connected) => (Arrow::Welcome, Cause::Welcome),
            (Event::HandshakeCompleted, Reconnecting, Connected) => (Arrow::Resumed, Cause::Welcome),
            (Event::SocketFailed { .. }, Connecting, Reconnecting) => (Arrow::SocketFailed, Cause::SocketFailed),
            (Event::SocketFailed { .. }, Connected, Reconnecting) => (Arrow::SocketClosed, Cause::SocketClosed),
            (Event::SocketFailed { .. }, Reconnecting, Reconnecting) => (Arrow::Retry, Cause::AttemptFailed),
            (Event::RetryTimerFired, Reconnecting, Reconnecting) => (Arrow::Retry, Cause::BackoffElapsed),
            (Event::DisconnectRequested, _, Disconnected) => (Arrow::Leave, Cause::Disconnect),
            (Event::Rejected { .. }, _, Disconnected) => (Arrow::Leave, Cause::Refused),
            _ => return None,
        };
        Some(Step { from, to, arrow, cause })
    }

    /// "CONNECTING → CONNECTED (welcome)".
    pub fn describe(&self) -> String {
        format!("{} → {} ({})", self.from.label(), self.to.label(), self.cause.words())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::Backoff;
    use crate::connection::ConnectionMachine;
    use crate::errors::ErrorCode;

    fn failed() -> Event {
        Event::SocketFailed { reason: "socket dropped (code 1006)".into() }
    }

    /// Feeds `events` and returns each step (or `None` where the machine ignored one).
    fn steps(events: &[Event]) -> Vec<Option<Step>> {
        let mut machine = ConnectionMachine::new(Backoff { jitter: 0.0, ..Backoff::default() });
        events
            .iter()
            .enumerate()
            .map(|(i, event)| {
                let transition = machine.handle(event.clone(), i as u64 * 1_000, 0.0);
                Step::of(event, &transition)
            })
            .collect()
    }

    fn arrows(events: &[Event]) -> Vec<Option<Arrow>> {
        steps(events).into_iter().map(|s| s.map(|s| s.arrow)).collect()
    }

    #[test]
    fn a_connect_takes_connect_then_welcome() {
        let got = steps(&[Event::ConnectRequested, Event::HandshakeCompleted]);
        assert_eq!(got[0].map(|s| s.arrow), Some(Arrow::Connect));
        let welcome = got[1].expect("a step");
        assert_eq!(welcome.arrow, Arrow::Welcome);
        assert_eq!(welcome.describe(), "CONNECTING → CONNECTED (welcome)");
    }

    #[test]
    fn an_outage_loops_on_retry_until_a_welcome() {
        use Event::*;
        let got = arrows(&[
            ConnectRequested,
            HandshakeCompleted,
            failed(),
            RetryTimerFired,
            failed(),
            RetryTimerFired,
            HandshakeCompleted,
        ]);
        use Arrow::*;
        let want = [Connect, Welcome, SocketClosed, Retry, Retry, Retry, Resumed].map(Some);
        assert_eq!(got, want);
        let causes: Vec<_> = steps(&[ConnectRequested, failed(), RetryTimerFired, failed()])
            .into_iter()
            .map(|s| s.expect("a step").cause)
            .collect();
        assert_eq!(causes, [Cause::Connect, Cause::SocketFailed, Cause::BackoffElapsed, Cause::AttemptFailed]);
    }

    #[test]
    fn leaving_from_any_state_takes_the_one_leave_arrow() {
        use Event::*;
        let refused = Rejected { code: ErrorCode::UnsupportedVersion, reason: "speak 1".into() };
        for events in [
            vec![ConnectRequested, DisconnectRequested],
            vec![ConnectRequested, HandshakeCompleted, DisconnectRequested],
            vec![ConnectRequested, failed(), DisconnectRequested],
            vec![ConnectRequested, refused.clone()],
        ] {
            let last = steps(&events).pop().flatten().expect("a step");
            assert_eq!((last.arrow, last.to), (Arrow::Leave, ConnectionState::Disconnected), "{events:?}");
        }
        let last = steps(&[ConnectRequested, refused]).pop().flatten().expect("a step");
        assert_eq!(last.describe(), "CONNECTING → DISCONNECTED (refused by the server)");
    }

    #[test]
    fn connect_during_a_wait_is_a_retry_now() {
        use Event::*;
        let last = steps(&[ConnectRequested, failed(), ConnectRequested]).pop().flatten().expect("a step");
        assert_eq!((last.arrow, last.cause), (Arrow::Retry, Cause::ConnectNow));
    }

    #[test]
    fn ignored_events_leave_the_highlight_alone() {
        use Event::*;
        // The browser reports `error` then `close` for one socket: the second is ignored.
        let got =
            arrows(&[HandshakeCompleted, ConnectRequested, failed(), failed(), ConnectRequested, RetryTimerFired]);
        assert_eq!(got, [None, Some(Arrow::Connect), Some(Arrow::SocketFailed), None, Some(Arrow::Retry), None]);
    }

    #[test]
    fn every_arrow_names_its_ends_and_has_words() {
        for arrow in Arrow::ALL {
            assert!(!arrow.label().is_empty() && !arrow.id().is_empty());
            let (from, to) = arrow.ends();
            assert_eq!(from.is_none(), arrow == Arrow::Leave, "only Leave starts from the box");
            assert_ne!(Some(to), from.filter(|_| arrow != Arrow::Retry), "{arrow:?}");
        }
    }
}
