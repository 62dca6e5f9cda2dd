//! `crowd-cost`: what one simulated crowd member costs the server. A crowd is N group
//! members the server itself runs in-process, each a real client (`bluetick_client`) on
//! a real WebSocket to the same server, heartbeating and acknowledging; the lesson page
//! starts one with "give me a group of N members", so its price per member decides how
//! many a classroom may run at once (the server's `--crowd-max-total`).
//!
//! The run starts the backend as its child (so that `/proc` can be read), makes one lab
//! (`POST /api/labs`) and one group owned by its "You" per crowd, then starts as many
//! crowds of up to 1,023 members (the group cap less its owner) as `--members` needs
//! (`POST /api/groups/{g}/crowd`) and polls their reports (`GET /api/crowds/{c}`) every
//! 200 ms until every member is online. The server's resident memory, CPU time (user +
//! system) and open file descriptors are read before the first crowd starts, once all
//! members are online, and at the end of an idle hold of `--hold` seconds with nobody
//! polling; then the crowds are stopped (`DELETE /api/crowds/{c}`).
//!
//! Both ends of a member's connection live in the server's process, so a member costs
//! the server both sides' buffers and tasks and its heartbeats (lab devices heartbeat
//! every quarter of the lab presence TTL: 2 s by default), and over
//! `--server-arg=--crowd-transport=tcp` two open files as well (over the default
//! in-memory pipe, none). A refusal (the crowd
//! caps, a full group) is reported with the server's own sentence, as a failure.

use std::net::SocketAddr;
use std::time::Duration;

use bluetick_backend::api::crowds::{CrowdReport, CrowdStarted};
use bluetick_client::http::request;
use bluetick_shared::frames::{GroupId, MAX_GROUP_MEMBERS, Registration};
use bluetick_shared::groups::{GroupView, NewGroup};
use bluetick_shared::lab::LabCreated;
use serde::de::DeserializeOwned;
use tokio::time::Instant;
use uuid::Uuid;

use crate::cpu::cpu_time;
use crate::report::{Report, progress};
use crate::rss::rss_bytes;
use crate::target::{Error, Setup, TargetArgs};

/// The most members one crowd may have: its group holds the owner too.
pub const MAX_CROWD: usize = MAX_GROUP_MEMBERS - 1;

/// How often the crowd reports are polled while members come online.
const POLL: Duration = Duration::from_millis(200);

/// How long every member has to come online.
const CONNECT_DEADLINE: Duration = Duration::from_secs(120);

/// File descriptors a server keeps for everything that is not a crowd member's socket.
const FD_RESERVE: u64 = 256;

/// The server flag that stops a crowd whose owner's device is not connected.
const ORPHAN_FLAG: &str = "--crowd-orphan-secs";

