//! `connections`: open N authenticated connections, hold them idle with heartbeats, and
//! measure what they cost the server: its resident memory from `/proc`, before and
//! while holding them, per connection.
//!
//! Clients are spread over several 127.0.0.x source addresses so that ephemeral ports
//! do not run out. Both processes raise their open-files limit to the hard limit; one
//! process cannot hold more sockets than that, so N is capped by it (and the report says
//! so).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bluetick_client::DeviceState;
use bluetick_shared::frames::{ClientFrame, Registration};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::net::{Dialer, backoff};
use crate::report::{Report, progress};
use crate::rss::{raise_fd_limit, rss_bytes};
use crate::target::{Error, Setup, TargetArgs};

/// File descriptors kept for everything that is not a client socket.
const FD_RESERVE: u64 = 256;

#[derive(Debug, Clone, clap::Args)]
pub struct ConnectionsArgs {
    /// Connections to open and hold.
    #[arg(long, default_value_t = 10_000)]
    pub count: usize,
    /// Seconds to hold them all open (longer than the presence TTL proves the heartbeats).
    #[arg(long, default_value_t = 15.0)]
    pub hold: f64,
    /// Heartbeat interval of each client (ms); the server's default TTL is 30 s.
    #[arg(long, default_value_t = 10_000)]
    pub heartbeat_ms: u64,
    /// Connections being opened at once.
    #[arg(long, default_value_t = 128)]
    pub concurrency: usize,
    /// Loopback source addresses to spread connections over (127.0.0.1 … 127.0.0.N).
    #[arg(long, default_value_t = 8)]
    pub sources: u8,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Default)]
struct Tally {
    connected: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    heartbeats: AtomicU64,
}

pub async fn run(args: &ConnectionsArgs, visible: bool) -> Result<Report, Error> {
    let mut report = Report::new("connections");
    let fd_limit = raise_fd_limit();
    let most = fd_limit.saturating_sub(FD_RESERVE) as usize;
    let count = args.count.min(most);
    if count < args.count {
        report.note(format!(
            "asked for {} connections; this process may open {fd_limit} files (its hard limit, which only a \
             privileged user can raise), so {count} were opened",
            args.count
        ));
    }
    report
        .parameter("count", count)
        .parameter("hold_s", args.hold)
        .parameter("heartbeat_ms", args.heartbeat_ms)
        .parameter("sources", args.sources);

    let mut setup = Setup::new(&args.target).await?;
    let devices = setup.register(count, "idle").await?;
    let backend = setup.start().await?;
    let pid = backend.pid();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let baseline = pid.and_then(rss_bytes);
    let own_baseline = rss_bytes(std::process::id());

    let dialer = Arc::new(Dialer::new(backend.addr(), args.sources));
    let tally = Arc::new(Tally::default());
    let stop = CancellationToken::new();
    let gate = Arc::new(Semaphore::new(args.concurrency.max(1)));
    let heartbeat = Duration::from_millis(args.heartbeat_ms.max(50));
    let mut tasks = tokio::task::JoinSet::new();
    let started = Instant::now();
    for (i, device) in devices.into_iter().enumerate() {
        let (dialer, tally, stop, gate) = (dialer.clone(), tally.clone(), stop.clone(), gate.clone());
        tasks.spawn(hold(i, device, dialer, tally, stop, gate, heartbeat));
    }

    let bar = progress(visible);
    let connect_deadline = Instant::now() + Duration::from_secs(120);
    let settled = || tally.connected.load(Ordering::Relaxed) + tally.failed.load(Ordering::Relaxed);
    while (settled() as usize) < count && Instant::now() < connect_deadline {
        bar.set_message(format!(
            "connecting: {}/{count} (failed {})",
            tally.connected.load(Ordering::Relaxed),
            tally.failed.load(Ordering::Relaxed)
        ));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let connect_seconds = started.elapsed().as_secs_f64();
    let connected = tally.connected.load(Ordering::Relaxed);

    let hold_end = Instant::now() + Duration::from_secs_f64(args.hold);
    while Instant::now() < hold_end {
        bar.set_message(format!(
            "holding {} connections: dropped {} heartbeats {}",
            connected,
            tally.dropped.load(Ordering::Relaxed),
            tally.heartbeats.load(Ordering::Relaxed)
        ));
        tokio::time::sleep(Duration::from_millis(200).min(hold_end - Instant::now())).await;
    }
    let held = pid.and_then(rss_bytes);
    let own_held = rss_bytes(std::process::id());
    let dropped = tally.dropped.load(Ordering::Relaxed);
    let heartbeats = tally.heartbeats.load(Ordering::Relaxed);
    bar.set_message("closing");
    stop.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(30), async { while tasks.join_next().await.is_some() {} }).await;
    bar.finish_and_clear();
    backend.stop().await;

    report.figure("connections_held", connected - dropped, "");
    report.figure("connect_s", connect_seconds, "s to open them all");
    report.figure("connects_per_s", connected as f64 / connect_seconds.max(1e-9), "/s");
    report.figure("heartbeats", heartbeats, "sent while holding");
    report.figure("fd_limit", fd_limit, "open files per process");
    if let (Some(base), Some(held)) = (baseline, held) {
        let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
        report.figure("server_rss_idle_mib", mib(base), "MiB before connecting");
        report.figure("server_rss_held_mib", mib(held), "MiB holding them");
        let per = held.saturating_sub(base) as f64 / connected.max(1) as f64;
        report.figure("server_bytes_per_connection", per.round(), "bytes (RSS growth ÷ connections)");
    } else {
        report.note("the server is not our child process: its RSS is not measured");
    }
    if let (Some(base), Some(held)) = (own_baseline, own_held) {
        let per = held.saturating_sub(base) as f64 / connected.max(1) as f64;
        report.figure("client_bytes_per_connection", per.round(), "bytes in the load generator");
    }
    if connected < count as u64 {
        report.fail(format!("only {connected} of {count} connections opened"));
    }
    if dropped > 0 {
        report.fail(format!("{dropped} connections dropped while idle"));
    }
    Ok(report)
}

