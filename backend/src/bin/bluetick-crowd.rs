//! `bluetick-crowd`: starts a simulated crowd in a running bluetick server, from the
//! command line, through the same API the lesson page uses.
//!
//!     bluetick-crowd --server http://127.0.0.1:8080 --size 1023 --offline 100 --send 5
//!
//! It registers an owner device, creates a group, asks the server for a crowd of
//! `--size` members in it, optionally sends `--send` messages to the group and prints how
//! each one progresses, then reports the crowd every two seconds until Ctrl-C, when it
//! stops the crowd.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use bluetick_backend::api::crowds::{CrowdReport, CrowdStarted};
use bluetick_client::http::request;
use bluetick_client::{Connection, DeviceState, Event};
use bluetick_shared::frames::{Registration, TickState};
use bluetick_shared::groups::GroupView;
use clap::Parser;

#[derive(Debug, Parser)]
#[command(about = "Start a simulated crowd in a running bluetick server.")]
struct Args {
    /// The server's address.
    #[arg(long, env = "BLUETICK_URL", default_value = "http://127.0.0.1:8080")]
    server: String,
    /// Crowd members (the owner makes the group one larger; 1,023 fills it).
    #[arg(long, default_value_t = 100)]
    size: usize,
    /// Members that start offline.
    #[arg(long, default_value_t = 0)]
    offline: usize,
    /// When offline members come back (ms).
    #[arg(long, default_value_t = 5_000)]
    back_after_ms: u64,
    /// Seed for the members' delays.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Messages to send to the group, one after another.
    #[arg(long, default_value_t = 0)]
    send: usize,
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bluetick-crowd: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn call(
    addr: SocketAddr,
    owner: Option<&Registration>,
    method: &str,
    path: &str,
    body: Option<String>,
) -> Result<String, String> {
    let bearer = owner.map(|o| format!("{}:{}", o.device_id, o.token));
    let (status, text) =
        request(addr, method, path, body.as_deref(), bearer.as_deref()).await.map_err(|e| e.to_string())?;
    if (200..300).contains(&status) { Ok(text) } else { Err(format!("{method} {path} → {status}: {text}")) }
}

async fn run(args: Args) -> Result<(), String> {
    let host = args.server.trim_start_matches("http://").trim_end_matches('/');
    let addr: SocketAddr = tokio::net::lookup_host(host)
        .await
        .map_err(|e| format!("cannot resolve {host}: {e}"))?
        .next()
        .ok_or_else(|| format!("no address for {host}"))?;
    let json = |text: String| serde_json::from_str::<serde_json::Value>(&text).map_err(|e| e.to_string());

    let owner: Registration = serde_json::from_str(
        &call(addr, None, "POST", "/api/devices", Some(r#"{"name":"Crowd owner"}"#.into())).await?,
    )
    .map_err(|e| e.to_string())?;
    let group: GroupView = serde_json::from_value(json(
        call(addr, Some(&owner), "POST", "/api/groups", Some(r#"{"name":"The crowd"}"#.into())).await?,
    )?)
    .map_err(|e| e.to_string())?;
    let spec = serde_json::json!({ "size": args.size, "offline": args.offline, "back_after_ms": args.back_after_ms, "seed": args.seed });
    let crowd: CrowdStarted = serde_json::from_value(json(
        call(addr, Some(&owner), "POST", &format!("/api/groups/{}/crowd", group.id), Some(spec.to_string())).await?,
    )?)
    .map_err(|e| e.to_string())?;
    println!("group {} with {} crowd members (crowd {})", group.id, crowd.members.len(), crowd.crowd_id);

    if args.send > 0 {
        let mut conn = Connection::connect(&format!("ws://{addr}/ws"), DeviceState::new(owner.clone()))
            .await
            .map_err(|e| e.to_string())?;
        for i in 0..args.send {
            let started = Instant::now();
            let id = conn.send_to_group(group.id, format!("crowd message {i}")).await.map_err(|e| e.to_string())?;
            loop {
                match conn.next_event_within(Duration::from_secs(60)).await.map_err(|e| e.to_string())? {
                    Some(Event::GroupProgress { id: of, progress })
                        if of == id && progress.fanned_out && progress.delivered == progress.total =>
                    {
                        println!(
                            "  message {i}: delivered {}/{} after {:?}",
                            progress.delivered,
                            progress.total,
                            started.elapsed()
                        );
                        break;
                    }
                    Some(Event::Tick(change)) if change.id == id && change.to >= TickState::Delivered => break,
                    Some(_) => {}
                    None => return Err("no progress for a minute".into()),
                }
            }
        }
    }

    println!("reporting every 2 s; Ctrl-C stops the crowd");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            _ = tokio::time::sleep(Duration::from_secs(2)) => {}
        }
        let report: CrowdReport = serde_json::from_value(json(
            call(addr, Some(&owner), "GET", &format!("/api/crowds/{}", crowd.crowd_id), None).await?,
        )?)
        .map_err(|e| e.to_string())?;
        let online = report.members.iter().filter(|m| m.log.online).count();
        let received: usize = report.members.iter().map(|m| m.log.received.len()).sum();
        let read: usize = report.members.iter().map(|m| m.log.read).sum();
        println!("online {online}/{}  received {received}  read {read}", report.members.len());
    }
    call(addr, Some(&owner), "DELETE", &format!("/api/crowds/{}", crowd.crowd_id), None).await?;
    println!("crowd stopped");
    Ok(())
}
