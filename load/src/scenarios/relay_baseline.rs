//! `relay-baseline`: the same pairs, the same parameters, first against the bare relay
//! (WebSocket + JSON + routing, nothing else: see [`crate::relay`]), then against
//! bluetick, in one run on one machine. The headline is bluetick's throughput as a
//! fraction of the bare transport's.

use crate::report::Report;
use crate::scenarios::throughput::{ThroughputArgs, describe, drive, parameters};
use crate::target::{Error, Setup};

pub async fn run(args: &ThroughputArgs, visible: bool) -> Result<Report, Error> {
    let mut relay_setup = Setup::Relay;
    let relay_devices = relay_setup.register(2 * args.load.pairs, "relay").await?;
    let relay = relay_setup.start().await?;
    let bare = drive(relay.addr(), relay_devices, &args.load, visible, None, relay.pid()).await;
    relay.stop().await;

    let mut setup = Setup::new(&args.target).await?;
    let devices = setup.register(2 * args.load.pairs, "pair").await?;
    let backend = setup.start().await?;
    let real = drive(backend.addr(), devices, &args.load, visible, None, backend.pid()).await;
    backend.stop().await;

    let mut report = Report::new("relay-baseline");
    parameters(&mut report, &args.load);
    describe(&mut report, "relay_", &bare);
    describe(&mut report, "bluetick_", &real);
    let bare_rate = bare.outcome.ticked_in_time as f64 / bare.seconds;
    let real_rate = real.outcome.ticked_in_time as f64 / real.seconds;
    let fraction = if bare_rate > 0.0 { real_rate / bare_rate } else { 0.0 };
    report.figure("fraction_of_relay", fraction, "bluetick ÷ bare relay");
    report.note(format!("relay ledger: {}", bare.outcome.ledger.verdict()));
    // Both ledgers must be exact; the relay's counts are in the note.
    let mut ledger = real.outcome.ledger;
    ledger.lost += bare.outcome.ledger.lost;
    ledger.duplicated += bare.outcome.ledger.duplicated;
    ledger.unexpected += bare.outcome.ledger.unexpected;
    report.ledger = ledger;
    Ok(report)
}
