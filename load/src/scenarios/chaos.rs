//! `chaos`: `throughput` while the backend is killed with SIGKILL and started again K
//! times on the same port and database. Clients lose their connections mid-send and
//! mid-ack, reconnect with the shared backoff, resume their inboxes and resend what was
//! not acknowledged; the ledger must still be exact: nothing committed is lost, nothing
//! is shown twice.

use std::time::Duration;

use tokio::sync::oneshot;

use crate::report::Report;
use crate::scenarios::throughput::{ThroughputArgs, describe, drive, parameters, prepare};
use crate::target::Error;

#[derive(Debug, Clone, clap::Args)]
pub struct ChaosArgs {
    #[command(flatten)]
    pub throughput: ThroughputArgs,
    /// SIGKILLs during the sending time, evenly spread.
    #[arg(long, default_value_t = 3)]
    pub kills: u32,
    /// How long the server stays dead before it is started again (ms).
    #[arg(long, default_value_t = 300)]
    pub down_ms: u64,
}

pub async fn run(args: &ChaosArgs, visible: bool) -> Result<Report, Error> {
    if args.throughput.target.url.is_some() {
        return Err("chaos kills the server, so it must start its own: drop --url".into());
    }
    let (mut backend, registrations) = prepare(&args.throughput).await?;
    let load = args.throughput.load.clone();
    let (started_tx, started_rx) = oneshot::channel();
    let addr = backend.addr();
    let driving = tokio::spawn(async move { drive(addr, registrations, &load, visible, Some(started_tx), None).await });

    let mut kills = 0;
    let mut restart_failures = Vec::new();
    if let Ok(start) = started_rx.await {
        let duration = Duration::from_secs_f64(args.throughput.load.duration);
        let server = backend.child().expect("chaos runs its own server");
        for k in 1..=args.kills {
            let at = start + duration.mul_f64(k as f64 / (args.kills + 1) as f64);
            tokio::time::sleep_until(at).await;
            tokio::task::block_in_place(|| server.kill());
            kills += 1;
            tokio::time::sleep(Duration::from_millis(args.down_ms)).await;
            if let Err(e) = tokio::task::block_in_place(|| server.restart()) {
                restart_failures.push(e.to_string());
                break;
            }
        }
    }
    let driven = driving.await.map_err(|e| e.to_string())?;
    backend.stop().await;

    let mut report = Report::new("chaos");
    parameters(&mut report, &args.throughput.load);
    report.parameter("kills", args.kills).parameter("down_ms", args.down_ms);
    describe(&mut report, "", &driven);
    report.figure("sigkills", kills, "");
    report.figure("reconnects", driven.outcome.reconnects, "");
    report.ledger = driven.outcome.ledger;
    for failure in restart_failures {
        report.fail(format!("restart failed: {failure}"));
    }
    if kills < args.kills {
        report.fail(format!("only {kills} of {} kills happened", args.kills));
    }
    Ok(report)
}
