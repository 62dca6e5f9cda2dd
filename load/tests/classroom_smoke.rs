//! `classroom` at small N through the real binary with `--json`: two students walk the
//! whole guided path against a server the tool starts; every step must complete for both
//! and the ledger must be exact. No timing is asserted, only that each step measured its
//! reaction once per student.

mod common;

use bluetick_load::scenarios::classroom::STEPS;
use serde_json::Value;

#[test]
fn two_students_complete_every_step_with_an_exact_ledger() {
    let (report, output) =
        common::run_json(&["classroom", "--students", "2", "--think-ms", "50", "--crowd", "16", "--load-seconds", "1"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "exit {:?}: {report:#}\nstderr: {stderr}", output.status);
    assert_eq!(report["scenario"], "classroom", "{report:#}");
    assert_eq!(report["ok"], Value::Bool(true), "{report:#}");
    assert_eq!(report["exact"], Value::Bool(true), "{report:#}");
    assert_eq!(report["figures"]["students_finished"], 2, "{report:#}");
    let steps = &report["details"]["steps"];
    for step in STEPS {
        let s = &steps[step];
        assert_eq!(s["completed"], 2, "{step}: {s:#}");
        assert_eq!(s["errors"].as_array().map(Vec::len), Some(0), "{step}: {s:#}");
        assert_eq!(s["reaction"][step]["count"], 2, "{step} measured its reaction once per student: {s:#}");
    }
    // Every part of the ledger did real work and came out exact: 8 1:1 messages per
    // student (5 queued, the retry storm's one, ticks, encrypted), the group message per
    // crowd member, and the load runs.
    let parts = &report["details"]["ledgers"];
    assert_eq!(parts["one_to_one"]["sent"], 16, "{parts:#}");
    assert_eq!(parts["one_to_one"]["delivered"], 16, "{parts:#}");
    assert_eq!(parts["fanout"]["sent"], 32, "{parts:#}");
    assert_eq!(parts["fanout"]["delivered"], 32, "{parts:#}");
    assert!(parts["load_run"]["sent"].as_u64().unwrap() > 0, "{parts:#}");
    let ledger = &report["ledger"];
    assert!(ledger["sent"].as_u64().unwrap() > 0, "{report:#}");
    assert_eq!(ledger["delivered"], ledger["sent"], "{report:#}");
    for field in ["lost", "duplicated", "unconfirmed", "unexpected"] {
        assert_eq!(ledger[field], 0, "{field}: {report:#}");
    }
    assert_eq!(report["figures"]["expired_then_shown"], 0, "{report:#}");
    // The retry storm stored its ten sends once.
    assert_eq!(steps["retry_storm"]["counts"]["stored_rows"]["max"], 1, "{:#}", steps["retry_storm"]);
}

/// With `--class`, every student joins the class first, as the page's join banner does: a
/// code no class has is refused with the server's sentence, and the walk stops there.
#[test]
fn a_class_code_nobody_has_stops_each_walk_with_the_servers_sentence() {
    let (report, output) = common::run_json(&["classroom", "--students", "2", "--think-ms", "50", "--class", "ZZZZZZ"]);
    assert!(!output.status.success(), "{report:#}");
    assert_eq!(report["ok"], Value::Bool(false), "{report:#}");
    let lab = &report["details"]["steps"]["lab"];
    assert_eq!(lab["completed"], 0, "{lab:#}");
    assert!(lab.to_string().contains("no class has the code ZZZZZZ"), "{lab:#}");
}
