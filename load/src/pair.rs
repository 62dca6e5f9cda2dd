//! One sender and one recipient device, driven by one task: the unit of `throughput`,
//! `chaos` and `relay-baseline`.
//!
//! The driver is the client library's ([`bluetick_client::pair`], the same one the lab's
//! load run uses); this file plans it for the load generator (a target rate, the window,
//! the body, the shared backoff after a lost connection), dials over [`Dialer`]'s spread
//! of loopback source addresses, and meters it into the progress counters and the
//! latency histograms of the report.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bluetick_client::pair::{Dial, Meter, Pair, Timetable};
use bluetick_client::{ClientError, Connection, DeviceState};
use bluetick_shared::frames::Registration;
use bluetick_shared::ledger::Ledger;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::net::{Dialer, backoff};
use crate::report::Latency;

/// Frames taken from one socket before acknowledging them together (the client
/// library's own burst size, so every scenario acks alike).
pub const BATCH: usize = bluetick_client::ABSORB_BATCH;
const HEARTBEAT: Duration = Duration::from_secs(5);

/// How every pair of a run behaves.
#[derive(Debug, Clone)]
pub struct PairPlan {
    pub dialer: Dialer,
    /// How long sending lasts, from when every pair is connected.
    pub duration: Duration,
    /// Messages per second for this pair; `None` for as fast as the window allows.
    pub rate: Option<f64>,
    /// Messages sent but not yet DELIVERED, at most.
    pub window: usize,
    pub body: String,
    pub drain_timeout: Duration,
}

/// Live counts for the progress line.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub delivered: AtomicU64,
    pub reconnects: AtomicU64,
    /// Pairs connected and waiting for the start.
    pub ready: AtomicU64,
}

/// What one pair measured.
#[derive(Debug, Default)]
pub struct PairOutcome {
    pub ledger: Ledger,
    /// Send → the recipient has it.
    pub delivery: Latency,
    /// Send → DELIVERED at the sender.
    pub ticked: Latency,
    /// DELIVERED ticks seen before the sending time ended.
    pub ticked_in_time: u64,
    pub reconnects: u64,
}

impl Dial for Dialer {
    async fn dial(&self, side: usize, state: DeviceState) -> Result<Connection, ClientError> {
        self.connect(side, state).await
    }
}

/// One pair's share of the run's figures.
struct PairMeter<'a> {
    counters: &'a Counters,
    delivery: Latency,
    ticked: Latency,
    ticked_in_time: u64,
}

impl Meter for PairMeter<'_> {
    fn sent(&mut self) {
        self.counters.sent.fetch_add(1, Ordering::Relaxed);
    }

    fn shown(&mut self, latency: Duration, again: bool) {
        if !again {
            self.delivery.record(latency);
        }
    }

    fn ticked(&mut self, latency: Duration, in_time: bool) {
        self.ticked.record(latency);
        self.ticked_in_time += in_time as u64;
        self.counters.delivered.fetch_add(1, Ordering::Relaxed);
    }

    fn reconnected(&mut self) {
        self.counters.reconnects.fetch_add(1, Ordering::Relaxed);
    }
}

/// Runs one pair to the end of its drain and returns what it measured.
pub async fn run_pair(
    index: usize,
    sender: Registration,
    recipient: Registration,
    plan: Arc<PairPlan>,
    counters: Arc<Counters>,
    mut start: watch::Receiver<Option<Instant>>,
) -> PairOutcome {
    let driver = bluetick_client::pair::PairPlan {
        interval: plan.rate.map(|rate| Duration::from_secs_f64(1.0 / rate.max(0.001))),
        window: plan.window,
        heartbeat: HEARTBEAT,
        body: plan.body.clone(),
        reconnect_delay: |attempt| Duration::from_millis(backoff().delay_ms(attempt, fastrand::f64())),
    };
    let mut pair = Pair::new(index, DeviceState::new(sender), DeviceState::new(recipient));
    // Connect both sides before the clock starts (bounded by the drain timeout); a pair
    // that cannot keeps retrying once the run starts.
    let _ = pair.connect(&plan.dialer, &driver, Instant::now() + plan.drain_timeout).await;
    counters.ready.fetch_add(1, Ordering::Relaxed);
    let start = match start.wait_for(|s| s.is_some()).await {
        Ok(start) => start.expect("waited for it"),
        Err(_) => Instant::now(),
    };
    let send_end = start + plan.duration;
    // Spread the pairs' first sends over one interval.
    let first_send = start + driver.interval.map_or(Duration::ZERO, |i| i.mul_f64(fastrand::f64()));
    let times = Timetable { first_send, send_end, drain_end: send_end + plan.drain_timeout };
    let mut meter =
        PairMeter { counters: &counters, delivery: Latency::default(), ticked: Latency::default(), ticked_in_time: 0 };
    let (outcome, _, _) = pair.run(&plan.dialer, &driver, times, &mut meter, std::future::pending()).await;
    PairOutcome {
        ledger: outcome.ledger,
        delivery: meter.delivery,
        ticked: meter.ticked,
        ticked_in_time: meter.ticked_in_time,
        reconnects: outcome.reconnects,
    }
}

/// Sums the pairs' outcomes.
pub fn merge(outcomes: &[PairOutcome]) -> PairOutcome {
    let mut total = PairOutcome::default();
    for o in outcomes {
        total.ledger.merge(&o.ledger);
        total.delivery.merge(&o.delivery);
        total.ticked.merge(&o.ticked);
        total.ticked_in_time += o.ticked_in_time;
        total.reconnects += o.reconnects;
    }
    total
}
