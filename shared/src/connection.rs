//! The client's WebSocket connection state machine.
//!
//! ```text
//! DISCONNECTED ──connect──▶ CONNECTING ──welcome──▶ CONNECTED
//!       ▲                        │                   │    ▲
//!       │                     failed               lost   │ welcome
//!       │                        ▼                   ▼    │
//!       └───────disconnect─── RECONNECTING ◀──failed──────┘
//!                              (waits a backoff delay, then tries again)
//! ```
//!
//! The machine owns no socket and no timer. [`ConnectionMachine::handle`] takes an
//! [`Event`], the current time and a random draw, changes state and returns the
//! [`Action`]s its owner must carry out (open a socket, arm a timer, …). The browser page
//! and the simulated crowd drive the very same machine; the tests drive it with a fake
//! clock, so every backoff figure a student sees is one the tests have checked.

use crate::backoff::Backoff;
use crate::errors::ErrorCode;

/// Where the connection is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ConnectionState {
    /// No socket and no plan to open one until asked.
    Disconnected,
    /// The first socket is opening and the handshake has not finished.
    Connecting,
    /// The handshake finished; frames flow both ways.
    Connected,
    /// The connection was lost (or never made); waiting out a backoff delay, or trying
    /// again.
    Reconnecting,
}

impl ConnectionState {
    pub const ALL: [ConnectionState; 4] = [
        ConnectionState::Disconnected,
        ConnectionState::Connecting,
        ConnectionState::Connected,
        ConnectionState::Reconnecting,
    ];

    /// The name shown on the page and in logs.
    pub fn label(self) -> &'static str {
        match self {
            ConnectionState::Disconnected => "DISCONNECTED",
            ConnectionState::Connecting => "CONNECTING",
            ConnectionState::Connected => "CONNECTED",
            ConnectionState::Reconnecting => "RECONNECTING",
        }
    }

    /// One sentence on what the state means for the student.
    pub fn explanation(self) -> &'static str {
        match self {
            ConnectionState::Disconnected => {
                "No WebSocket is open. Nothing reaches this device until it connects again."
            }
            ConnectionState::Connecting => "Opening the WebSocket: HTTP upgrade, then the hello/welcome handshake.",
            ConnectionState::Connected => {
                "The socket is open and the handshake is done: the server can push at any moment."
            }
            ConnectionState::Reconnecting => {
                "The connection dropped. The client retries with exponential backoff and jitter."
            }
        }
    }
}

/// Something that happened to the connection.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The user (or the crowd's script) asked to connect.
    ConnectRequested,
    /// The user asked for a clean disconnect.
    DisconnectRequested,
    /// The server's `welcome` arrived.
    HandshakeCompleted,
    /// The socket failed to open, or an open one was lost (abruptly or closed by the
    /// server for a reason retrying can fix).
    SocketFailed { reason: String },
    /// The server refused this client for a reason retrying cannot fix.
    Rejected { code: ErrorCode, reason: String },
    /// The backoff timer armed by [`Action::ScheduleRetry`] went off.
    RetryTimerFired,
}

/// What the machine's owner must do now.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Open a new socket and send `hello`. `attempt` is 0 for the first connect and n
    /// for the n-th reconnect attempt.
    OpenSocket { attempt: u32 },
    /// Close the current socket cleanly (close frame 1000).
    CloseSocket,
    /// Arm a timer that fires [`Event::RetryTimerFired`] after `delay_ms`.
    ScheduleRetry { attempt: u32, delay_ms: u64, at_ms: u64 },
    /// Disarm the retry timer.
    CancelRetry,
}

/// The outcome of one event: the state change (possibly none), what to do, and a line
/// for the event log.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub from: ConnectionState,
    pub to: ConnectionState,
    pub actions: Vec<Action>,
    pub note: String,
}

/// The state machine itself.
#[derive(Debug, Clone)]
pub struct ConnectionMachine {
    state: ConnectionState,
    backoff: Backoff,
    /// The reconnect attempt in flight or scheduled next; 0 when none.
    attempt: u32,
    /// When the scheduled retry fires, if one is armed.
    retry_at_ms: Option<u64>,
}

impl ConnectionMachine {
    pub fn new(backoff: Backoff) -> Self {
        ConnectionMachine { state: ConnectionState::Disconnected, backoff, attempt: 0, retry_at_ms: None }
    }

    pub fn state(&self) -> ConnectionState {
        self.state
    }

    pub fn backoff(&self) -> Backoff {
        self.backoff
    }

    /// The reconnect attempt in flight or scheduled next (1-based); 0 outside
    /// RECONNECTING.
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// When the next attempt starts, while one is scheduled.
    pub fn retry_at_ms(&self) -> Option<u64> {
        self.retry_at_ms
    }

