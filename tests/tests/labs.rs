//! Lab sandboxes: each browser's devices and controls, attacked from a second lab and
//! through the real gateway: drop network, injected outages, compressed expiry, the
//! queue view, the retry storm's copy count and the idle sweep.

use std::time::Duration;

use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{ClientFrame, Recipient, Registration, ServerFrame, TickState};
use bluetick_shared::lab::{LabView, MessageCopies, QueueView};
use bluetick_tests::client::RawClient;
use bluetick_tests::db;
use bluetick_tests::http::{as_device, lab_device, new_lab};
use bluetick_tests::server::TestServer;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

async fn queue_of(server: &TestServer, caller: &Registration, of: &Registration) -> QueueView {
    let path = format!("/api/lab/devices/{}/queue", of.device_id);
    let (status, body) = as_device(server.addr, caller, "GET", &path, None).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("a queue view")
}

/// Sends `body` from a raw client and waits for its SENT ack.
async fn send_and_wait_sent(client: &mut RawClient, to: &Registration, body: &str) -> Uuid {
    let id = Uuid::now_v7();
    client.send(&ClientFrame::Send { id, to: Recipient::User(to.user_id), body: body.into() }).await;
    loop {
        match client.recv().await {
            ServerFrame::Sent { id: acked, .. } if acked == id => return id,
            _ => {}
        }
    }
}

#[tokio::test]
async fn a_lab_starts_with_you_alice_and_bob_and_lists_them() {
    let server = TestServer::start().await;
    let lab = new_lab(server.addr).await;
    let names: Vec<&str> = lab.devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["You", "Alice", "Bob"]);
    let _you = RawClient::connect_as(&server.ws_url(), lab_device(&lab, "You"), 0).await;
    let (status, body) = as_device(server.addr, lab_device(&lab, "Bob"), "GET", "/api/lab", None).await;
    assert_eq!(status, 200, "{body}");
    let view: LabView = serde_json::from_str(&body).unwrap();
    assert_eq!(view.lab_id, lab.lab_id);
    let online: Vec<(&str, bool)> = view.devices.iter().map(|d| (d.name.as_str(), d.online)).collect();
    assert_eq!(online, [("You", true), ("Alice", false), ("Bob", false)]);
    server.stop().await;
}

