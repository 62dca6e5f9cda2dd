//! `throughput`: N sender/recipient pairs exchange 1:1 messages for T seconds, at full
//! speed (each pair keeps a window of messages not yet DELIVERED) or at a target total
//! rate. The figure is end-to-end: a message counts once its sender has seen DELIVERED,
//! which needs the send committed (fsync), pushed, acknowledged by the recipient, that
//! ack committed and the receipt pushed back.
//!
//! At a target rate, latency counts from when a message was due to be sent, not from
//! when the sender got round to it, so a sender held back by its window or a slow server
//! shows up in the figures instead of hiding (coordinated omission).
//!
//! The server's CPU time while sending (from `/proc`, when the server is our child
//! process) ÷ the messages the rate counts is `server_cpu_us_per_msg`, the figure
//! `mqtt-baseline` reports for Mosquitto.
//!
//! [`drive`] is shared with `chaos` and `relay-baseline`.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bluetick_shared::frames::Registration;
use tokio::sync::watch;
use tokio::time::Instant;

use crate::cpu::{self, CpuWindow};
use crate::net::Dialer;
use crate::pair::{Counters, PairOutcome, PairPlan, merge, run_pair};
use crate::report::{Report, progress};
use crate::scenarios::pairs_run;
use crate::target::{Backend, Error, Setup, TargetArgs};

#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// Sender/recipient pairs (two connections each).
    #[arg(long, default_value_t = 64)]
    pub pairs: usize,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Target total messages per second; without it, as fast as the windows allow.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Messages per pair sent but not yet DELIVERED, at most.
    #[arg(long, default_value_t = 32)]
    pub window: usize,
    /// Message body size in bytes.
    #[arg(long, default_value_t = 32)]
    pub body_bytes: usize,
    /// Seconds to wait after sending for every message to be delivered and ticked.
    #[arg(long, default_value_t = 30.0)]
    pub drain_timeout: f64,
    /// Loopback source addresses to spread connections over (127.0.0.1 … 127.0.0.N).
    #[arg(long, default_value_t = 4)]
    pub sources: u8,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ThroughputArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// What [`drive`] measured, with the time sending actually took.
pub struct Driven {
    pub outcome: PairOutcome,
    pub seconds: f64,
    /// The server's CPU time while sending, when it was given (our child process).
    pub server_cpu: Option<Duration>,
}

/// Connects every pair, starts the clock when all are connected, sends for the
/// duration, drains, and merges what the pairs measured; with `server`'s process id,
/// also reads its CPU time over the sending window.
pub async fn drive(
    addr: std::net::SocketAddr,
    registrations: Vec<Registration>,
    load: &LoadArgs,
    visible: bool,
    started: Option<tokio::sync::oneshot::Sender<Instant>>,
    server: Option<u32>,
) -> Driven {
    let plan = Arc::new(PairPlan {
        dialer: Dialer::new(addr, load.sources),
        duration: Duration::from_secs_f64(load.duration),
        rate: load.rate.map(|r| r / load.pairs.max(1) as f64),
        window: load.window.max(1),
        body: "x".repeat(load.body_bytes),
        drain_timeout: Duration::from_secs_f64(load.drain_timeout),
    });
    let counters = Arc::new(Counters::default());
    let (start_tx, start_rx) = watch::channel(None);
    let mut tasks = tokio::task::JoinSet::new();
    let mut registrations = registrations.into_iter();
    for index in 0..load.pairs {
        let (Some(sender), Some(recipient)) = (registrations.next(), registrations.next()) else { break };
        tasks.spawn(run_pair(index, sender, recipient, plan.clone(), counters.clone(), start_rx.clone()));
    }
    let bar = progress(visible);
    pairs_run::wait_connected(&tasks, &counters.ready, Instant::now() + plan.drain_timeout, &bar).await;
    let start = Instant::now();
    let cpu_window = server.map(|pid| CpuWindow::open(pid, start + plan.duration));
    let _ = start_tx.send(Some(start));
    if let Some(started) = started {
        let _ = started.send(start);
    }
    let mut last = (start, 0u64);
    let outcomes = pairs_run::collect(&mut tasks, start + plan.duration, &bar, |phase| {
        let delivered = counters.delivered.load(Ordering::Relaxed);
        let now = Instant::now();
        let rate = (delivered - last.1) as f64 / (now - last.0).as_secs_f64();
        last = (now, delivered);
        format!(
            "{phase}: sent {} delivered {} ({rate:.0}/s) reconnects {}",
            counters.sent.load(Ordering::Relaxed),
            delivered,
            counters.reconnects.load(Ordering::Relaxed),
        )
    })
    .await;
    let server_cpu = match cpu_window {
        Some(window) => window.used().await,
        None => None,
    };
    Driven { outcome: merge(&outcomes), seconds: plan.duration.as_secs_f64(), server_cpu }
}

/// Adds the pairs' figures to a report, each name prefixed with `prefix`.
pub fn describe(report: &mut Report, prefix: &str, driven: &Driven) {
    let o = &driven.outcome;
    let rate = o.ticked_in_time as f64 / driven.seconds;
    report.figure(&format!("{prefix}msgs_per_s"), rate, "msgs/s end-to-end (DELIVERED at the sender)");
    report.latency(&format!("{prefix}send_to_recipient"), &o.delivery);
    report.latency(&format!("{prefix}send_to_delivered_tick"), &o.ticked);
    cpu::describe(report, prefix, driven.server_cpu, o.ticked_in_time, driven.seconds);
}

pub async fn run(args: &ThroughputArgs, visible: bool) -> Result<Report, Error> {
    let mut setup = Setup::new(&args.target).await?;
    let registrations = setup.register(2 * args.load.pairs, "pair").await?;
    let backend = setup.start().await?;
    let driven = drive(backend.addr(), registrations, &args.load, visible, None, backend.pid()).await;
    backend.stop().await;
    let mut report = Report::new("throughput");
    parameters(&mut report, &args.load);
    describe(&mut report, "", &driven);
    report.figure("reconnects", driven.outcome.reconnects, "");
    report.ledger = driven.outcome.ledger;
    Ok(report)
}

pub fn parameters(report: &mut Report, load: &LoadArgs) {
    report
        .parameter("pairs", load.pairs)
        .parameter("duration_s", load.duration)
        .parameter("rate", load.rate)
        .parameter("window", load.window)
        .parameter("body_bytes", load.body_bytes);
}

/// Used by scenarios that need the backend before driving (chaos).
pub async fn prepare(args: &ThroughputArgs) -> Result<(Backend, Vec<Registration>), Error> {
    let mut setup = Setup::new(&args.target).await?;
    let registrations = setup.register(2 * args.load.pairs, "pair").await?;
    Ok((setup.start().await?, registrations))
}
