//! `classroom`: N students at once, each with their own lab, walking the lesson page's
//! guided path through the same HTTP and WebSocket calls the page makes: a teacher's
//! question is "will this server hold a class of 30?", and the answer is each step's
//! reaction time under that load, what the server refused, and an exact ledger.
//!
//! Every student is its own task: `POST /api/labs` (the `lab` step), then the steps of
//! `steps` and `later_steps` in order (their docs say what each measures), with
//! `--think-ms` between steps (heartbeating meanwhile, as the page does). Students start
//! spread over the first second. A step that fails (a timeout, an unexpected answer) is
//! an error for that student and the student goes on with the next step; a 4xx/5xx is a
//! refusal, counted per step with its `error` code. Before the load run, the student
//! waits (up to 10 s) for every 1:1 message's DELIVERED tick and closes the phones.
//!
//! With `--class CODE` every student's lab also joins that class as "Student NN" (the
//! join banner's call) and reports each step it completes as a lab run (the page's
//! progress report), so an instructor watching `/teach` sees the class fill in live; a
//! refused join is that student's `lab` step failing, with the server's sentence.
//!
//! The ledger joins three parts, each also shown on its own: every 1:1 message Alice
//! sent Bob (offline queue, retry storm, ticks, encrypted; the message sent to expire is
//! left out, and must never be shown), the group message per crowd member, and each
//! lab's load run's own ledger. The report is ok only if every student completed every
//! step and the ledger is exact.

mod book;
mod lab_http;
mod later_steps;
mod steps;
mod student;

use std::collections::BTreeMap;
use std::time::Duration;

use bluetick_shared::lab::LabCreated;
use bluetick_shared::ledger::Ledger;
use serde_json::{Value, json};
use tokio::time::Instant;

use crate::report::{Latency, Report, progress};
use crate::target::{Error, Setup, TargetArgs};
use lab_http::LabHttp;
use student::{Fail, StepOutcome, Student};

/// The steps, in the order each student takes them.
pub const STEPS: [&str; 12] = [
    "lab",
    "connect",
    "drop",
    "outage",
    "offline_queue",
    "retry_storm",
    "ticks",
    "expiry",
    "fanout",
    "presence",
    "encrypted",
    "load_run",
];

/// `bluetick-load classroom`'s flags.
#[derive(Debug, Clone, clap::Args)]
pub struct ClassroomArgs {
    /// Students, each with their own lab, all at once.
    #[arg(long, default_value_t = 30)]
    pub students: usize,
    /// A student's pause between steps (ms).
    #[arg(long, default_value_t = 500)]
    pub think_ms: u64,
    /// Simulated members in each student's fan-out group.
    #[arg(long, default_value_t = 64)]
    pub crowd: usize,
    /// Sender/recipient pairs in each student's load run.
    #[arg(long, default_value_t = 2)]
    pub load_pairs: u32,
    /// Seconds each student's load run sends.
    #[arg(long, default_value_t = 2)]
    pub load_seconds: u32,
    /// A class's join code (from `/teach`): every student joins it and reports its
    /// steps, as the page does.
    #[arg(long)]
    pub class: Option<String>,
    #[command(flatten)]
    pub target: TargetArgs,
}

