//! The lab's load run against a real server and a real SQLite file: a small run ends with
//! an exact ledger and one sample per second; a second lab's run waits in line and starts
//! in turn; oversized runs and callers without a lab are refused with a sentence. No
//! throughput figure is asserted: the machine running the tests decides those.

use std::time::Duration;

use bluetick_shared::frames::Registration;
use bluetick_shared::lab::{LabCreated, LabView};
use bluetick_shared::lab_load::{LoadRun, LoadState, LoadView};
use bluetick_shared::ledger::Ledger;
use bluetick_tests::db;
use bluetick_tests::http::{as_device, post_json, register};
use bluetick_tests::server::TestServer;

/// Far longer than any run here takes (a run is at most `seconds` plus its drain).
const FINISH_WITHIN: Duration = Duration::from_secs(60);

async fn new_lab(server: &TestServer) -> Registration {
    let (status, body) = post_json(server.addr, "/api/labs", "").await;
    assert_eq!(status, 201, "{body}");
    let lab: LabCreated = serde_json::from_str(&body).expect("a lab");
    lab.devices[0].clone()
}

async fn start(server: &TestServer, me: &Registration, body: &str) -> (u16, serde_json::Value) {
    let (status, text) = as_device(server.addr, me, "POST", "/api/lab/load", Some(body)).await;
    (status, serde_json::from_str(&text).unwrap_or_else(|_| panic!("JSON: {text}")))
}

async fn view(server: &TestServer, me: &Registration) -> LoadView {
    let (status, body) = as_device(server.addr, me, "GET", "/api/lab/load", None).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("a load view")
}

