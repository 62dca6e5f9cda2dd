//! The backoff timeline the connection lab draws while a connection is being won back:
//! each reconnect attempt n at the time its wait began, the delay it drew, the jitter
//! window that delay was drawn from, and how the attempt ended.
//!
//! It is built only from the machine's [`Transition`]s (the `ScheduleRetry` and
//! `OpenSocket` actions carry every figure), so what the page draws is exactly what
//! the machine decided. Times are kept relative to the first loss of the episode, so
//! the drawing starts at t = 0 s.

use crate::backoff::Backoff;
use crate::connection::{Action, ConnectionState, Transition};

/// How a reconnect attempt ended (so far).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Its backoff wait is running.
    Waiting,
    /// Its socket is opening.
    Trying,
    /// It failed; the next attempt's wait began.
    Failed,
    /// Its handshake finished: the connection is back.
    Connected,
    /// The student disconnected (or the server refused) before it finished.
    Stopped,
}

impl Outcome {
    pub fn words(self) -> &'static str {
        match self {
            Outcome::Waiting => "waiting",
            Outcome::Trying => "trying",
            Outcome::Failed => "failed",
            Outcome::Connected => "connected",
            Outcome::Stopped => "stopped",
        }
    }
}

/// One reconnect attempt on the timeline. Times are ms since the episode began.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttemptMark {
    /// The attempt number, from 1.
    pub n: u32,
    /// When its wait began (the previous attempt failed, or the connection was lost).
    pub waited_from_ms: u64,
    /// The delay the jitter drew.
    pub delay_ms: u64,
    /// The shortest and longest delay the jitter could have drawn.
    pub window_ms: (u64, u64),
    /// When its socket actually opened: the end of the wait, or earlier if the student
    /// pressed Connect to skip it. `None` until then.
    pub tried_ms: Option<u64>,
    pub outcome: Outcome,
}

impl AttemptMark {
    /// When the wait ends and the attempt is due.
    pub fn due_ms(&self) -> u64 {
        self.waited_from_ms + self.delay_ms
    }
}

/// The attempts of the latest episode of losing and winning back a connection. A new
/// episode (attempt 1 scheduled again) starts a fresh timeline; the last one stays
/// drawn after the connection is back, so the student can study it.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffTimeline {
    backoff: Backoff,
    /// When the episode began (ms since epoch), if one has.
    started_at_ms: Option<u64>,
    /// When it ended (connected again, or stopped), relative to its start.
    ended_ms: Option<u64>,
    attempts: Vec<AttemptMark>,
}

impl BackoffTimeline {
    pub fn new(backoff: Backoff) -> Self {
        BackoffTimeline { backoff, started_at_ms: None, ended_ms: None, attempts: Vec::new() }
    }

    pub fn attempts(&self) -> &[AttemptMark] {
        &self.attempts
    }

    pub fn is_empty(&self) -> bool {
        self.attempts.is_empty()
    }

    /// Whether the episode is still running (attempts are still to come).
    pub fn is_running(&self) -> bool {
        self.started_at_ms.is_some() && self.ended_ms.is_none()
    }

    /// When the episode ended, relative to its start.
    pub fn ended_ms(&self) -> Option<u64> {
        self.ended_ms
    }

    /// Time since the episode began at `now_ms` (ms since epoch), held at the end once
    /// it is over.
    pub fn elapsed_ms(&self, now_ms: u64) -> u64 {
        match (self.started_at_ms, self.ended_ms) {
            (_, Some(ended)) => ended,
            (Some(start), None) => now_ms.saturating_sub(start),
            (None, None) => 0,
        }
    }

    /// How much time the drawing's axis must cover: every attempt's window and, while
    /// the episode runs, now.
    pub fn span_ms(&self, now_ms: u64) -> u64 {
        let windows = self.attempts.iter().map(|a| a.waited_from_ms + a.window_ms.1);
        windows.chain([self.elapsed_ms(now_ms)]).max().unwrap_or(0)
    }

    /// Takes one transition of the machine into account; `now_ms` is when it happened.
    pub fn observe(&mut self, transition: &Transition, now_ms: u64) {
        for action in &transition.actions {
            match *action {
                Action::ScheduleRetry { attempt, delay_ms, at_ms } => {
                    let waited_from = at_ms.saturating_sub(delay_ms);
                    if attempt == 1 || self.started_at_ms.is_none() {
                        *self = BackoffTimeline::new(self.backoff);
                        self.started_at_ms = Some(waited_from);
                    }
                    let start = self.started_at_ms.unwrap_or(waited_from);
                    self.finish_last(Outcome::Failed);
                    self.attempts.push(AttemptMark {
                        n: attempt,
                        waited_from_ms: waited_from.saturating_sub(start),
                        delay_ms,
                        window_ms: self.backoff.window_ms(attempt),
                        tried_ms: None,
                        outcome: Outcome::Waiting,
                    });
                }
                Action::OpenSocket { attempt } if attempt > 0 => {
                    let at = self.relative(now_ms);
                    if let Some(last) = self.attempts.last_mut().filter(|a| a.n == attempt) {
                        last.tried_ms = Some(at);
                        last.outcome = Outcome::Trying;
                    }
                }
                _ => {}
            }
        }
        if !self.is_running() || transition.from != ConnectionState::Reconnecting {
            return;
        }
        let outcome = match transition.to {
            ConnectionState::Connected => Outcome::Connected,
            ConnectionState::Disconnected => Outcome::Stopped,
            _ => return,
        };
        self.finish_last(outcome);
        self.ended_ms = Some(self.relative(now_ms));
    }