/// What one student's walk gave.
struct Walk {
    steps: Vec<StepOutcome>,
    ledgers: Vec<(&'static str, Ledger)>,
    expired_shown: u64,
}

/// A step that could not start, as an error.
fn not_started(why: &str) -> StepOutcome {
    StepOutcome { error: Some(why.to_string()), ..StepOutcome::default() }
}

async fn walk(index: usize, http: LabHttp, args: ClassroomArgs, start: Instant) -> Walk {
    tokio::time::sleep_until(start).await;
    let mut outcomes = Vec::with_capacity(STEPS.len());
    let mut out = StepOutcome::default();
    let t0 = Instant::now();
    let lab = http.call::<LabCreated>(None, "POST", "/api/labs", None).await;
    let student = match lab {
        Ok(lab) => Student::new(index, http, lab.devices).map_err(|e| out.error = Some(e)).ok(),
        Err(e) => {
            if let Fail::Error(why) = out.refused(e) {
                out.error = Some(why);
            }
            None
        }
    };
    let student = match (student, args.class.as_deref()) {
        (Some(s), Some(code)) => {
            let body = json!({ "code": code, "name": format!("Student {:02}", index + 1) });
            match http.call::<Value>(Some(&s.you.reg), "POST", "/api/class/join", Some(&body)).await {
                Ok(_) => Some(s),
                Err(e) => {
                    if let Fail::Error(why) = out.refused(e) {
                        out.error = Some(why);
                    }
                    None
                }
            }
        }
        (student, _) => student,
    };
    out.completed = student.is_some();
    if out.completed {
        out.reactions.push(("lab", t0.elapsed()));
    }
    outcomes.push(out);
    let Some(mut s) = student else {
        outcomes.extend(STEPS[1..].iter().map(|_| not_started("no lab")));
        return Walk { steps: outcomes, ledgers: Vec::new(), expired_shown: 0 };
    };
    let think = Duration::from_millis(args.think_ms);
    let queue_timeout = Duration::from_secs(60 + args.students as u64 * (args.load_seconds as u64 + 10));
    for &step in &STEPS[1..] {
        s.think(think).await;
        if step == "load_run" {
            // The phones' part is over: the last ticks, then the ledger is what it is.
            s.settle(Duration::from_secs(10)).await;
            s.alice.close().await;
            s.bob.close().await;
        }
        let mut out = StepOutcome::default();
        let run = async {
            match step {
                "connect" => steps::connect(&mut s, &mut out).await,
                "drop" => steps::drop_network(&mut s, &mut out).await,
                "outage" => steps::outage(&mut s, &mut out).await,
                "offline_queue" => steps::offline_queue(&mut s, &mut out).await,
                "retry_storm" => steps::retry_storm(&mut s, &mut out).await,
                "ticks" => steps::ticks(&mut s, &mut out).await,
                "expiry" => steps::expiry(&mut s, &mut out).await,
                "fanout" => later_steps::fanout(&mut s, &mut out, args.crowd).await,
                "presence" => later_steps::presence(&mut s, &mut out).await,
                "encrypted" => later_steps::encrypted(&mut s, &mut out).await,
                "load_run" => {
                    later_steps::load_run(&mut s, &mut out, args.load_pairs, args.load_seconds, queue_timeout).await
                }
                other => unreachable!("no step {other}"),
            }
        };
        // Each wait inside a step has its own deadline; this only stops a step that hangs.
        let limit = if step == "load_run" { queue_timeout + Duration::from_secs(120) } else { Duration::from_secs(90) };
        let result = tokio::time::timeout(limit, run).await;
        match result {
            Ok(Ok(())) => {
                out.completed = true;
                if args.class.is_some() {
                    let progress = json!({ "kind": "lab", "key": step });
                    if let Err(e) =
                        s.http.call::<Value>(Some(&s.you.reg), "POST", "/api/class/progress", Some(&progress)).await
                    {
                        out.error = Some(format!("the class did not take the step's report: {e:?}"));
                    }
                }
            }
            Ok(Err(Fail::Error(why))) => out.error = Some(why),
            Ok(Err(Fail::Refused)) => {}
            Err(_) => out.error = Some(format!("the step hung for {limit:?}")),
        }
        outcomes.push(out);
    }
    s.ledgers.insert(0, ("one_to_one", s.book.ledger()));
    Walk { steps: outcomes, ledgers: s.ledgers, expired_shown: s.book.expired_shown }
}

pub async fn run(args: &ClassroomArgs, visible: bool) -> Result<Report, Error> {
    if args.students == 0 {
        return Err("--students must be at least 1".into());
    }
    let setup = Setup::new(&args.target).await?;
    let backend = setup.start().await?;
    let http = LabHttp { addr: backend.addr() };
    let started = Instant::now();
    let spread = Duration::from_secs(1).div_f64(args.students as f64);
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..args.students {
        let at = started + spread * i as u32 + spread.mul_f64(fastrand::f64());
        tasks.spawn(walk(i, http, args.clone(), at));
    }
    let bar = progress(visible);
    let mut walks = Vec::with_capacity(args.students);
    while !tasks.is_empty() {
        tokio::select! {
            joined = tasks.join_next() => match joined {
                Some(Ok(walk)) => walks.push(walk),
                Some(Err(e)) => return Err(format!("a student's task failed: {e}")),
                None => break,
            },
            _ = tokio::time::sleep(Duration::from_millis(500)) => {
                bar.set_message(format!("students finished: {}/{}", walks.len(), args.students));
            }
        }
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    backend.stop().await;
    Ok(report(args, &walks, seconds))
}

/// One step's figures over every student.
#[derive(Default)]
struct StepTotals {
    completed: usize,
    refused: usize,
    errors: Vec<(usize, String)>,
    /// By name, in the order first recorded (the step's own first).
    reactions: Vec<(&'static str, Latency)>,
    refusals: BTreeMap<String, (u64, String)>,
    counts: BTreeMap<&'static str, (u64, u64)>,
}

fn report(args: &ClassroomArgs, walks: &[Walk], seconds: f64) -> Report {
    let mut report = Report::new("classroom");
    report
        .parameter("students", args.students)
        .parameter("think_ms", args.think_ms)
        .parameter("crowd", args.crowd)
        .parameter("load_pairs", args.load_pairs)
        .parameter("load_seconds", args.load_seconds);
    let mut totals: Vec<StepTotals> = STEPS.iter().map(|_| StepTotals::default()).collect();
    let mut queue_waits = Latency::default();
    for (student, walk) in walks.iter().enumerate() {
        for (t, out) in totals.iter_mut().zip(&walk.steps) {
            t.completed += out.completed as usize;
            t.refused += (!out.completed && out.error.is_none()) as usize;
            if let Some(why) = &out.error {
                t.errors.push((student, why.clone()));
            }
            for (name, took) in &out.reactions {
                match t.reactions.iter_mut().find(|(n, _)| n == name) {
                    Some((_, latency)) => latency.record(*took),
                    None => {
                        let mut latency = Latency::default();
                        latency.record(*took);
                        t.reactions.push((name, latency));
                    }
                }
            }
            for r in &out.refusals {
                t.refusals.entry(r.code.clone()).or_insert((0, r.message.clone())).0 += 1;
            }
            for (name, n) in &out.counts {
                let c = t.counts.entry(name).or_default();
                *c = (c.0 + n, c.1.max(*n));
            }
            if let Some(wait) = out.queue_wait {
                queue_waits.record(wait);
            }
        }
    }
    // The step's own reaction first, its further figures after.
    for (step, t) in STEPS.iter().zip(&mut totals) {
        t.reactions.sort_by_key(|(name, _)| name != step);
    }
    let students = walks.len();
    let finished = walks.iter().filter(|w| w.steps.iter().all(|s| s.completed)).count();
    let mut table = format!(
        "  {:<20} {:>7} {:>9} {:>9} {:>9}  {}\n",
        "step (reaction)", "done", "p50 ms", "p99 ms", "max ms", "refusals / errors"
    );
    let mut json_steps = serde_json::Map::new();
    for (step, t) in STEPS.iter().zip(&totals) {
        let mut trouble: Vec<String> = t.refusals.iter().map(|(code, (n, _))| format!("{code} ×{n}")).collect();
        if !t.errors.is_empty() {
            trouble.push(format!("{} errors", t.errors.len()));
        }
        let trouble = if trouble.is_empty() { "-".to_string() } else { trouble.join(", ") };
        let mut reactions = serde_json::Map::new();
        for (i, (name, latency)) in t.reactions.iter().enumerate() {
            let s = latency.summary();
            let (label, done) = if i == 0 {
                (step.to_string(), format!("{}/{students}", t.completed))
            } else {
                (format!("  {name}"), String::new())
            };
            let trouble = if i == 0 { trouble.as_str() } else { "" };
            table +=
                &format!("  {label:<20} {done:>7} {:>9.1} {:>9.1} {:>9.1}  {trouble}\n", s.p50_ms, s.p99_ms, s.max_ms);
            reactions.insert(name.to_string(), json!(s));
        }
        if t.reactions.is_empty() {
            table +=
                &format!("  {step:<20} {:>7} {:>9} {:>9} {:>9}  {trouble}\n", format!("0/{students}"), "-", "-", "-");
        }
        if t.completed < students {
            report.fail(format!(
                "{step}: {}/{students} completed ({} refused, {} errors)",
                t.completed,
                t.refused,
                t.errors.len()
            ));
        }
        let refusals: serde_json::Map<String, Value> = t
            .refusals
            .iter()
            .map(|(code, (n, message))| (code.clone(), json!({ "count": n, "message": message })))
            .collect();
        let counts: serde_json::Map<String, Value> =
            t.counts.iter().map(|(name, (sum, max))| (name.to_string(), json!({ "sum": sum, "max": max }))).collect();
        let errors: Vec<Value> = t.errors.iter().map(|(i, why)| json!({ "student": i, "reason": why })).collect();
        json_steps.insert(
            step.to_string(),
            json!({
                "students": students,
                "completed": t.completed,
                "refused": t.refused,
                "reaction": reactions,
                "refusals": refusals,
                "errors": errors,
                "counts": counts,
            }),
        );
    }
    let waits = queue_waits.summary();
    table += &format!(
        "  {:<20} {:>7} {:>9.1} {:>9} {:>9.1}  (first POST → the run is the server's)\n",
        "load queue wait", waits.count, waits.p50_ms, "", waits.max_ms
    );
    for (step, t) in STEPS.iter().zip(&totals) {
        for (code, (n, message)) in &t.refusals {
            table += &format!("  refused at {step}: {code} ×{n}: {message}\n");
        }
        for (name, (sum, max)) in &t.counts {
            table += &format!("  {step}.{name}: total {sum}, most for one student {max}\n");
        }
        for (student, why) in t.errors.iter().take(5) {
            table += &format!("  error at {step}, student {student}: {why}\n");
        }
        if t.errors.len() > 5 {
            table += &format!("  … and {} more errors at {step}\n", t.errors.len() - 5);
        }
    }
    report.detail("steps", Value::Object(json_steps), table);
    report.detail("queue_wait", json!(waits), "");
    let mut parts: BTreeMap<&str, Ledger> = BTreeMap::new();
    for walk in walks {
        for (name, ledger) in &walk.ledgers {
            parts.entry(name).or_default().merge(ledger);
            report.ledger.merge(ledger);
        }
    }
    let mut lines = String::new();
    for (name, l) in &parts {
        lines += &format!(
            "  ledger {name:<11} sent {} committed {} delivered {} delivered-ticks {}: {}\n",
            l.sent,
            l.committed,
            l.delivered,
            l.delivered_ticks,
            l.verdict()
        );
    }
    report.detail("ledgers", json!(parts), lines);
    let expired_shown: u64 = walks.iter().map(|w| w.expired_shown).sum();
    report.figure("students_finished", finished, "of the students completed every step");
    report.figure("seconds", seconds, "s for the whole class");
    report.figure("expired_then_shown", expired_shown, "messages shown after they FAILED (must be 0)");
    if expired_shown > 0 {
        report.fail(format!("{expired_shown} messages were shown to Bob after they expired"));
    }
    report.note("reactions: the student's action → the first change the page would show; see the doc of classroom");
    report.note("the ledger adds 1:1 messages, the group message per crowd member, and each lab's load run");
    report
}
