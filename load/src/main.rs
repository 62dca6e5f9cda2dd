//! `bluetick-load`: the load generator's command line. Each scenario prints a summary
//! (or one JSON object with `--json`) and exits non-zero if its ledger is not exact.

use std::net::SocketAddr;
use std::process::ExitCode;

use bluetick_load::report::Report;
use bluetick_load::scenarios::{
    chaos, classroom, connections, crowd_cost, fanout, mqtt_baseline, reconnect_storm, relay_baseline, throughput,
};
use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(name = "bluetick-load", about = "Load and fault scenarios against a bluetick server, with an exact ledger.")]
struct Cli {
    /// Print one JSON object instead of the summary (and no progress line).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// 1:1 messages between N pairs for T seconds: msgs/s end-to-end and latency.
    Throughput(throughput::ThroughputArgs),
    /// Open and hold N idle authenticated connections: server RSS per connection.
    Connections(connections::ConnectionsArgs),
    /// Run N simulated crowd members in the server and hold them idle: the server's
    /// RSS, descriptors and idle CPU per member.
    CrowdCost(crowd_cost::CrowdCostArgs),
    /// A group of up to 1,024 members, all online: send → last member, deliveries/s.
    Fanout(fanout::FanoutArgs),
    /// N clients drop at once and reconnect with jittered backoff.
    ReconnectStorm(reconnect_storm::StormArgs),
    /// `throughput` while the server is SIGKILLed and restarted K times.
    Chaos(chaos::ChaosArgs),
    /// `throughput` against a bare WebSocket relay and against bluetick, in one run.
    RelayBaseline(throughput::ThroughputArgs),
    /// `throughput`'s shape against Mosquitto (persistence on), MQTT 3.1.1 QoS 2; the
    /// window counts PUBLISHes without PUBCOMP. Needs `mosquitto` installed.
    MqttBaseline(mqtt_baseline::MqttArgs),
    /// N students at once walking the lesson page's guided path, each in their own lab:
    /// per-step reaction times, refusals, load-run queue waits, an exact ledger.
    Classroom(classroom::ClassroomArgs),
    /// Runs the bluetick backend (takes the `bluetick` command's flags); used as the
    /// scenarios' child process.
    #[command(hide = true)]
    Serve {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        flags: Vec<String>,
    },
    /// Runs the bare relay; used by `relay-baseline`.
    #[command(hide = true)]
    Relay {
        #[arg(long, default_value = "127.0.0.1:0")]
        addr: SocketAddr,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    runtime.block_on(async move {
        let visible = !cli.json;
        let result: Result<Report, String> = match cli.command {
            Command::Serve { flags } => return bluetick_load::serve::serve(flags).await,
            Command::Relay { addr } => return bluetick_load::relay::serve(addr).await,
            Command::Throughput(args) => throughput::run(&args, visible).await,
            Command::Connections(args) => connections::run(&args, visible).await,
            Command::CrowdCost(args) => crowd_cost::run(&args, visible).await,
            Command::Fanout(args) => fanout::run(&args, visible).await,
            Command::ReconnectStorm(args) => reconnect_storm::run(&args, visible).await,
            Command::Chaos(args) => chaos::run(&args, visible).await,
            Command::RelayBaseline(args) => relay_baseline::run(&args, visible).await,
            Command::MqttBaseline(args) => mqtt_baseline::run(&args, visible).await,
            Command::Classroom(args) => classroom::run(&args, visible).await,
        };
        match result {
            Ok(report) => {
                if cli.json {
                    println!("{}", report.to_json());
                } else {
                    print!("{}", report.to_human());
                }
                if report.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
            }
            Err(e) => {
                eprintln!("bluetick-load: {e}");
                ExitCode::from(2)
            }
        }
    })
}
