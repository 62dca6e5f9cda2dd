//! The guided path: "Start here" walks a student through the labs in the lesson's order,
//! one step at a time. A step is done when the real system shows it happened (the
//! student's socket reached CONNECTED, a prediction was revealed, a stepped message got
//! DELIVERED), never when a timer runs out. The student may skip a step or leave the
//! path at any time and explore freely; the page keeps where they were.

use crate::connection::ConnectionState;

/// One stop of the path, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuideStep {
    Connect,
    Reconnect,
    OfflineOrder,
    RetryStorm,
    StepOneHop,
    Replay,
    FanOut,
    Presence,
    Secrecy,
    LoadRun,
    Quiz,
}

pub const STEPS: [GuideStep; 11] = [
    GuideStep::Connect,
    GuideStep::Reconnect,
    GuideStep::OfflineOrder,
    GuideStep::RetryStorm,
    GuideStep::StepOneHop,
    GuideStep::Replay,
    GuideStep::FanOut,
    GuideStep::Presence,
    GuideStep::Secrecy,
    GuideStep::LoadRun,
    GuideStep::Quiz,
];

/// The path before the fan-out, presence and load steps were added: a saved position
/// (`on,at`) counted along these.
const STEPS_V1: [GuideStep; 8] = [
    GuideStep::Connect,
    GuideStep::Reconnect,
    GuideStep::OfflineOrder,
    GuideStep::RetryStorm,
    GuideStep::StepOneHop,
    GuideStep::Replay,
    GuideStep::Secrecy,
    GuideStep::Quiz,
];

/// What the page has seen happen, as far as the path cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Moments {
    /// The connection lab's own socket, now.
    pub you: ConnectionState,
    /// It came back to CONNECTED after RECONNECTING.
    pub reconnected: bool,
    pub offline_revealed: bool,
    pub storm_revealed: bool,
    /// A message reached DELIVERED one hop at a time.
    pub stepped: bool,
    pub replayed: bool,
    /// A group message reached every member: delivered, or held for those offline.
    pub fanned_out: bool,
    /// Bob's presence expired while his heartbeats were paused.
    pub presence_expired: bool,
    pub secrecy_revealed: bool,
    /// A load run finished.
    pub load_done: bool,
    pub quiz_done: bool,
}

impl Default for Moments {
    fn default() -> Moments {
        Moments {
            you: ConnectionState::Disconnected,
            reconnected: false,
            offline_revealed: false,
            storm_revealed: false,
            stepped: false,
            replayed: false,
            fanned_out: false,
            presence_expired: false,
            secrecy_revealed: false,
            load_done: false,
            quiz_done: false,
        }
    }
}

