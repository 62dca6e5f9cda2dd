//! What one load run has measured so far: its state, a per-second throughput and latency
//! sample (hdrhistogram), the latency of the whole run, and the ledger of every message.
//! Pairs write into it as ticks arrive; the page's poll reads a [`LoadRun`] snapshot.

use std::sync::Mutex;
use std::time::Duration;

use bluetick_shared::lab_load::{LoadRequest, LoadRun, LoadSample, LoadState};
use bluetick_shared::ledger::Ledger;
use hdrhistogram::Histogram;
use tokio::time::Instant;

/// Send → DELIVERED in microseconds, 1 µs to 10 minutes, 3 significant digits.
fn latency_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("valid histogram bounds")
}

fn ms(histogram: &Histogram<u64>, quantile: f64) -> f64 {
    if histogram.is_empty() { 0.0 } else { histogram.value_at_quantile(quantile) as f64 / 1000.0 }
}

pub struct Meter {
    request: LoadRequest,
    inner: Mutex<Inner>,
}

struct Inner {
    state: LoadState,
    reason: Option<String>,
    /// When sending started.
    started: Option<Instant>,
    /// When the run ended, so a finished run's elapsed time stops growing.
    ended: Option<Instant>,
    /// DELIVERED ticks of the second in progress, and their latencies.
    this_second: (u64, Histogram<u64>),
    total: Histogram<u64>,
    samples: Vec<LoadSample>,
    ledger: Ledger,
}

impl Meter {
    /// A run about to start.
    pub fn new(request: LoadRequest) -> Meter {
        Meter::in_state(request, LoadState::Connecting)
    }

    /// A run waiting in the line.
    pub fn queued(request: LoadRequest) -> Meter {
        Meter::in_state(request, LoadState::Queued)
    }

    fn in_state(request: LoadRequest, state: LoadState) -> Meter {
        Meter {
            request,
            inner: Mutex::new(Inner {
                state,
                reason: None,
                started: None,
                ended: None,
                this_second: (0, latency_histogram()),
                total: latency_histogram(),
                samples: Vec::new(),
                ledger: Ledger::default(),
            }),
        }
    }

    fn with<T>(&self, f: impl FnOnce(&mut Inner) -> T) -> T {
        f(&mut self.inner.lock().unwrap())
    }

    pub fn start_sending(&self, at: Instant) {
        self.with(|m| {
            m.started = Some(at);
            m.state = LoadState::Running;
        });
    }

    pub fn set_state(&self, state: LoadState) {
        self.with(|m| m.state = state);
    }

    /// Ends the run: finished, or failed for `reason`.
    pub fn end(&self, reason: Option<String>) {
        self.with(|m| {
            m.state = if reason.is_some() { LoadState::Failed } else { LoadState::Finished };
            m.reason = reason;
            m.ended = Some(Instant::now());
        });
    }

    pub fn state(&self) -> LoadState {
        self.with(|m| m.state)
    }

    /// Closes the second in progress as sample number `second`.
    pub fn roll(&self, second: u32) {
        self.with(|m| {
            let (delivered, histogram) = std::mem::replace(&mut m.this_second, (0, latency_histogram()));
            m.samples.push(LoadSample {
                second,
                delivered,
                p50_ms: ms(&histogram, 0.50),
                p99_ms: ms(&histogram, 0.99),
            });
        });
    }

    /// Adds what only a pair that waited its drain out can count: messages committed but
    /// never shown (lost), never confirmed, shown without a tick, shown from nowhere, and
    /// the redeliveries the client library dropped.
    pub fn settle(&self, pair: &Ledger) {
        self.with(|m| {
            m.ledger.lost += pair.lost;
            m.ledger.unconfirmed += pair.unconfirmed;
            m.ledger.undelivered_ticks += pair.undelivered_ticks;
            m.ledger.unexpected += pair.unexpected;
            m.ledger.redeliveries += pair.redeliveries;
        });
    }

    pub fn snapshot(&self) -> LoadRun {
        self.with(|m| LoadRun {
            request: self.request,
            state: m.state,
            reason: m.reason.clone(),
            samples: m.samples.clone(),
            ledger: m.ledger,
            p50_ms: ms(&m.total, 0.50),
            p99_ms: ms(&m.total, 0.99),
            elapsed_ms: m.started.map_or(0, |started| {
                let until = m.ended.unwrap_or_else(Instant::now);
                until.saturating_duration_since(started).as_millis() as u64
            }),
        })
    }
}

/// The pairs of a run all write into its one meter as their moments happen.
impl bluetick_client::pair::Meter for &Meter {
    fn sent(&mut self) {
        self.with(|m| m.ledger.sent += 1);
    }

    fn committed(&mut self) {
        self.with(|m| m.ledger.committed += 1);
    }

    fn shown(&mut self, _latency: Duration, again: bool) {
        self.with(|m| match again {
            false => m.ledger.delivered += 1,
            true => m.ledger.duplicated += 1,
        });
    }

    /// The run's throughput and latency count DELIVERED at the sender, drain included.
    fn ticked(&mut self, latency: Duration, _in_time: bool) {
        let micros = (latency.as_micros() as u64).max(1);
        self.with(|m| {
            m.ledger.delivered_ticks += 1;
            m.this_second.0 += 1;
            m.this_second.1.saturating_record(micros);
            m.total.saturating_record(micros);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluetick_client::pair::Meter as _;

    #[test]
    fn a_second_counts_its_own_ticks_and_the_total_keeps_them_all() {
        let meter = Meter::new(LoadRequest { pairs: 1, seconds: 2, rate: None });
        meter.start_sending(Instant::now());
        let mut pairs = &meter;
        for _ in 0..3 {
            pairs.sent();
            pairs.committed();
            pairs.shown(Duration::from_millis(1), false);
        }
        pairs.ticked(Duration::from_millis(2), true);
        pairs.ticked(Duration::from_millis(4), true);
        meter.roll(0);
        pairs.ticked(Duration::from_millis(8), true);
        pairs.shown(Duration::from_millis(1), true);
        meter.roll(1);
        meter.end(None);
        let run = meter.snapshot();
        assert_eq!(run.state, LoadState::Finished);
        assert_eq!(run.samples.iter().map(|s| (s.second, s.delivered)).collect::<Vec<_>>(), [(0, 2), (1, 1)]);
        assert!((run.samples[1].p99_ms - 8.0).abs() < 0.01);
        assert_eq!(
            run.ledger,
            Ledger {
                sent: 3,
                committed: 3,
                delivered: 3,
                delivered_ticks: 3,
                lost: 0,
                duplicated: 1,
                ..Ledger::default()
            }
        );
        assert!((run.p99_ms - 8.0).abs() < 0.01);
    }

    #[test]
    fn an_empty_second_reads_as_zero_not_a_panic() {
        let meter = Meter::new(LoadRequest { pairs: 1, seconds: 1, rate: None });
        meter.roll(0);
        assert_eq!(meter.snapshot().samples, [LoadSample { second: 0, delivered: 0, p50_ms: 0.0, p99_ms: 0.0 }]);
    }
}
