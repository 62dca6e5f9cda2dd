//! `crowd-cost` briefly and at small N, through the real binary with `--json`: every
//! member asked for comes online and stays, the per-member figures are there, and a
//! server that refuses a crowd fails the run with its own sentence. No timing or size is
//! asserted: the figures in BENCHMARKS.md come from release runs.

mod common;

use std::process::Output;

use serde_json::Value;

/// Runs `bluetick-load --json crowd-cost ARGS` and returns its report and exit status.
fn run(args: &[&str]) -> (Value, Output) {
    common::run_json(&[&["crowd-cost"], args].concat())
}

fn figure(report: &Value, name: &str) -> f64 {
    report["figures"][name].as_f64().unwrap_or_else(|| panic!("no figure {name} in {report:#}"))
}

#[test]
fn every_member_comes_online_and_its_cost_is_reported() {
    // Three crowds (20 + 20 + 10), so the split into labs and groups is exercised too.
    let (report, output) = run(&["--members", "50", "--crowd-size", "20", "--hold", "1"]);
    assert!(output.status.success(), "exit {:?}: {report:#}", output.status);
    assert_eq!(report["ok"], Value::Bool(true), "{report:#}");
    assert_eq!(report["parameters"]["crowds"], 3, "{report:#}");
    assert_eq!(figure(&report, "members_started"), 50.0, "{report:#}");
    assert_eq!(figure(&report, "members_online"), 50.0, "{report:#}");
    assert_eq!(figure(&report, "members_online_after_hold"), 50.0, "{report:#}");
    // The server is the run's own child: /proc tells its memory, descriptors and CPU.
    for name in [
        "connect_s",
        "server_rss_before_mib",
        "server_rss_held_mib",
        "server_bytes_per_member",
        "server_fds_per_member",
        "server_cpu_us_per_member_s",
        "server_fd_limit",
    ] {
        figure(&report, name);
    }
    // The server's own members come in through its in-memory door: no open file each.
    assert!(figure(&report, "server_fds_per_member") < 0.5, "{report:#}");
}

#[test]
fn a_crowd_the_server_refuses_fails_the_run_with_its_sentence() {
    // Room for one crowd of 20 but not two.
    let (report, output) =
        run(&["--members", "40", "--crowd-size", "20", "--hold", "0", "--server-arg=--crowd-max-total=30"]);
    assert!(!output.status.success(), "a refused crowd must fail the run: {report:#}");
    assert_eq!(report["ok"], Value::Bool(false), "{report:#}");
    let failures = report["failures"].to_string();
    assert!(failures.contains("refused crowd 2 of 2"), "{report:#}");
    assert!(failures.contains("its cap is 30"), "the server's own sentence: {report:#}");
    // The crowd it accepted was still measured.
    assert_eq!(figure(&report, "members_started"), 20.0, "{report:#}");
    assert_eq!(figure(&report, "members_online"), 20.0, "{report:#}");
}