impl GuideStep {
    pub fn title(self) -> &'static str {
        match self {
            GuideStep::Connect => "Open a WebSocket",
            GuideStep::Reconnect => "Lose it and watch the backoff",
            GuideStep::OfflineOrder => "Queue messages for an offline phone",
            GuideStep::RetryStorm => "Resend one message 20 times",
            GuideStep::StepOneHop => "Walk one message through the pipeline",
            GuideStep::Replay => "Replay the run",
            GuideStep::FanOut => "Fan one message out to a group",
            GuideStep::Presence => "Let a phone go silent",
            GuideStep::Secrecy => "Steal a session key",
            GuideStep::LoadRun => "Load the server",
            GuideStep::Quiz => "Check yourself",
        }
    }

    /// The step's name in the saved form.
    fn key(self) -> &'static str {
        match self {
            GuideStep::Connect => "connect",
            GuideStep::Reconnect => "reconnect",
            GuideStep::OfflineOrder => "offline-order",
            GuideStep::RetryStorm => "retry-storm",
            GuideStep::StepOneHop => "step-one-hop",
            GuideStep::Replay => "replay",
            GuideStep::FanOut => "fan-out",
            GuideStep::Presence => "presence",
            GuideStep::Secrecy => "secrecy",
            GuideStep::LoadRun => "load-run",
            GuideStep::Quiz => "quiz",
        }
    }

    /// The section the step happens in (its id on the page).
    pub fn section(self) -> &'static str {
        match self {
            GuideStep::Connect | GuideStep::Reconnect => "state-machine",
            GuideStep::OfflineOrder => "offline-queue",
            GuideStep::RetryStorm => "retry-storm",
            GuideStep::StepOneHop | GuideStep::Replay => "tick-pipeline",
            GuideStep::FanOut => "fan-out",
            GuideStep::Presence => "presence",
            GuideStep::Secrecy => "encryption",
            GuideStep::LoadRun => "scale",
            GuideStep::Quiz => "quiz",
        }
    }

    fn done(self, seen: &Moments) -> bool {
        match self {
            GuideStep::Connect => seen.you == ConnectionState::Connected,
            GuideStep::Reconnect => seen.reconnected,
            GuideStep::OfflineOrder => seen.offline_revealed,
            GuideStep::RetryStorm => seen.storm_revealed,
            GuideStep::StepOneHop => seen.stepped,
            GuideStep::Replay => seen.replayed,
            GuideStep::FanOut => seen.fanned_out,
            GuideStep::Presence => seen.presence_expired,
            GuideStep::Secrecy => seen.secrecy_revealed,
            GuideStep::LoadRun => seen.load_done,
            GuideStep::Quiz => seen.quiz_done,
        }
    }

    /// What to do, and what is happening right now, in words.
    pub fn narration(self, seen: &Moments) -> String {
        match self {
            GuideStep::Connect => match seen.you {
                ConnectionState::Disconnected => {
                    "Your phone starts DISCONNECTED. Press Connect in the state machine below.".into()
                }
                ConnectionState::Connecting => {
                    "You are CONNECTING: the browser is opening a TCP connection, upgrading \
                                                it to a WebSocket and sending hello…"
                        .into()
                }
                ConnectionState::Connected => "CONNECTED: the welcome frame came back.".into(),
                ConnectionState::Reconnecting => "RECONNECTING: press Connect to try again now.".into(),
            },
            GuideStep::Reconnect => match seen.you {
                ConnectionState::Reconnecting => "RECONNECTING: each attempt waits longer than the last, with jitter, \
                                                  so a million phones do not all return in the same instant. Watch \
                                                  the backoff timeline grow."
                    .into(),
                _ => "Press Drop network, or start an outage, and watch the phone find its way back.".into(),
            },
            GuideStep::OfflineOrder => "Take Bob offline, simulate messages, predict the order they arrive in, \
                                        then bring him back."
                .into(),
            GuideStep::RetryStorm => {
                "Predict how many rows 21 sends of the same id leave, then start the retry storm.".into()
            }
            GuideStep::StepOneHop => "Choose \"One hop at a time\", send, and press Next hop until the ticks turn \
                                      DELIVERED: each press lets the real server take one step."
                .into(),
            GuideStep::Replay => {
                "Drag the replay slider or press ◀ Earlier event: the stops redraw as they were.".into()
            }
            GuideStep::FanOut => "Start a group, send to it, and watch one stored message become a delivery record \
                                  and a push per member, a batch at a time."
                .into(),
            GuideStep::Presence => "Pause Bob's heartbeats: when the server has heard nothing for a whole TTL it \
                                    closes the silent connection and Alice sees him offline, last seen then."
                .into(),
            GuideStep::Secrecy => "Predict whether a stolen session reads yesterday's message, then steal it.".into(),
            GuideStep::LoadRun => "At the top of the page, start a load run and compare this one server with \
                                   WhatsApp's 58,000 messages a second."
                .into(),
            GuideStep::Quiz => "Answer the five questions; a wrong answer links back to the lab that shows why.".into(),
        }
    }
}

/// Where a student is on the path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Guide {
    /// Following the path (false: exploring freely).
    pub on: bool,
    /// Steps done or skipped.
    pub at: usize,
}

impl Guide {
    /// The step to do now, while following the path and not at its end.
    pub fn current(&self) -> Option<GuideStep> {
        self.on.then(|| STEPS.get(self.at).copied()).flatten()
    }

    pub fn finished(&self) -> bool {
        self.at >= STEPS.len()
    }

    /// Moves past every step the page has seen happen, in order; returns whether it moved.
    pub fn update(&mut self, seen: &Moments) -> bool {
        let before = self.at;
        while let Some(step) = STEPS.get(self.at)
            && step.done(seen)
        {
            self.at += 1;
        }
        self.at != before
    }

    pub fn start(&mut self) {
        self.on = true;
        if self.finished() {
            self.at = 0;
        }
    }