#[tokio::test]
async fn a_lab_control_cannot_reach_another_labs_device() {
    let server = TestServer::start().await;
    let mine = new_lab(server.addr).await;
    let theirs = new_lab(server.addr).await;
    let me = lab_device(&mine, "Alice");
    let their_bob = lab_device(&theirs, "Bob");
    let mut their_conn = RawClient::connect_as(&server.ws_url(), their_bob, 0).await;
    // Take the `drained` of connecting now, so that nothing buffered before the attempts
    // below can pass for an answer after them.
    assert_eq!(their_conn.recv().await, ServerFrame::Drained { up_to: 0 });

    for (method, path, body) in [
        ("POST", format!("/api/lab/devices/{}/drop", their_bob.device_id), None),
        ("POST", format!("/api/lab/devices/{}/outage", their_bob.device_id), Some(r#"{"seconds":5}"#)),
        ("DELETE", format!("/api/lab/devices/{}/outage", their_bob.device_id), None),
        ("GET", format!("/api/lab/devices/{}/queue", their_bob.device_id), None),
    ] {
        let (status, text) = as_device(server.addr, me, method, &path, body).await;
        assert_eq!(status, 404, "{method} {path}: {text}");
    }
    // Nor can a message, an observer or a presence watch cross between labs.
    let mut alice = RawClient::connect_as(&server.ws_url(), me, 0).await;
    assert!(matches!(alice.recv().await, ServerFrame::Drained { .. }));
    let id = Uuid::now_v7();
    alice.send(&ClientFrame::Send { id, to: Recipient::User(their_bob.user_id), body: "hi".into() }).await;
    assert!(matches!(alice.recv().await, ServerFrame::Error { code: ErrorCode::UnknownRecipient, .. }));
    alice.send(&ClientFrame::Observe { with: Recipient::User(their_bob.user_id) }).await;
    assert!(matches!(alice.recv().await, ServerFrame::Error { code: ErrorCode::UnknownRecipient, .. }));
    alice.send(&ClientFrame::WatchPresence { users: vec![their_bob.user_id] }).await;
    assert!(matches!(alice.recv().await, ServerFrame::Error { code: ErrorCode::UnknownRecipient, .. }));

    // Their connection was never touched: it still answers, and what it sends is stored
    // (a connection cut by the drop, or refused by the outage, would fail here).
    let id = Uuid::now_v7();
    let their_alice = lab_device(&theirs, "Alice");
    their_conn
        .send(&ClientFrame::Send { id, to: Recipient::User(their_alice.user_id), body: "still here".into() })
        .await;
    assert!(matches!(their_conn.recv().await, ServerFrame::Sent { id: acked, .. } if acked == id));
    server.stop().await;
}

#[tokio::test]
async fn lab_controls_need_a_lab_device_and_valid_input() {
    let server = TestServer::start().await;
    let lab = new_lab(server.addr).await;
    let outsider = bluetick_tests::http::register(server.addr, "Outsider").await;
    let (status, _) = as_device(server.addr, &outsider, "GET", "/api/lab", None).await;
    assert_eq!(status, 403);
    let you = lab_device(&lab, "You");
    let path = format!("/api/lab/devices/{}/outage", you.device_id);
    for bad in [r#"{"seconds":0}"#, r#"{"seconds":100000}"#, r#"{"secs":5}"#, "nonsense"] {
        let (status, body) = as_device(server.addr, you, "POST", &path, Some(bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("seconds"), "the error says what is expected: {body}");
    }
    let (status, _) = as_device(server.addr, you, "PUT", "/api/lab/expiry", Some(r#"{"seconds":0}"#)).await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn drop_network_cuts_the_connection_without_a_close_frame() {
    let server = TestServer::start().await;
    let lab = new_lab(server.addr).await;
    let you = lab_device(&lab, "You");
    let mut conn = RawClient::connect_as(&server.ws_url(), you, 0).await;
    let path = format!("/api/lab/devices/{}/drop", you.device_id);
    let (status, body) = as_device(server.addr, you, "POST", &path, None).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""dropped":1"#), "{body}");
    conn.expect_cut().await;
    // Nothing stops it from coming straight back.
    let _again = RawClient::connect_as(&server.ws_url(), you, 0).await;
    server.stop().await;
}

#[tokio::test]
async fn an_outage_refuses_the_device_until_it_ends() {
    // The outage ends when the server's clock says so: the test moves it, so a stall of
    // this machine cannot end the outage before the "refused" check.
    let server = TestServer::start_skippable(|_| {}).await;
    let lab = new_lab(server.addr).await;
    let you = lab_device(&lab, "You");
    let mut conn = RawClient::connect_as(&server.ws_url(), you, 0).await;
    let path = format!("/api/lab/devices/{}/outage", you.device_id);
    let (status, body) = as_device(server.addr, you, "POST", &path, Some(r#"{"seconds":60}"#)).await;
    assert_eq!(status, 200, "{body}");
    conn.expect_cut().await;
    assert!(RawClient::try_hello_as(&server.ws_url(), you).await.is_none(), "refused during the outage");
    // Other devices of the same lab are not affected.
    let _alice = RawClient::connect_as(&server.ws_url(), lab_device(&lab, "Alice"), 0).await;

    server.advance(Duration::from_secs(30));
    assert!(RawClient::try_hello_as(&server.ws_url(), you).await.is_none(), "refused halfway through");
    server.advance(Duration::from_secs(31));
    match RawClient::try_hello_as(&server.ws_url(), you).await {
        Some((_, ServerFrame::Welcome { .. })) => {}
        other => panic!("the outage is over: expected a welcome, got {:?}", other.map(|(_, frame)| frame)),
    }
    server.stop().await;
}

#[tokio::test]
async fn ending_an_outage_lets_the_device_in_at_once() {
    // A lab's reset ends the outage it started: no clock moves here, so only the DELETE
    // can let the device in before its 60 s are up.
    let server = TestServer::start().await;
    let lab = new_lab(server.addr).await;
    let you = lab_device(&lab, "You");
    let path = format!("/api/lab/devices/{}/outage", you.device_id);
    let (status, body) = as_device(server.addr, you, "POST", &path, Some(r#"{"seconds":60}"#)).await;
    assert_eq!(status, 200, "{body}");
    assert!(RawClient::try_hello_as(&server.ws_url(), you).await.is_none(), "refused during the outage");
    let (status, body) = as_device(server.addr, you, "DELETE", &path, None).await;
    assert_eq!(status, 200, "{body}");
    match RawClient::try_hello_as(&server.ws_url(), you).await {
        Some((_, ServerFrame::Welcome { .. })) => {}
        other => panic!("the outage was ended: expected a welcome, got {:?}", other.map(|(_, frame)| frame)),
    }
    // Ending an outage that is not there is not an error: a reset may run twice.
    let (status, body) = as_device(server.addr, you, "DELETE", &path, None).await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn compressed_expiry_fails_an_undelivered_message_in_this_lab_only() {
    // The compressed expiry passes when the test moves the server's clock past it; the
    // lab's presence TTL outlasts the skip, or it would take Alice offline too.
    let server = TestServer::start_skippable(|c| c.lab_presence_ttl_ms = 600_000).await;
    let lab = new_lab(server.addr).await;
    let other = new_lab(server.addr).await;
    let (alice, bob) = (lab_device(&lab, "Alice"), lab_device(&lab, "Bob"));
    let (status, body) = as_device(server.addr, alice, "PUT", "/api/lab/expiry", Some(r#"{"seconds":60}"#)).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""expiry_secs":60"#), "{body}");

    let mut conn = RawClient::connect_as(&server.ws_url(), alice, 0).await;
    let id = send_and_wait_sent(&mut conn, bob, "will fail").await;
    let mut other_alice = RawClient::connect_as(&server.ws_url(), lab_device(&other, "Alice"), 0).await;
    let kept = send_and_wait_sent(&mut other_alice, lab_device(&other, "Bob"), "will wait").await;
    server.advance(Duration::from_secs(61));
    loop {
        match conn.recv().await {
            ServerFrame::Receipt { id: failed, state: TickState::Failed, reason, .. } => {
                assert_eq!(failed, id);
                assert!(reason.is_some(), "a FAILED receipt says why");
                break;
            }
            _ => continue,
        }
    }
    // The other lab's message keeps the server's 30-day expiry.
    let expires_in_days =
        db::count(server.data_dir(), "SELECT MIN(expires_at - sent_at) / 86400000 FROM messages WHERE state = 0").await;
    assert_eq!(expires_in_days, 30, "{kept}");
    server.stop().await;
}

#[tokio::test]
async fn the_queue_view_shows_bobs_backlog_in_order_with_wakeups_and_empties_on_flush() {
    let server = TestServer::start().await;
    let lab = new_lab(server.addr).await;
    let (alice, bob) = (lab_device(&lab, "Alice"), lab_device(&lab, "Bob"));
    let mut conn = RawClient::connect_as(&server.ws_url(), alice, 0).await;
    for i in 1..=3 {
        send_and_wait_sent(&mut conn, bob, &format!("offline {i}")).await;
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    let view = loop {
        let view = queue_of(&server, alice, bob).await;
        if view.wakeups_total == 3 || tokio::time::Instant::now() > deadline {
            break view;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(view.waiting, 3);
    let bodies: Vec<(u64, &str)> = view.entries.iter().map(|e| (e.seq, e.summary.as_str())).collect();
    assert_eq!(bodies, [(1, "offline 1"), (2, "offline 2"), (3, "offline 3")]);
    assert!(view.entries.iter().all(|e| e.kind == "message" && e.from_name == "Alice"));
    assert_eq!(view.wakeups_total, 3, "one push wake-up per message for an offline device");

    let mut bob_conn = RawClient::connect_as(&server.ws_url(), bob, 0).await;
    let mut seqs = Vec::new();
    while seqs.len() < 3 {
        if let ServerFrame::Message { seq, .. } = bob_conn.recv().await {
            seqs.push(seq);
        }
    }
    assert_eq!(seqs, [1, 2, 3]);
    bob_conn.send(&ClientFrame::Ack { up_to: 3 }).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let view = queue_of(&server, bob, bob).await;
        if view.waiting == 0 {
            assert!(view.entries.is_empty());
            assert_eq!(view.acked_seq, 3);
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the queue never emptied: {view:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn a_retry_storm_leaves_one_row_and_one_delivery() {
    let server = TestServer::start().await;
    let lab = new_lab(server.addr).await;
    let (alice, bob) = (lab_device(&lab, "Alice"), lab_device(&lab, "Bob"));
    let mut conn = RawClient::connect_as(&server.ws_url(), alice, 0).await;
    let id = Uuid::now_v7();
    let frame = ClientFrame::Send { id, to: Recipient::User(bob.user_id), body: "storm".into() };
    for _ in 0..20 {
        conn.send(&frame).await;
    }
    let mut acks = 0;
    while acks < 20 {
        if let ServerFrame::Sent { .. } = conn.recv().await {
            acks += 1;
        }
    }
    let (status, body) = as_device(server.addr, alice, "GET", &format!("/api/lab/messages/{id}"), None).await;
    assert_eq!(status, 200, "{body}");
    let copies: MessageCopies = serde_json::from_str(&body).unwrap();
    assert_eq!(copies, MessageCopies { stored_rows: 1, deliveries: 1, stored_body: Some("storm".into()) });
    // Another lab asking about the same id sees nothing of it, body included.
    let other = new_lab(server.addr).await;
    let (_, body) =
        as_device(server.addr, lab_device(&other, "Alice"), "GET", &format!("/api/lab/messages/{id}"), None).await;
    let theirs = serde_json::from_str::<MessageCopies>(&body).unwrap();
    assert_eq!((theirs.stored_rows, theirs.stored_body), (0, None));
    server.stop().await;
}

#[tokio::test]
async fn idle_labs_are_deleted_whole_but_not_while_a_device_is_connected() {
    let server = TestServer::start_with(|c| {
        c.lab_idle_secs = 1;
        c.lab_sweep_ms = 100;
        // The busy tab sends no heartbeats: with the lab's 8 s TTL a stall that long
        // would take it offline and its lab with it.
        c.lab_presence_ttl_ms = 600_000;
    })
    .await;
    let idle = new_lab(server.addr).await;
    let busy = new_lab(server.addr).await;
    // Some history in the idle lab: a delivered message and an undelivered one.
    let mut alice = RawClient::connect_as(&server.ws_url(), lab_device(&idle, "Alice"), 0).await;
    send_and_wait_sent(&mut alice, lab_device(&idle, "Bob"), "one").await;
    send_and_wait_sent(&mut alice, lab_device(&idle, "Bob"), "two").await;
    drop(alice);
    let _busy_tab = RawClient::connect_as(&server.ws_url(), lab_device(&busy, "You"), 0).await;

    // Watch the database, not the API: asking the API is using the lab.
    let deadline = tokio::time::Instant::now() + WAIT;
    while db::count(server.data_dir(), "SELECT COUNT(*) FROM labs").await > 1 {
        assert!(tokio::time::Instant::now() < deadline, "the idle lab was never deleted");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, _) = as_device(server.addr, lab_device(&idle, "You"), "GET", "/api/lab", None).await;
    assert_eq!(status, 401, "the idle lab's credentials are gone with it");
    let (status, _) = as_device(server.addr, lab_device(&busy, "Bob"), "GET", "/api/lab", None).await;
    assert_eq!(status, 200, "a lab with a connected device is not idle");
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM labs").await, 1);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM users").await, 3);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM messages").await, 0);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM inbox").await, 0);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM push_outbox").await, 0);
    server.stop().await;
}

/// Sends a heartbeat the server has provably read, and returns the next presence frame:
/// the answer to the presence watch sent after the heartbeat (one connection's frames are
/// handled in order), unless a change of `watching` was already on its way.
async fn heartbeat_heard(client: &mut RawClient, watching: &Registration) -> ServerFrame {
    client.send(&ClientFrame::Heartbeat).await;
    client.send(&ClientFrame::WatchPresence { users: vec![watching.user_id] }).await;
    next_presence(client).await
}

async fn next_presence(client: &mut RawClient) -> ServerFrame {
    loop {
        match client.recv_or_close().await {
            Ok(frame @ ServerFrame::Presence { .. }) => return frame,
            Ok(_) => {}
            Err(close) => panic!("closed while waiting for presence: {close:?}"),
        }
    }
}

#[tokio::test]
async fn lab_devices_live_with_the_compressed_presence_ttl() {
    // The lab's TTL is a fifth of the server's here; the clock only moves when the test
    // moves it, so neither can pass early on a busy machine.
    let lab_ttl = Duration::from_secs(120);
    let server = TestServer::start_skippable(|c| {
        c.presence_ttl_ms = 5 * lab_ttl.as_millis() as u64;
        c.lab_presence_ttl_ms = lab_ttl.as_millis() as u64;
    })
    .await;
    let lab = new_lab(server.addr).await;
    let bob = lab_device(&lab, "Bob");
    let mut alice = RawClient::connect(&server.ws_url()).await;
    let credentials = bluetick_shared::frames::Credentials {
        device_id: lab_device(&lab, "Alice").device_id,
        token: lab_device(&lab, "Alice").token.clone(),
    };
    alice.send(&ClientFrame::hello_as("raw-test", credentials, 0)).await;
    let heartbeat = match alice.recv().await {
        ServerFrame::Welcome { presence_ttl_ms, heartbeat_ms, .. } => {
            assert_eq!((presence_ttl_ms, heartbeat_ms), (120_000, 30_000), "the welcome tells the lab's TTL");
            Duration::from_millis(heartbeat_ms)
        }
        other => panic!("expected welcome, got {other:?}"),
    };
    alice.send(&ClientFrame::WatchPresence { users: vec![bob.user_id] }).await;
    assert!(matches!(next_presence(&mut alice).await, ServerFrame::Presence { online: false, .. }));
    // Bob connects, then goes silent (a frozen phone).
    let mut bob_conn = RawClient::connect_as(&server.ws_url(), bob, 0).await;
    assert!(matches!(next_presence(&mut alice).await, ServerFrame::Presence { online: true, .. }));
    // Alice heartbeats at the interval the welcome gave, as the page does; for three
    // intervals Bob is still within the TTL.
    for step in 1..=3 {
        server.advance(heartbeat);
        let bob_is = heartbeat_heard(&mut alice, bob).await;
        assert!(matches!(bob_is, ServerFrame::Presence { online: true, .. }), "interval {step}: {bob_is:?}");
    }
    // Past the lab's TTL Bob is offline; Alice, who kept heartbeating, is not.
    server.advance(heartbeat + Duration::from_secs(1));
    alice.send(&ClientFrame::Heartbeat).await;
    match next_presence(&mut alice).await {
        ServerFrame::Presence { online: false, last_seen, .. } => {
            assert!(last_seen.is_some(), "offline comes with a last-seen time")
        }
        other => panic!("expected Bob offline, got {other:?}"),
    }
    loop {
        match bob_conn.recv_or_close().await {
            Ok(ServerFrame::Error { code, .. }) => break assert_eq!(code, ErrorCode::PresenceExpired),
            Ok(_) => {}
            Err(close) => panic!("Bob was closed without presence_expired: {close:?}"),
        }
    }
    let alice_is = heartbeat_heard(&mut alice, lab_device(&lab, "Alice")).await;
    assert!(matches!(alice_is, ServerFrame::Presence { online: true, .. }), "{alice_is:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_crowd_stops_once_its_owner_has_been_gone_a_while_but_not_before() {
    let server = TestServer::start_with(|c| {
        c.crowd_orphan_secs = 1;
        c.lab_sweep_ms = 100;
        // The present owner sends no heartbeats: with the lab's 8 s TTL a stall that
        // long would take it offline and orphan its crowd too.
        c.lab_presence_ttl_ms = 600_000;
    })
    .await;
    let lab = new_lab(server.addr).await;
    let other = new_lab(server.addr).await;
    let mut crowds = Vec::new();
    for owner in [lab_device(&lab, "Alice"), lab_device(&other, "Alice")] {
        let (status, body) = as_device(server.addr, owner, "POST", "/api/groups", Some(r#"{"name":"g"}"#)).await;
        assert_eq!(status, 201, "{body}");
        let group: serde_json::Value = serde_json::from_str(&body).unwrap();
        let path = format!("/api/groups/{}/crowd", group["id"].as_str().unwrap());
        let (status, body) = as_device(server.addr, owner, "POST", &path, Some(r#"{"size":3}"#)).await;
        assert_eq!(status, 201, "{body}");
        let crowd: serde_json::Value = serde_json::from_str(&body).unwrap();
        crowds.push(format!("/api/crowds/{}", crowd["crowd_id"].as_str().unwrap()));
    }
    // The second lab's Alice stays connected; the first one's never connects.
    let _present = RawClient::connect_as(&server.ws_url(), lab_device(&other, "Alice"), 0).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let (status, _) = as_device(server.addr, lab_device(&lab, "Alice"), "GET", &crowds[0], None).await;
        if status == 404 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the orphaned crowd kept running");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (status, body) = as_device(server.addr, lab_device(&other, "Alice"), "GET", &crowds[1], None).await;
    assert_eq!(status, 200, "the crowd of a present owner keeps running: {body}");
    server.stop().await;
}
