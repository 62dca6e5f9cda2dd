//! The lab's load run, as JSON: what the page asks for (`POST /api/lab/load`), the caps
//! that bound it, and the live view it polls (`GET /api/lab/load`): per-second samples,
//! the run's ledger and its state.
//!
//! A load run is N sender/recipient pairs of real devices in the student's lab, sending
//! 1:1 messages through the server's normal gateway. Throughput counts a message when its
//! sender sees DELIVERED, so every figure is end to end, durable and exactly once.

use serde::{Deserialize, Serialize};

use crate::ledger::Ledger;

/// The lesson's headline: 5 billion messages a day over 86,400 seconds.
pub const WHATSAPP_MSGS_PER_SEC: u64 = 58_000;

/// The highest total send rate a run may ask for (messages per second, all pairs).
pub const MAX_LOAD_RATE: u32 = 100_000;

/// `POST /api/lab/load`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadRequest {
    /// Sender/recipient pairs, each two real devices on their own WebSockets.
    pub pairs: u32,
    /// How long the pairs send.
    pub seconds: u32,
    /// Messages per second over all pairs; absent: as fast as each pair's window of
    /// not-yet-delivered messages allows.
    #[serde(default)]
    pub rate: Option<u32>,
}

/// How big a run this server allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadCaps {
    pub max_pairs: u32,
    pub max_seconds: u32,
    pub max_rate: u32,
}

impl LoadRequest {
    /// Why the request is outside `caps`, as a sentence for the student.
    pub fn refusal(&self, caps: &LoadCaps) -> Option<String> {
        if self.pairs == 0 || self.pairs > caps.max_pairs {
            return Some(format!(
                "pairs must be 1 to {}: this server keeps runs small so a classroom cannot overload it",
                caps.max_pairs
            ));
        }
        if self.seconds == 0 || self.seconds > caps.max_seconds {
            return Some(format!("seconds must be 1 to {}", caps.max_seconds));
        }
        if let Some(rate) = self.rate
            && (rate == 0 || rate > caps.max_rate)
        {
            return Some(format!("rate must be 1 to {} messages per second, or left out", caps.max_rate));
        }
        None
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LoadState {
    /// Waiting in the server's line for its turn: one run goes at a time, first come,
    /// first served, so every run's figures are the server's alone.
    Queued,
    /// Registering devices and opening their WebSockets.
    Connecting,
    /// The pairs are sending.
    Running,
    /// Sending is over; waiting for the last DELIVERED ticks.
    Draining,
    Finished,
    /// Stopped early; the run's `reason` says why.
    Failed,
}

impl LoadState {
    pub fn label(self) -> &'static str {
        match self {
            LoadState::Queued => "queued",
            LoadState::Connecting => "connecting",
            LoadState::Running => "running",
            LoadState::Draining => "draining",
            LoadState::Finished => "finished",
            LoadState::Failed => "failed",
        }
    }

    pub fn is_over(self) -> bool {
        matches!(self, LoadState::Finished | LoadState::Failed)
    }
}

/// One second of a run.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LoadSample {
    /// Seconds since sending started: this sample covers `[second, second + 1)`.
    pub second: u32,
    /// Messages whose sender saw DELIVERED in that second.
    pub delivered: u64,
    /// Send → DELIVERED latency of those messages (milliseconds; 0 if there were none).
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// A run as the page sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadRun {
    pub request: LoadRequest,
    pub state: LoadState,
    /// Why a failed run stopped.
    pub reason: Option<String>,
    /// One per whole second since sending started, oldest first.
    pub samples: Vec<LoadSample>,
    /// What became of every message so far; `lost` and the other final counts are filled
    /// in once the run is over.
    pub ledger: Ledger,
    /// Send → DELIVERED over the whole run so far (milliseconds).
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Milliseconds since sending started (0 while connecting).
    pub elapsed_ms: u64,
}

impl LoadRun {
    /// The busiest second so far.
    pub fn peak_per_sec(&self) -> u64 {
        self.samples.iter().map(|s| s.delivered).max().unwrap_or(0)
    }

    /// DELIVERED ticks per second over the sending time (the drain not counted as time).
    pub fn mean_per_sec(&self) -> f64 {
        let seconds = (self.elapsed_ms as f64 / 1000.0).clamp(0.001, self.request.seconds as f64);
        self.ledger.delivered_ticks as f64 / seconds
    }
}

/// `GET /api/lab/load`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadView {
    pub caps: LoadCaps,
    /// Whether another lab's run holds the server (one run at a time).
    pub busy_elsewhere: bool,
    /// This lab's place in the line of runs waiting for the server (1: next), while its
    /// run is queued.
    #[serde(default)]
    pub queue_position: Option<u32>,
    /// How many runs are waiting in the line, of every lab.
    #[serde(default)]
    pub queued: u32,
    /// CPU cores the server can use: the page's comparison with 58K says what one box
    /// this is.
    #[serde(default)]
    pub cores: u32,
    /// This lab's current or latest run.
    pub run: Option<LoadRun>,
}

#[cfg(test)]
mod tests {
    use super::*;

    const CAPS: LoadCaps = LoadCaps { max_pairs: 50, max_seconds: 20, max_rate: MAX_LOAD_RATE };

    #[test]
    fn requests_inside_the_caps_pass() {
        for (pairs, seconds, rate) in [(1, 1, None), (50, 20, None), (2, 2, Some(100)), (50, 20, Some(MAX_LOAD_RATE))] {
            assert_eq!(LoadRequest { pairs, seconds, rate }.refusal(&CAPS), None);
        }
    }

    #[test]
    fn requests_outside_the_caps_say_which_limit() {
        let refused = |pairs, seconds, rate| LoadRequest { pairs, seconds, rate }.refusal(&CAPS).unwrap();
        assert!(refused(0, 2, None).starts_with("pairs must be 1 to 50"));
        assert!(refused(51, 2, None).starts_with("pairs must be 1 to 50"));
        assert_eq!(refused(2, 0, None), "seconds must be 1 to 20");
        assert_eq!(refused(2, 21, None), "seconds must be 1 to 20");
        assert!(refused(2, 2, Some(0)).starts_with("rate must be 1 to 100000"));
    }

    #[test]
    fn the_wire_form_is_snake_case_and_rate_is_optional() {
        let request: LoadRequest = serde_json::from_str(r#"{"pairs":2,"seconds":3}"#).unwrap();
        assert_eq!(request, LoadRequest { pairs: 2, seconds: 3, rate: None });
        assert!(serde_json::from_str::<LoadRequest>(r#"{"pairs":2,"seconds":3,"size":1}"#).is_err());
        assert_eq!(serde_json::to_string(&LoadState::Draining).unwrap(), r#""draining""#);
    }

    #[test]
    fn mean_counts_sending_time_only() {
        let run = LoadRun {
            request: LoadRequest { pairs: 1, seconds: 2, rate: None },
            state: LoadState::Finished,
            reason: None,
            samples: vec![],
            ledger: Ledger { delivered_ticks: 1000, ..Ledger::default() },
            p50_ms: 0.0,
            p99_ms: 0.0,
            elapsed_ms: 2500,
        };
        assert_eq!(run.mean_per_sec(), 500.0);
    }
}
