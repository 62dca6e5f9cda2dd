//! Every scenario, briefly and at small N, through the real binary with `--json`: it
//! must finish, do real work, and keep an exact ledger. No timing is asserted: these
//! prove the scenarios work, the figures in BENCHMARKS.md come from release runs.
//!
//! The tool's ledger is its own account of what happened; where a run keeps its data
//! dir, the server's database is read afterwards and must tell the same story.

use std::path::Path;
use std::process::Command;
use std::str::FromStr;

use serde_json::Value;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

/// Runs `bluetick-load --json ARGS` and returns its report (whatever the exit code, so a
/// failed ledger shows up in the assertion message).
fn run(args: &[&str]) -> Value {
    let output =
        Command::new(env!("CARGO_BIN_EXE_bluetick-load")).arg("--json").args(args).output().expect("run bluetick-load");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stdout: {stdout}\nstderr: {stderr}"));
    assert!(output.status.success(), "exit {:?}: {report:#}\nstderr: {stderr}", output.status);
    report
}

fn ledger(report: &Value, field: &str) -> u64 {
    report["ledger"][field].as_u64().unwrap_or_else(|| panic!("no ledger.{field} in {report:#}"))
}

/// `SELECT COUNT(*) …` on the database a run left in `dir`.
fn db_count(dir: &Path, sql: &'static str) -> u64 {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let options = SqliteConnectOptions::from_str("sqlite:")
            .unwrap()
            .filename(dir.join(bluetick_backend::store::DB_FILE))
            .read_only(true);
        let mut conn = SqliteConnection::connect_with(&options).await.expect("open the run's database");
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut conn).await.expect(sql);
        let _ = conn.close().await;
        n as u64
    })
}

/// The server's database against the ledger of a 1:1 run whose pairs (one device each)
/// exchanged only the messages the ledger counts: one row per message sent, one inbox
/// entry per message, acknowledged (each shown once), and one DELIVERED receipt each.
fn assert_database_agrees(dir: &Path, report: &Value) {
    let sent = ledger(report, "sent");
    assert_eq!(db_count(dir, "SELECT COUNT(*) FROM messages"), sent, "stored rows vs sent: {report:#}");
    assert_eq!(
        db_count(dir, "SELECT COUNT(DISTINCT sender_device || client_id) FROM messages"),
        sent,
        "one row per message id"
    );
    assert_eq!(db_count(dir, "SELECT COUNT(*) FROM inbox WHERE kind = 0"), sent, "one delivery per message");
    assert_eq!(
        db_count(dir, "SELECT COUNT(*) FROM inbox WHERE kind = 0 AND acked_at IS NOT NULL"),
        ledger(report, "delivered"),
        "deliveries acknowledged vs shown: {report:#}"
    );
    assert_eq!(
        db_count(dir, "SELECT COUNT(*) FROM messages WHERE state = 1"),
        ledger(report, "delivered_ticks"),
        "DELIVERED in the database vs DELIVERED ticks seen: {report:#}"
    );
    assert_eq!(
        db_count(dir, "SELECT COUNT(*) FROM inbox WHERE kind = 1 AND receipt_state = 1"),
        ledger(report, "delivered_ticks"),
        "one DELIVERED receipt per message"
    );
    assert_eq!(db_count(dir, "SELECT COUNT(*) FROM dead_letters"), 0);
}

/// Exact, and every message went all the way: delivered and ticked DELIVERED.
fn assert_complete(report: &Value) {
    assert_eq!(report["exact"], Value::Bool(true), "{report:#}");
    assert_eq!(report["ok"], Value::Bool(true), "{report:#}");
    let sent = ledger(report, "sent");
    assert!(sent > 0, "nothing was sent: {report:#}");
    assert_eq!(ledger(report, "delivered"), sent, "{report:#}");
    assert_eq!(ledger(report, "lost"), 0, "{report:#}");
    assert_eq!(ledger(report, "duplicated"), 0, "{report:#}");
}

#[test]
fn throughput_at_full_speed_delivers_every_message_once() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let report = run(&["throughput", "--pairs", "4", "--duration", "1", "--window", "8", "--data-dir", dir]);
    assert_complete(&report);
    assert_database_agrees(data.path(), &report);
    assert_eq!(ledger(&report, "delivered_ticks"), ledger(&report, "sent"), "{report:#}");
    assert!(report["figures"]["msgs_per_s"].as_f64().unwrap() > 0.0, "{report:#}");
    assert!(report["latency"]["send_to_delivered_tick"]["count"].as_u64().unwrap() > 0, "{report:#}");
    // The server is the run's own child: its CPU time is read from /proc.
    assert!(report["figures"]["server_cpu_us_per_msg"].is_number(), "{report:#}");
}