async fn wait_until_over(server: &TestServer, me: &Registration) -> LoadRun {
    let deadline = tokio::time::Instant::now() + FINISH_WITHIN;
    loop {
        if let Some(run) = view(server, me).await.run
            && run.state.is_over()
        {
            return run;
        }
        assert!(tokio::time::Instant::now() < deadline, "the run did not end");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Every message sent was stored, shown once and ticked DELIVERED.
fn assert_exact(ledger: &Ledger) {
    assert!(ledger.sent > 0, "{ledger:?}");
    assert_eq!(
        *ledger,
        Ledger {
            sent: ledger.sent,
            committed: ledger.sent,
            delivered: ledger.sent,
            delivered_ticks: ledger.sent,
            lost: 0,
            duplicated: 0,
            ..*ledger
        }
    );
}

#[tokio::test]
async fn a_small_run_finishes_with_an_exact_ledger_and_a_sample_per_second() {
    let server = TestServer::start().await;
    let me = new_lab(&server).await;
    let (status, body) = start(&server, &me, r#"{"pairs": 2, "seconds": 2}"#).await;
    assert_eq!(status, 202, "{body}");
    let started: LoadView = serde_json::from_value(body).unwrap();
    assert_eq!((started.caps.max_pairs, started.caps.max_seconds), (50, 20));
    assert!(!started.run.expect("the new run").state.is_over());

    let run = wait_until_over(&server, &me).await;
    assert_eq!(run.state, LoadState::Finished, "{:?}", run.reason);
    assert_exact(&run.ledger);
    assert_eq!(run.samples.iter().map(|s| s.second).collect::<Vec<_>>(), [0, 1]);
    // Samples cover the sending seconds; ticks that came during the drain are in the
    // ledger only.
    assert!(run.samples.iter().map(|s| s.delivered).sum::<u64>() <= run.ledger.delivered_ticks);
    assert!(run.p99_ms >= run.p50_ms && run.p50_ms > 0.0, "{run:?}");
    // Stored once each, in the real database.
    let stored = db::count(server.data_dir(), "SELECT COUNT(*) FROM messages").await;
    assert_eq!(stored as u64, run.ledger.sent);

    // A second, smaller run reuses the lab's load devices rather than registering more.
    let (status, body) = start(&server, &me, r#"{"pairs": 1, "seconds": 1, "rate": 200}"#).await;
    assert_eq!(status, 202, "{body}");
    let again = wait_until_over(&server, &me).await;
    assert_eq!(again.state, LoadState::Finished, "{:?}", again.reason);
    assert_exact(&again.ledger);
    assert_eq!(again.samples.len(), 1);
    let (status, body) = as_device(server.addr, &me, "GET", "/api/lab", None).await;
    assert_eq!(status, 200, "{body}");
    let lab: LabView = serde_json::from_str(&body).unwrap();
    let load_devices = lab.devices.iter().filter(|d| d.name.starts_with("Load ")).count();
    assert_eq!(load_devices, 4, "two pairs registered once: {:?}", lab.devices);
    server.stop().await;
}

#[tokio::test]
async fn runs_outside_the_caps_are_refused_with_the_limit() {
    let server = TestServer::start_with(|config| config.lab_load_max_pairs = 3).await;
    let me = new_lab(&server).await;
    for (body, sentence) in [
        (r#"{"pairs": 4, "seconds": 2}"#, "pairs must be 1 to 3"),
        (r#"{"pairs": 0, "seconds": 2}"#, "pairs must be 1 to 3"),
        (r#"{"pairs": 2, "seconds": 21}"#, "seconds must be 1 to 20"),
        (r#"{"pairs": 2, "seconds": 0}"#, "seconds must be 1 to 20"),
        (r#"{"pairs": 2, "seconds": 2, "rate": 0}"#, "rate must be 1 to 100000"),
        (r#"{"pairs": 2}"#, "expected {\"pairs\": N"),
        (r#"{"pairs": 2, "seconds": 2, "clients": 9}"#, "expected {\"pairs\": N"),
    ] {
        let (status, answer) = start(&server, &me, body).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["error"], "bad_request");
        let message = answer["message"].as_str().unwrap();
        assert!(message.starts_with(sentence), "{body}: {message}");
    }
    assert_eq!(view(&server, &me).await.run, None, "nothing started");
    server.stop().await;
}

/// One run holds the server at a time; the next labs' runs wait in a first-come line
/// with their place shown, start by themselves in turn, and may leave the line.
#[tokio::test]
async fn fair_share_queue() {
    let server = TestServer::start().await;
    let first = new_lab(&server).await;
    let second = new_lab(&server).await;
    let third = new_lab(&server).await;
    let (status, body) = start(&server, &first, r#"{"pairs": 2, "seconds": 3}"#).await;
    assert_eq!(status, 202, "{body}");

    // The second and third labs are queued, not refused, and told their place.
    let (status, answer) = start(&server, &second, r#"{"pairs": 1, "seconds": 1}"#).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["queue_position"], 1, "{answer}");
    assert_eq!(answer["run"]["state"], "queued", "{answer}");
    let (status, answer) = start(&server, &third, r#"{"pairs": 1, "seconds": 1}"#).await;
    assert_eq!(status, 202, "{answer}");
    assert_eq!(answer["queue_position"], 2, "{answer}");
    assert_eq!(answer["queued"], 2, "{answer}");

    // Asking again says where the lab's run already is.
    let (status, answer) = start(&server, &first, r#"{"pairs": 1, "seconds": 1}"#).await;
    assert_eq!((status, answer["error"].as_str()), (409, Some("load_running")), "{answer}");
    let (status, answer) = start(&server, &second, r#"{"pairs": 1, "seconds": 1}"#).await;
    assert_eq!((status, answer["error"].as_str()), (409, Some("load_queued")), "{answer}");
    assert!(answer["message"].as_str().unwrap().contains("at place 1"), "{answer}");

    // The third lab leaves the line (its reset); leaving twice is refused.
    let (status, body) = as_device(server.addr, &third, "DELETE", "/api/lab/load", None).await;
    assert_eq!(status, 200, "{body}");
    let left = view(&server, &third).await;
    assert_eq!(left.queue_position, None);
    let run = left.run.expect("the run that left is still shown");
    assert_eq!(run.state, LoadState::Failed);
    assert!(run.reason.unwrap().contains("left the line"));
    let (status, body) = as_device(server.addr, &third, "DELETE", "/api/lab/load", None).await;
    assert_eq!(status, 409, "{body}");

    // The other labs see that the server is busy, but not the first lab's run.
    let seen = view(&server, &second).await;
    assert!(seen.busy_elsewhere);
    assert_eq!(seen.queue_position, Some(1));

    let run = wait_until_over(&server, &first).await;
    assert_eq!(run.state, LoadState::Finished, "{:?}", run.reason);
    assert_exact(&run.ledger);
    // The second lab's run started by itself when the first ended.
    let run = wait_until_over(&server, &second).await;
    assert_eq!(run.state, LoadState::Finished, "{:?}", run.reason);
    assert_eq!(run.request.pairs, 1);
    assert_exact(&run.ledger);
    let after = view(&server, &second).await;
    assert_eq!((after.queue_position, after.queued, after.busy_elsewhere), (None, 0, false));
    server.stop().await;
}

#[tokio::test]
async fn only_a_lab_device_may_start_or_read_a_run() {
    let server = TestServer::start().await;
    let body = r#"{"pairs": 1, "seconds": 1}"#;
    let (status, _) = post_json(server.addr, "/api/lab/load", body).await;
    assert_eq!(status, 401, "no credentials");
    let mut stranger = new_lab(&server).await;
    stranger.token = "not-the-token".into();
    let (status, _) = as_device(server.addr, &stranger, "POST", "/api/lab/load", Some(body)).await;
    assert_eq!(status, 401, "a wrong token");
    let outsider = register(server.addr, "Outside any lab").await;
    for method in ["POST", "GET"] {
        let (status, text) = as_device(server.addr, &outsider, method, "/api/lab/load", Some(body)).await;
        assert_eq!(status, 403, "{method}: {text}");
        assert!(text.contains("not in a lab sandbox"), "{text}");
    }
    // Nothing ran: no device was registered for a run, no socket opened.
    let (status, _) = as_device(server.addr, &new_lab(&server).await, "GET", "/api/lab/load", None).await;
    assert_eq!(status, 200);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM users WHERE name LIKE 'Load %'").await, 0);
    server.stop().await;
}

/// Regression: a server dropped without stopping (its runtime shut down, as when a test
/// panics) while a run waited in the line deadlocked. The ending run's slot launched the
/// next run under the runs' lock; the shutting-down runtime dropped that new task at
/// once, and its slot's drop wanted the same lock.
#[test]
fn dropping_the_server_with_a_run_in_line_does_not_deadlock() {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let server = TestServer::start().await;
            let (first, second) = (new_lab(&server).await, new_lab(&server).await);
            assert_eq!(start(&server, &first, r#"{"pairs": 1, "seconds": 5}"#).await.0, 202);
            let (status, answer) = start(&server, &second, r#"{"pairs": 1, "seconds": 1}"#).await;
            assert_eq!((status, answer["queue_position"].as_u64()), (202, Some(1)), "{answer}");
            // The server is dropped here, its run going and another in line.
        });
        drop(runtime);
        done.send(()).unwrap();
    });
    // Generous: shutting down takes milliseconds; a deadlock never ends.
    finished.recv_timeout(Duration::from_secs(60)).expect("the runtime shut down");
}