#[derive(Debug, Clone, clap::Args)]
pub struct CrowdCostArgs {
    /// Crowd members to run in all (split into crowds of `--crowd-size`, one lab and one
    /// group each).
    #[arg(long, default_value_t = MAX_CROWD)]
    pub members: usize,
    /// Seconds to hold every member connected and idle while the server's CPU is read.
    #[arg(long, default_value_t = 10.0)]
    pub hold: f64,
    /// Members per crowd, 1 to 1,023 (a group holds at most 1,024, its owner included).
    #[arg(long, default_value_t = MAX_CROWD)]
    pub crowd_size: usize,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// One running crowd and the lab device that owns it.
struct Started {
    owner: Registration,
    crowd: Uuid,
    size: usize,
}

/// The server process's figures at one moment.
#[derive(Debug, Clone, Copy)]
struct Sample {
    rss: Option<u64>,
    cpu: Option<Duration>,
    fds: Option<u64>,
}

impl Sample {
    fn of(pid: Option<u32>) -> Sample {
        Sample { rss: pid.and_then(rss_bytes), cpu: pid.and_then(cpu_time), fds: pid.and_then(open_fds) }
    }
}

pub async fn run(args: &CrowdCostArgs, visible: bool) -> Result<Report, Error> {
    if !(1..=MAX_CROWD).contains(&args.crowd_size) {
        return Err(format!("--crowd-size must be 1 to {MAX_CROWD}"));
    }
    let mut report = Report::new("crowd-cost");
    let sizes = crowd_sizes(args.members, args.crowd_size);
    report
        .parameter("members", args.members)
        .parameter("crowds", sizes.len())
        .parameter("crowd_size", args.crowd_size)
        .parameter("hold_s", args.hold);

    let mut target = args.target.clone();
    // Nobody connects the labs' "You" devices, so the server would stop the crowds as
    // orphans after `--crowd-orphan-secs` (120 s); the run keeps them past its own end.
    if target.url.is_none() && !target.server_args.iter().any(|a| a.starts_with(ORPHAN_FLAG)) {
        let secs = 3600 + CONNECT_DEADLINE.as_secs() + args.hold.max(0.0).ceil() as u64;
        target.server_args.push(format!("{ORPHAN_FLAG}={secs}"));
    }
    let setup = Setup::new(&target).await?;
    let backend = setup.start().await?;
    let addr = backend.addr();
    let pid = backend.pid();
    if pid.is_none() {
        report.note("the server is not our child process: its memory, CPU and descriptors are not measured");
    }

    let bar = progress(visible);
    // A lab and a group per crowd, all before the first crowd, so that the samples
    // around the crowds count only the crowds.
    let mut groups = Vec::with_capacity(sizes.len());
    for i in 0..sizes.len() {
        bar.set_message(format!("making labs and groups: {i}/{}", sizes.len()));
        let lab: LabCreated = call(addr, None, "POST", "/api/labs", None).await.map_err(|e| e.to_string())?;
        let owner = lab.devices.into_iter().next().ok_or("the new lab has no devices")?;
        let body = serde_json::to_string(&NewGroup { name: format!("crowd {i}") }).map_err(|e| e.to_string())?;
        let group: GroupView =
            call(addr, Some(&owner), "POST", "/api/groups", Some(&body)).await.map_err(|e| e.to_string())?;
        groups.push((owner, group.id));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before = Sample::of(pid);
    let limit = pid.and_then(fd_limit);

    let started_at = Instant::now();
    let mut crowds: Vec<Started> = Vec::with_capacity(sizes.len());
    for (i, ((owner, group), &size)) in groups.into_iter().zip(&sizes).enumerate() {
        bar.set_message(format!("starting crowd {}/{} ({size} members)", i + 1, sizes.len()));
        match start_crowd(addr, &owner, group, size, i as u64).await {
            Ok(crowd) => crowds.push(Started { owner, crowd, size }),
            Err(Call::Refused { status, message }) => {
                let running: usize = crowds.iter().map(|c| c.size).sum();
                report.fail(format!(
                    "the server refused crowd {} of {} ({size} members, {running} already running): {status} {message}",
                    i + 1,
                    sizes.len()
                ));
                break;
            }
            Err(e) => {
                stop_crowds(addr, &crowds).await;
                return Err(e.to_string());
            }
        }
    }
    let members: usize = crowds.iter().map(|c| c.size).sum();

    let deadline = started_at + CONNECT_DEADLINE;
    let mut online = 0;
    let mut polled = Err(Call::Broken("no crowd started".into()));
    while !crowds.is_empty() {
        polled = poll(addr, &crowds).await;
        if let Ok(counts) = &polled {
            online = counts.online;
        }
        bar.set_message(format!("members online: {online}/{members}"));
        if online >= members || Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let connect_seconds = started_at.elapsed().as_secs_f64();
    let connects_at_online = polled.as_ref().map_or(0, |c| c.connects);
    if let Err(e) = &polled
        && !crowds.is_empty()
    {
        report.fail(format!("the crowd reports could not be read: {e}"));
    }

    // The idle hold: nobody polls, the members only heartbeat.
    let online_sample = Sample::of(pid);
    let hold_start = Instant::now();
    let hold_end = hold_start + Duration::from_secs_f64(args.hold.max(0.0));
    while Instant::now() < hold_end {
        bar.set_message(format!("holding {online} members idle"));
        tokio::time::sleep(POLL.min(hold_end - Instant::now())).await;
    }
    let held = Sample::of(pid);
    let hold_seconds = hold_start.elapsed().as_secs_f64();
    let after_hold = if crowds.is_empty() { None } else { poll(addr, &crowds).await.ok() };

    bar.set_message("stopping the crowds");
    stop_crowds(addr, &crowds).await;
    bar.finish_and_clear();
    backend.stop().await;

    let mib = |b: u64| b as f64 / (1024.0 * 1024.0);
    let per_member = |grown: f64| grown / members.max(1) as f64;
    report.figure("members_started", members, "in crowds the server accepted");
    report.figure("members_online", online, "online before the hold");
    report.figure("connect_s", connect_seconds, "s from the first crowd's start to every member online");
    if let Some(counts) = &after_hold {
        report.figure("members_online_after_hold", counts.online, "");
        report.figure("reconnects_during_hold", counts.connects.saturating_sub(connects_at_online), "");
    }
    if let (Some(base), Some(held_rss)) = (before.rss, held.rss) {
        report.figure("server_rss_before_mib", mib(base), "MiB before the crowds");
        if let Some(at_online) = online_sample.rss {
            report.figure("server_rss_online_mib", mib(at_online), "MiB once every member was online");
        }
        report.figure("server_rss_held_mib", mib(held_rss), "MiB at the end of the hold");
        if members > 0 {
            let grown = held_rss.saturating_sub(base) as f64;
            report.figure("server_bytes_per_member", per_member(grown).round(), "bytes (RSS growth ÷ members)");
        }
    }
    if let (Some(base), Some(held_fds)) = (before.fds, held.fds) {
        report.figure("server_fds_before", base, "open file descriptors");
        report.figure("server_fds_held", held_fds, "open file descriptors");
        if members > 0 {
            let grown = held_fds.saturating_sub(base) as f64;
            report.figure(
                "server_fds_per_member",
                per_member(grown),
                "open files per member (0 over the in-memory pipe, 2 over tcp)",
            );
        }
    }
    if let (Some(start), Some(end)) = (online_sample.cpu, held.cpu)
        && members > 0
        && hold_seconds > 0.0
    {
        let used = end.saturating_sub(start);
        let us = used.as_secs_f64() * 1e6 / (members as f64 * hold_seconds);
        report.figure("server_cpu_us_per_member_s", us, "µs of server CPU per member per idle second");
        report.figure("server_cpu_percent_idle", 100.0 * used.as_secs_f64() / hold_seconds, "% of one core, holding");
    }
    if let Some(limit) = limit {
        report.figure("server_fd_limit", limit, "open files the server may have");
        let needed = 2 * args.members as u64 + FD_RESERVE;
        if needed > limit {
            report.note(format!(
                "each member holds two descriptors in the server (its socket's two ends): {} members need about \
                 {needed}, past the server's limit of {limit} open files (its hard limit, which only a privileged \
                 user can raise)",
                args.members
            ));
        }
    }

    if members > 0 && online < members {
        report.fail(format!("only {online} of {members} crowd members came online within {CONNECT_DEADLINE:?}"));
    }
    if let Some(counts) = &after_hold
        && counts.online < online
    {
        report.fail(format!("{} members went offline during the idle hold", online - counts.online));
    }
    Ok(report)
}

/// `members` split into crowds of `size` (the last one smaller).
fn crowd_sizes(members: usize, size: usize) -> Vec<usize> {
    let mut sizes = vec![size; members / size];
    if !members.is_multiple_of(size) {
        sizes.push(members % size);
    }
    sizes
}

async fn start_crowd(
    addr: SocketAddr,
    owner: &Registration,
    group: GroupId,
    size: usize,
    seed: u64,
) -> Result<Uuid, Call> {
    // Only `size` is required; the rest (nobody offline, the server's read delays) are
    // the server's defaults.
    let body = serde_json::json!({ "size": size, "seed": seed }).to_string();
    let path = format!("/api/groups/{group}/crowd");
    let started: CrowdStarted = call(addr, Some(owner), "POST", &path, Some(&body)).await?;
    if started.members.len() != size {
        return Err(Call::Broken(format!("asked for {size} members, the crowd has {}", started.members.len())));
    }
    Ok(started.crowd_id)
}

/// What the crowd reports say, summed over the crowds.
struct Counts {
    online: usize,
    connects: u64,
}

async fn poll(addr: SocketAddr, crowds: &[Started]) -> Result<Counts, Call> {
    let reads = crowds.iter().map(|c| async move {
        let path = format!("/api/crowds/{}", c.crowd);
        call::<CrowdReport>(addr, Some(&c.owner), "GET", &path, None).await
    });
    let mut counts = Counts { online: 0, connects: 0 };
    for report in futures_util::future::join_all(reads).await {
        for member in report?.members {
            counts.online += usize::from(member.log.online);
            counts.connects += u64::from(member.log.connects);
        }
    }
    Ok(counts)
}

async fn stop_crowds(addr: SocketAddr, crowds: &[Started]) {
    let stops = crowds.iter().map(|c| async move {
        let path = format!("/api/crowds/{}", c.crowd);
        call::<serde_json::Value>(addr, Some(&c.owner), "DELETE", &path, None).await
    });
    for stopped in futures_util::future::join_all(stops).await {
        if let Err(e) = stopped {
            eprintln!("crowd-cost: could not stop a crowd: {e}");
        }
    }
}

/// Why an HTTP call gave no usable answer.
#[derive(Debug)]
enum Call {
    /// A 4xx/5xx answer, with the server's sentence (its body's `message`).
    Refused { status: u16, message: String },
    /// No answer, or not the one expected.
    Broken(String),
}

impl std::fmt::Display for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Call::Refused { status, message } => write!(f, "refused: {status} {message}"),
            Call::Broken(why) => f.write_str(why),
        }
    }
}