    pub fn skip(&mut self) {
        self.at = (self.at + 1).min(STEPS.len());
    }

    pub fn leave(&mut self) {
        self.on = false;
    }

    /// "Step 3 of 8", or the end.
    pub fn progress(&self) -> String {
        match self.finished() {
            true => format!("All {} steps done", STEPS.len()),
            false => format!("Step {} of {}", self.at + 1, STEPS.len()),
        }
    }

    /// How the page keeps it: `on,step` with the step's section and title, so that a
    /// path that gains steps later still finds it (`on,done` at the end).
    pub fn to_saved(&self) -> String {
        match STEPS.get(self.at) {
            Some(step) => format!("{},{}", self.on as u8, step.key()),
            None => format!("{},done", self.on as u8),
        }
    }

    /// A saved guide, or a fresh one for anything unreadable. The first form, `on,at`,
    /// counted along the 8-step path and is read as the same step.
    pub fn from_saved(saved: &str) -> Guide {
        let mut parts = saved.split(',');
        let (Some(on @ ("0" | "1")), Some(at), None) = (parts.next(), parts.next(), parts.next()) else {
            return Guide::default();
        };
        let step = match at.parse::<usize>() {
            Ok(old) => match STEPS_V1.get(old) {
                Some(step) => Some(*step),
                None if old >= STEPS_V1.len() => None,
                None => return Guide::default(),
            },
            Err(_) if at == "done" => None,
            Err(_) => match STEPS.iter().find(|s| s.key() == at) {
                Some(step) => Some(*step),
                None => return Guide::default(),
            },
        };
        let at = step.and_then(|s| STEPS.iter().position(|x| *x == s)).unwrap_or(STEPS.len());
        Guide { on: on == "1", at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_advances_only_on_what_happened_and_in_order() {
        let mut guide = Guide::default();
        guide.start();
        assert_eq!(guide.current(), Some(GuideStep::Connect));
        let mut seen = Moments { you: ConnectionState::Connecting, ..Moments::default() };
        assert!(!guide.update(&seen));
        assert!(GuideStep::Connect.narration(&seen).contains("CONNECTING"));
        // A later step seen first does not count past an earlier one not yet done.
        seen.storm_revealed = true;
        assert!(!guide.update(&seen));
        seen.you = ConnectionState::Connected;
        assert!(guide.update(&seen));
        assert_eq!((guide.current(), guide.progress().as_str()), (Some(GuideStep::Reconnect), "Step 2 of 11"));
        seen.reconnected = true;
        seen.offline_revealed = true;
        guide.update(&seen);
        assert_eq!(guide.current(), Some(GuideStep::StepOneHop), "offline and storm were both done already");
    }

    #[test]
    fn a_student_may_skip_leave_and_come_back_where_they_were() {
        let mut guide = Guide::default();
        assert_eq!(guide.current(), None, "exploring freely until started");
        guide.start();
        guide.skip();
        guide.leave();
        assert_eq!(guide.current(), None);
        let saved = guide.to_saved();
        let mut back = Guide::from_saved(&saved);
        back.start();
        assert_eq!(back.current(), Some(GuideStep::Reconnect));
        for _ in 0..20 {
            back.skip();
        }
        assert!(back.finished());
        assert_eq!(back.current(), None);
        back.start();
        assert_eq!(back.current(), Some(GuideStep::Connect), "starting a finished path starts it again");
        for garbage in ["", "2,1", "1,x", "1,2,3"] {
            assert_eq!(Guide::from_saved(garbage), Guide::default(), "{garbage:?}");
        }
    }

    #[test]
    fn a_position_saved_on_the_eight_step_path_is_the_same_step_on_the_longer_one() {
        // The 8-step path's step 7 (index 6) was the stolen key; it is step 9 now.
        let back = Guide::from_saved("1,6");
        assert_eq!(back.current(), Some(GuideStep::Secrecy));
        assert_eq!(back.progress(), "Step 9 of 11");
        assert!(Guide::from_saved("0,8").finished(), "the old end is the end");
        // The new form names the step, and round-trips every one of them.
        for at in 0..=STEPS.len() {
            let guide = Guide { on: true, at };
            assert_eq!(Guide::from_saved(&guide.to_saved()), guide);
        }
        assert_eq!(Guide { on: false, at: 7 }.to_saved(), "0,presence");
    }
}