    /// Milliseconds left until the next attempt, for the page's countdown.
    pub fn countdown_ms(&self, now_ms: u64) -> Option<u64> {
        self.retry_at_ms.map(|at| at.saturating_sub(now_ms))
    }

    /// Feeds one event. `random` is a draw in [0, 1) used only if a retry is scheduled.
    pub fn handle(&mut self, event: Event, now_ms: u64, random: f64) -> Transition {
        use ConnectionState::*;
        let from = self.state;
        let mut actions = Vec::new();
        let note = match (self.state, event) {
            (Disconnected, Event::ConnectRequested) => {
                self.state = Connecting;
                actions.push(Action::OpenSocket { attempt: 0 });
                "connect requested: opening WebSocket".to_string()
            }
            (Connecting | Reconnecting, Event::HandshakeCompleted) => {
                self.state = Connected;
                let note = if self.attempt > 0 {
                    format!("handshake complete after reconnect attempt {}", self.attempt)
                } else {
                    "handshake complete: welcome received".to_string()
                };
                self.attempt = 0;
                self.retry_at_ms = None;
                note
            }
            (Connecting | Connected | Reconnecting, Event::SocketFailed { reason }) if self.retry_at_ms.is_none() => {
                self.state = Reconnecting;
                self.attempt += 1;
                let delay_ms = self.backoff.delay_ms(self.attempt, random);
                let at_ms = now_ms + delay_ms;
                self.retry_at_ms = Some(at_ms);
                actions.push(Action::ScheduleRetry { attempt: self.attempt, delay_ms, at_ms });
                format!("{reason}; attempt {} in {delay_ms} ms", self.attempt)
            }
            (Reconnecting, Event::RetryTimerFired) if self.retry_at_ms.is_some() => {
                self.retry_at_ms = None;
                actions.push(Action::OpenSocket { attempt: self.attempt });
                format!("attempt {}: opening WebSocket", self.attempt)
            }
            (Reconnecting, Event::ConnectRequested) if self.retry_at_ms.is_some() => {
                // The student is impatient: skip the rest of the wait.
                self.retry_at_ms = None;
                actions.push(Action::CancelRetry);
                actions.push(Action::OpenSocket { attempt: self.attempt });
                format!("connect requested: attempt {} now", self.attempt)
            }
            (Connecting | Connected | Reconnecting, Event::DisconnectRequested) => {
                if self.retry_at_ms.take().is_some() {
                    actions.push(Action::CancelRetry);
                } else {
                    actions.push(Action::CloseSocket);
                }
                self.state = Disconnected;
                self.attempt = 0;
                "disconnect requested: clean close".to_string()
            }
            (Connecting | Connected | Reconnecting, Event::Rejected { code, reason }) => {
                if self.retry_at_ms.take().is_some() {
                    actions.push(Action::CancelRetry);
                }
                self.state = Disconnected;
                self.attempt = 0;
                format!("refused by server ({code:?}): {reason}; not retrying")
            }
            (state, event) => format!("{event:?} ignored in {}", state.label()),
        };
        Transition { from, to: self.state, actions, note }
    }
}

impl Default for ConnectionMachine {
    fn default() -> Self {
        ConnectionMachine::new(Backoff::default())
    }
}

#[cfg(test)]
mod tests {
    use super::ConnectionState::*;
    use super::*;

    fn no_jitter() -> ConnectionMachine {
        ConnectionMachine::new(Backoff { base_ms: 1_000, factor: 2, cap_ms: 8_000, jitter: 0.0 })
    }

    fn failed() -> Event {
        Event::SocketFailed { reason: "connection refused".into() }
    }

    #[test]
    fn starts_disconnected_and_connects() {
        let mut m = no_jitter();
        assert_eq!(m.state(), Disconnected);
        let t = m.handle(Event::ConnectRequested, 0, 0.0);
        assert_eq!((t.from, t.to), (Disconnected, Connecting));
        assert_eq!(t.actions, [Action::OpenSocket { attempt: 0 }]);
        let t = m.handle(Event::HandshakeCompleted, 5, 0.0);
        assert_eq!(t.to, Connected);
        assert!(t.actions.is_empty());
    }