/// `METHOD path` as `device` (bearer `<device id>:<token>`), 2xx only, the body read as
/// `T` (an empty body as JSON `null`).
async fn call<T: DeserializeOwned>(
    addr: SocketAddr,
    device: Option<&Registration>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<T, Call> {
    let bearer = device.map(|d| format!("{}:{}", d.device_id, d.token));
    let (status, text) = request(addr, method, path, body, bearer.as_deref())
        .await
        .map_err(|e| Call::Broken(format!("{method} {path}: {e}")))?;
    if !(200..300).contains(&status) {
        let parsed: Option<serde_json::Value> = serde_json::from_str(&text).ok();
        let message = parsed
            .as_ref()
            .and_then(|v| v["message"].as_str())
            .map_or_else(|| text.chars().take(200).collect(), str::to_string);
        return Err(Call::Refused { status, message });
    }
    let text = if text.trim().is_empty() { "null" } else { text.as_str() };
    serde_json::from_str(text).map_err(|e| Call::Broken(format!("{method} {path} → {status}: {e}: {text}")))
}

/// Open file descriptors of process `pid`: the entries of `/proc/PID/fd`.
fn open_fds(pid: u32) -> Option<u64> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count() as u64)
}

/// The soft limit on open files of process `pid` (`Max open files` in `/proc/PID/limits`).
fn fd_limit(pid: u32) -> Option<u64> {
    parse_fd_limit(&std::fs::read_to_string(format!("/proc/{pid}/limits")).ok()?)
}

fn parse_fd_limit(limits: &str) -> Option<u64> {
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn members_are_split_into_crowds_of_at_most_the_size() {
        assert_eq!(crowd_sizes(1023, MAX_CROWD), vec![1023]);
        assert_eq!(crowd_sizes(3000, MAX_CROWD), vec![1023, 1023, 954]);
        assert_eq!(crowd_sizes(50, 20), vec![20, 20, 10]);
        assert_eq!(crowd_sizes(0, 20), Vec::<usize>::new());
    }

    #[test]
    fn the_open_files_limit_is_the_soft_one() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units     \n\
                      Max processes             63482                63482                processes \n\
                      Max open files            20000                524288               files     \n";
        assert_eq!(parse_fd_limit(limits), Some(20000));
        assert_eq!(parse_fd_limit("Limit Soft Hard\n"), None);
    }

    #[test]
    fn this_process_has_open_files_and_a_limit() {
        assert!(open_fds(std::process::id()).unwrap() > 0);
        assert!(fd_limit(std::process::id()).unwrap() > 0);
    }
}
