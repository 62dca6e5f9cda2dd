//! `mqtt-baseline`: the shape of `throughput` (N pairs, a window per pair, T seconds, or
//! a target total rate) against Eclipse Mosquitto with persistence on, through MQTT 3.1.1
//! QoS 2 ("exactly once") with persistent sessions. Each pair is a publisher connection
//! and a subscriber connection on a topic of their own (see [`crate::mqtt::pair`]).
//!
//! The figures line up with bluetick's: `msgs_per_s` counts messages the subscribers
//! received before sending ended; `send_to_subscriber` is the analogue of
//! `send_to_recipient`, and `send_to_pubcomp` of SENT (the broker has the message). MQTT
//! has no receipt from the subscriber back to the publisher, so there is no analogue of
//! DELIVERED, and the window counts PUBLISHes without PUBCOMP (bluetick's counts messages
//! without DELIVERED, a longer loop). `server_cpu_us_per_msg` is the broker's CPU time
//! while sending ÷ `msgs_per_s`'s messages, as `throughput` reports the server's.
//!
//! Mosquitto's persistence is not bluetick's: it saves its in-memory state to its file
//! every `autosave_interval` seconds (30 minutes unless `--broker-conf` says otherwise)
//! and on a clean exit, with no fsync per message; bluetick commits every send and ack
//! (`synchronous = FULL`) before answering. The report's notes say whether the broker
//! wrote its file during the run.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::cpu::{self, CpuWindow};
use crate::mqtt::broker::{Broker, BrokerConfig, find_mosquitto};
use crate::mqtt::pair::{HEADER_BYTES, MqttPlan, merge, run_pair};
use crate::pair::Counters;
use crate::report::{Report, progress};
use crate::scenarios::pairs_run;
use crate::scenarios::throughput::{LoadArgs, parameters};
use crate::target::Error;

#[derive(Debug, Clone, clap::Args)]
pub struct MqttArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// The mosquitto executable; by default `mosquitto` on PATH, else /usr/sbin/mosquitto.
    #[arg(long)]
    pub mosquitto: Option<PathBuf>,
    /// A line added to the broker's config, e.g. `--broker-conf 'autosave_interval 1'`
    /// (repeatable).
    #[arg(long = "broker-conf")]
    pub broker_conf: Vec<String>,
}

pub async fn run(args: &MqttArgs, visible: bool) -> Result<Report, Error> {
    let load = &args.load;
    if load.window >= u16::MAX as usize {
        return Err(format!("--window {} is too large: MQTT has 65,535 packet ids", load.window));
    }
    let executable = match &args.mosquitto {
        Some(path) => path.clone(),
        None => find_mosquitto()?,
    };
    let config = BrokerConfig {
        // Far beyond one pair's window, so the broker never holds a subscriber back…
        max_inflight: (4 * load.window).max(1000),
        // …and never drops a message queued for one (a 10 s run is well under this).
        max_queued: 1_000_000,
        extra: args.broker_conf.clone(),
    };
    let broker = Broker::start(executable, &config).await?;
    let plan = Arc::new(MqttPlan {
        broker: broker.addr,
        sources: load.sources,
        duration: Duration::from_secs_f64(load.duration),
        rate: load.rate.map(|r| r / load.pairs.max(1) as f64),
        window: load.window.max(1),
        body_bytes: load.body_bytes,
        drain_timeout: Duration::from_secs_f64(load.drain_timeout),
        epoch: Instant::now(),
    });

    let counters = Arc::new(Counters::default());
    let (start_tx, start_rx) = watch::channel(None);
    let mut tasks = tokio::task::JoinSet::new();
    for index in 0..load.pairs {
        tasks.spawn(run_pair(index, plan.clone(), counters.clone(), start_rx.clone()));
    }
    let bar = progress(visible);
    pairs_run::wait_connected(&tasks, &counters.ready, Instant::now() + plan.drain_timeout, &bar).await;
    let start = Instant::now();
    let cpu_window = CpuWindow::open(broker.pid(), start + plan.duration);
    let _ = start_tx.send(Some(start));
    let outcomes = pairs_run::collect(&mut tasks, start + plan.duration, &bar, |phase| {
        format!(
            "{phase}: published {} received {}",
            counters.sent.load(Ordering::Relaxed),
            counters.delivered.load(Ordering::Relaxed),
        )
    })
    .await;
    let cpu_used = cpu_window.used().await;
    let persisted = std::fs::metadata(broker.persistence_file()).map(|m| m.len()).ok();
    let executable = broker.executable.clone();
    let broker_config = broker.config.clone();
    broker.stop();

    let (outcome, failures) = merge(outcomes);
    let seconds = plan.duration.as_secs_f64();
    let mut report = Report::new("mqtt-baseline");
    parameters(&mut report, load);
    report.parameter("broker", executable.display().to_string());
    report.parameter("broker_conf", broker_config.lines().filter(|l| !l.starts_with('#')).collect::<Vec<_>>());
    report.figure("msgs_per_s", outcome.received_in_time as f64 / seconds, "msgs/s end-to-end (at the subscriber)");
    report.figure("pubcomp_per_s", outcome.completed_in_time as f64 / seconds, "QoS 2 publishes completed/s");
    report.latency("send_to_subscriber", &outcome.receive);
    report.latency("send_to_pubcomp", &outcome.pubcomp);
    cpu::describe(&mut report, "", cpu_used, outcome.received_in_time, seconds);
    report.figure("out_of_order", outcome.out_of_order, "received after a later message of its pair");
    report.ledger = outcome.ledger;
    if outcome.out_of_order > 0 {
        report.fail(format!("{} messages arrived out of order", outcome.out_of_order));
    }
    for failure in failures {
        report.fail(failure);
    }
    report.note("committed = PUBCOMP at the publisher; MQTT has no DELIVERED receipt, so delivered-ticks stay 0");
    report.note(format!("payload: {HEADER_BYTES}-byte sequence + send time, then {} body bytes", load.body_bytes));
    report.note(match persisted {
        Some(bytes) => format!("mosquitto wrote its persistence file during the run ({bytes} bytes)"),
        None => "mosquitto did not write its persistence file during the run (it saves every autosave_interval \
                 and on exit; no fsync per message)"
            .into(),
    });
    Ok(report)
}