    #[test]
    fn repeated_failures_back_off_exponentially_up_to_the_cap() {
        let mut m = no_jitter();
        m.handle(Event::ConnectRequested, 0, 0.0);
        m.handle(Event::HandshakeCompleted, 0, 0.0);
        let mut now = 100;
        let mut delays = Vec::new();
        m.handle(failed(), now, 0.0);
        for _ in 0..6 {
            assert_eq!(m.state(), Reconnecting);
            let at = m.retry_at_ms().expect("a retry is scheduled");
            delays.push(at - now);
            assert_eq!(m.countdown_ms(now + 250), Some(at - now - 250));
            now = at;
            let t = m.handle(Event::RetryTimerFired, now, 0.0);
            assert_eq!(t.actions, [Action::OpenSocket { attempt: m.attempt() }]);
            m.handle(failed(), now, 0.0);
        }
        assert_eq!(delays, [1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
        assert_eq!(m.attempt(), 7);
    }

    #[test]
    fn success_after_reconnect_resets_the_attempt_counter() {
        let mut m = no_jitter();
        m.handle(Event::ConnectRequested, 0, 0.0);
        m.handle(failed(), 0, 0.0);
        m.handle(Event::RetryTimerFired, 1_000, 0.0);
        m.handle(failed(), 1_000, 0.0);
        m.handle(Event::RetryTimerFired, 3_000, 0.0);
        let t = m.handle(Event::HandshakeCompleted, 3_010, 0.0);
        assert_eq!(t.to, Connected);
        assert!(t.note.contains("attempt 2"), "{}", t.note);
        assert_eq!(m.attempt(), 0);
        m.handle(failed(), 10_000, 0.0);
        assert_eq!(m.retry_at_ms(), Some(11_000), "backoff starts over after a success");
    }

    #[test]
    fn jitter_draw_moves_the_retry_time() {
        let mut m = ConnectionMachine::new(Backoff { jitter: 0.5, ..Backoff::default() });
        m.handle(Event::ConnectRequested, 0, 0.0);
        m.handle(failed(), 0, 0.25);
        assert_eq!(m.retry_at_ms(), Some(625));
    }

    #[test]
    fn disconnect_while_waiting_cancels_the_timer() {
        let mut m = no_jitter();
        m.handle(Event::ConnectRequested, 0, 0.0);
        m.handle(failed(), 0, 0.0);
        let t = m.handle(Event::DisconnectRequested, 10, 0.0);
        assert_eq!(t.to, Disconnected);
        assert_eq!(t.actions, [Action::CancelRetry]);
        assert_eq!(m.retry_at_ms(), None);
        // A stale timer firing later changes nothing.
        let t = m.handle(Event::RetryTimerFired, 1_000, 0.0);
        assert_eq!(t.to, Disconnected);
        assert!(t.actions.is_empty());
    }

    #[test]
    fn disconnect_while_connected_closes_the_socket() {
        let mut m = no_jitter();
        m.handle(Event::ConnectRequested, 0, 0.0);
        m.handle(Event::HandshakeCompleted, 0, 0.0);
        let t = m.handle(Event::DisconnectRequested, 0, 0.0);
        assert_eq!(t.actions, [Action::CloseSocket]);
        assert_eq!(t.to, Disconnected);
    }

    #[test]
    fn connect_while_waiting_skips_the_rest_of_the_wait() {
        let mut m = no_jitter();
        m.handle(Event::ConnectRequested, 0, 0.0);
        m.handle(failed(), 0, 0.0);
        let t = m.handle(Event::ConnectRequested, 10, 0.0);
        assert_eq!(t.actions, [Action::CancelRetry, Action::OpenSocket { attempt: 1 }]);
        assert_eq!(t.to, Reconnecting);
    }

    #[test]
    fn a_fatal_rejection_stops_retrying() {
        let mut m = no_jitter();
        m.handle(Event::ConnectRequested, 0, 0.0);
        let t = m.handle(Event::Rejected { code: ErrorCode::UnsupportedVersion, reason: "speak 1".into() }, 0, 0.0);
        assert_eq!(t.to, Disconnected);
        assert!(t.actions.is_empty());
        assert_eq!(m.retry_at_ms(), None);
    }

    #[test]
    fn a_second_failure_report_for_the_same_loss_is_ignored() {
        // Browsers report `error` and then `close` for one failed socket.
        let mut m = no_jitter();
        m.handle(Event::ConnectRequested, 0, 0.0);
        m.handle(failed(), 0, 0.0);
        let t = m.handle(failed(), 1, 0.0);
        assert!(t.actions.is_empty());
        assert_eq!(m.attempt(), 1);
        assert_eq!(m.retry_at_ms(), Some(1_000));
    }

    #[test]
    fn events_that_make_no_sense_are_ignored_not_fatal() {
        let mut m = no_jitter();
        for e in [Event::HandshakeCompleted, Event::RetryTimerFired, failed(), Event::DisconnectRequested] {
            let t = m.handle(e, 0, 0.0);
            assert_eq!((t.from, t.to), (Disconnected, Disconnected));
            assert!(t.actions.is_empty());
        }
    }
}