/// One idle client: connect (a few tries), then heartbeat until told to stop.
async fn hold(
    i: usize,
    device: Registration,
    dialer: Arc<Dialer>,
    tally: Arc<Tally>,
    stop: CancellationToken,
    gate: Arc<Semaphore>,
    heartbeat: Duration,
) {
    let permit = gate.acquire_owned().await.expect("the gate never closes");
    let state = DeviceState::new(device);
    let mut conn = None;
    for attempt in 1..=6 {
        match dialer.connect(i, state.clone()).await {
            Ok(c) => {
                conn = Some(c);
                break;
            }
            Err(_) if attempt < 6 => {
                tokio::time::sleep(Duration::from_millis(backoff().delay_ms(attempt, fastrand::f64()))).await;
            }
            Err(e) => {
                if i < 3 {
                    eprintln!("connection {i} failed: {e}");
                }
            }
        }
    }
    drop(permit);
    let Some(mut conn) = conn else {
        tally.failed.fetch_add(1, Ordering::Relaxed);
        return;
    };
    tally.connected.fetch_add(1, Ordering::Relaxed);
    // Spread the heartbeats over the interval.
    let mut next = Instant::now() + heartbeat.mul_f64(fastrand::f64());
    loop {
        tokio::select! {
            _ = stop.cancelled() => {
                let _ = conn.close().await;
                return;
            }
            _ = tokio::time::sleep_until(next) => {
                if conn.send_frame(&ClientFrame::Heartbeat).await.is_err() {
                    tally.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                tally.heartbeats.fetch_add(1, Ordering::Relaxed);
                next += heartbeat;
            }
            frame = conn.recv_frame() => {
                let ok = match frame {
                    Ok(frame) => conn.absorb(frame).await.is_ok(),
                    Err(_) => false,
                };
                if !ok {
                    tally.dropped.fetch_add(1, Ordering::Relaxed);
                    return;
                }
            }
        }
    }
}