    fn relative(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.started_at_ms.unwrap_or(now_ms))
    }

    fn finish_last(&mut self, outcome: Outcome) {
        if let Some(last) = self.attempts.last_mut()
            && matches!(last.outcome, Outcome::Waiting | Outcome::Trying)
        {
            last.outcome = outcome;
        }
    }
}

/// Where to put the labelled marks on a time axis `span_ms` long: whole seconds, 1, 2,
/// 5 or 10 s apart so that about six fit. Starts at 0 and does not pass the span.
pub fn axis_marks_ms(span_ms: u64) -> Vec<u64> {
    let step = [1_000, 2_000, 5_000, 10_000, 20_000, 30_000, 60_000]
        .into_iter()
        .find(|step| span_ms / step <= 6)
        .unwrap_or(120_000);
    (0..=span_ms / step).map(|i| i * step).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{ConnectionMachine, Event};

    fn failed() -> Event {
        Event::SocketFailed { reason: "connection refused".into() }
    }

    /// A machine whose delays are the top of each window, and a timeline watching it.
    struct Rig {
        machine: ConnectionMachine,
        timeline: BackoffTimeline,
        now: u64,
    }

    impl Rig {
        fn new() -> Rig {
            let machine = ConnectionMachine::default();
            let timeline = BackoffTimeline::new(machine.backoff());
            Rig { machine, timeline, now: 50_000 }
        }
        fn feed(&mut self, event: Event) {
            let t = self.machine.handle(event, self.now, 1.0);
            self.timeline.observe(&t, self.now);
        }
        /// Waits out the scheduled retry and fires it.
        fn fire(&mut self) {
            self.now = self.machine.retry_at_ms().expect("a retry is scheduled");
            self.feed(Event::RetryTimerFired);
        }
    }

    #[test]
    fn an_outage_draws_each_attempt_with_a_growing_delay_inside_its_window() {
        let mut rig = Rig::new();
        rig.feed(Event::ConnectRequested);
        rig.feed(Event::HandshakeCompleted);
        assert!(rig.timeline.is_empty(), "nothing to draw before a loss");
        rig.feed(failed());
        for _ in 0..3 {
            rig.fire();
            rig.now += 20;
            rig.feed(failed());
        }
        let got: Vec<_> = rig.timeline.attempts().iter().map(|a| (a.n, a.waited_from_ms, a.delay_ms)).collect();
        assert_eq!(got, [(1, 0, 1_000), (2, 1_020, 2_000), (3, 3_040, 4_000), (4, 7_060, 8_000)]);
        for a in rig.timeline.attempts() {
            assert!(a.window_ms.0 <= a.delay_ms && a.delay_ms <= a.window_ms.1, "{a:?}");
        }
        let outcomes: Vec<_> = rig.timeline.attempts().iter().map(|a| a.outcome).collect();
        assert_eq!(outcomes, [Outcome::Failed, Outcome::Failed, Outcome::Failed, Outcome::Waiting]);
        assert_eq!(rig.timeline.attempts()[1].tried_ms, Some(3_020));
        assert!(rig.timeline.is_running());
        assert_eq!(rig.timeline.span_ms(rig.now), 7_060 + 8_000);
    }

    #[test]
    fn a_welcome_ends_the_episode_and_keeps_it_drawn() {
        let mut rig = Rig::new();
        rig.feed(Event::ConnectRequested);
        rig.feed(failed());
        rig.fire();
        rig.now += 30;
        rig.feed(Event::HandshakeCompleted);
        let last = rig.timeline.attempts().last().copied().expect("an attempt");
        assert_eq!((last.n, last.outcome, last.tried_ms), (1, Outcome::Connected, Some(1_000)));
        assert!(!rig.timeline.is_running());
        assert_eq!(rig.timeline.ended_ms(), Some(1_030));
        assert_eq!(rig.timeline.elapsed_ms(rig.now + 60_000), 1_030, "time stops at the end");
        // The next loss starts a fresh timeline at t = 0.
        rig.now += 5_000;
        rig.feed(failed());
        let got: Vec<_> = rig.timeline.attempts().iter().map(|a| (a.n, a.waited_from_ms)).collect();
        assert_eq!(got, [(1, 0)]);
        assert!(rig.timeline.is_running());
    }

    #[test]
    fn a_disconnect_stops_the_waiting_attempt() {
        let mut rig = Rig::new();
        rig.feed(Event::ConnectRequested);
        rig.feed(failed());
        rig.now += 200;
        rig.feed(Event::DisconnectRequested);
        assert_eq!(rig.timeline.attempts()[0].outcome, Outcome::Stopped);
        assert_eq!(rig.timeline.ended_ms(), Some(200));
    }

    #[test]
    fn connect_now_marks_the_attempt_tried_before_it_was_due() {
        let mut rig = Rig::new();
        rig.feed(Event::ConnectRequested);
        rig.feed(failed());
        rig.now += 300;
        rig.feed(Event::ConnectRequested);
        let a = rig.timeline.attempts()[0];
        assert_eq!((a.tried_ms, a.due_ms(), a.outcome), (Some(300), 1_000, Outcome::Trying));
    }

    #[test]
    fn axis_marks_are_round_and_few() {
        assert_eq!(axis_marks_ms(0), [0]);
        assert_eq!(axis_marks_ms(3_500), [0, 1_000, 2_000, 3_000]);
        assert_eq!(axis_marks_ms(15_000), [0, 5_000, 10_000, 15_000]);
        assert!(axis_marks_ms(200_000).len() <= 7);
    }
}