#[test]
fn throughput_at_a_target_rate_delivers_every_message_once() {
    let report = run(&["throughput", "--pairs", "2", "--duration", "1", "--rate", "100"]);
    assert_complete(&report);
}

#[test]
fn idle_connections_stay_open_past_the_presence_ttl_with_heartbeats() {
    // A 4 s TTL and a 5 s hold: without heartbeats the server would close them all. The
    // server runs in its own process on real time, so the heartbeat interval leaves a
    // stall of over 3 s before a heartbeat is late.
    let report = run(&[
        "connections",
        "--count",
        "200",
        "--hold",
        "5",
        "--heartbeat-ms",
        "500",
        "--server-arg=--presence-ttl-ms=4000",
    ]);
    assert_eq!(report["ok"], Value::Bool(true), "{report:#}");
    assert_eq!(report["figures"]["connections_held"], 200, "{report:#}");
    assert!(report["figures"]["heartbeats"].as_u64().unwrap() >= 200, "{report:#}");
    assert!(report["figures"]["server_bytes_per_connection"].as_f64().unwrap() > 0.0, "{report:#}");
}

#[test]
fn fanout_reaches_every_member_exactly_once() {
    let report = run(&["fanout", "--members", "20", "--sends", "5", "--duration", "1", "--window", "4"]);
    assert_complete(&report);
    // One figure per one-at-a-time send, both ends: the last member has it, and the
    // sender sees the group DELIVERED.
    assert_eq!(report["latency"]["send_to_last_member"]["count"], 5, "{report:#}");
    assert_eq!(report["latency"]["send_to_group_delivered"]["count"], 5, "{report:#}");
    assert_eq!(report["parameters"]["group_size"], 21, "{report:#}");
}

#[test]
fn a_reconnect_storm_loses_and_duplicates_nothing() {
    let report = run(&["reconnect-storm", "--clients", "50", "--messages", "2", "--backoff-ms", "100"]);
    assert_complete(&report);
    assert_eq!(ledger(&report, "sent"), 100, "{report:#}");
    assert_eq!(report["latency"]["drop_to_back_and_drained"]["count"], 50, "{report:#}");
}

#[test]
fn chaos_keeps_the_ledger_exact_across_sigkills() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().to_str().unwrap();
    let report =
        run(&["chaos", "--pairs", "4", "--duration", "3", "--kills", "2", "--down-ms", "200", "--data-dir", dir]);
    assert_complete(&report);
    // Killed mid-send and mid-ack twice, and still: what the database holds is what the
    // ledger says, nothing stored twice, nothing acknowledged twice.
    assert_database_agrees(data.path(), &report);
    assert_eq!(report["figures"]["sigkills"], 2, "{report:#}");
    assert!(report["figures"]["reconnects"].as_u64().unwrap() > 0, "the kills did not cut anyone off: {report:#}");
}

#[test]
fn relay_baseline_measures_both_and_their_ratio() {
    let report = run(&["relay-baseline", "--pairs", "2", "--duration", "1", "--window", "8"]);
    assert_complete(&report);
    assert!(report["figures"]["relay_msgs_per_s"].as_f64().unwrap() > 0.0, "{report:#}");
    assert!(report["figures"]["fraction_of_relay"].as_f64().unwrap() > 0.0, "{report:#}");
}

#[test]
fn mqtt_baseline_is_exactly_once_and_in_order_through_mosquitto() {
    // Mosquitto is not part of `make test`'s tools: scripts/bench.sh installs it.
    if let Err(why) = bluetick_load::mqtt::broker::find_mosquitto() {
        eprintln!("skipped: {why}");
        return;
    }
    let report = run(&["mqtt-baseline", "--pairs", "2", "--duration", "1", "--window", "8", "--drain-timeout", "10"]);
    assert_complete(&report);
    assert_eq!(ledger(&report, "committed"), ledger(&report, "sent"), "every PUBLISH got its PUBCOMP: {report:#}");
    assert_eq!(report["figures"]["out_of_order"], 0, "{report:#}");
    assert!(report["figures"]["msgs_per_s"].as_f64().unwrap() > 0.0, "{report:#}");
    assert!(report["figures"]["server_cpu_us_per_msg"].is_number(), "{report:#}");
    for latency in ["send_to_subscriber", "send_to_pubcomp"] {
        assert_eq!(report["latency"][latency]["count"].as_u64(), Some(ledger(&report, "sent")), "{report:#}");
    }
}
