//! The messaging guarantees, attacked through the real server: exactly-once under
//! retries, FIFO offline queue, resume after a drop mid-flush, redeliveries dropped by the
//! client library, receipts, slow consumers.

use std::time::Duration;

use bluetick_client::{ClientError, Connection, DeviceState, Event};
use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{ClientFrame, Recipient, ServerFrame, TickState};
use bluetick_tests::client::RawClient;
use bluetick_tests::db;
use bluetick_tests::events::{collect_messages, next, wait_for_ticks};
use bluetick_tests::http::{as_device, lab_device, new_lab, register};
use bluetick_tests::proxy::ResumeProxy;
use bluetick_tests::server::TestServer;
use uuid::Uuid;

const WAIT: Duration = Duration::from_secs(10);

/// The next presence change, skipping other events.
async fn next_presence(conn: &mut Connection) -> Event {
    loop {
        let event = next(conn).await;
        if matches!(event, Event::Presence { .. }) {
            return event;
        }
    }
}

#[tokio::test]
async fn retry_storm() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mut raw = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    let id = Uuid::now_v7();
    let send = ClientFrame::Send { id, to: Recipient::User(bob.user_id), body: "once".into() };
    for _ in 0..100 {
        raw.send(&send).await;
    }
    let mut acks = Vec::new();
    while acks.len() < 100 {
        match raw.recv().await {
            frame @ ServerFrame::Sent { .. } => acks.push(frame.to_json()),
            ServerFrame::Drained { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(acks.iter().all(|a| *a == acks[0]), "every retry gets the identical ack");

    let mut bob_conn = Connection::connect(&server.ws_url(), DeviceState::new(bob.clone())).await.unwrap();
    let got = collect_messages(&mut bob_conn, 1).await;
    assert_eq!(got, [(1, "once".to_string())]);
    assert!(matches!(next(&mut bob_conn).await, Event::Drained { up_to: 1 }));
    // Nothing more: the inbox is FIFO, so a second copy would come before the next
    // message Alice sends. No waiting for silence.
    raw.send(&ClientFrame::Send { id: Uuid::now_v7(), to: Recipient::User(bob.user_id), body: "after".into() }).await;
    assert_eq!(collect_messages(&mut bob_conn, 1).await, [(2, "after".to_string())], "nothing more");
    let (dir, id) = (server.data_dir(), id.to_string());
    assert_eq!(db::count_with(dir, "SELECT COUNT(*) FROM messages WHERE client_id = ?", &[&id]).await, 1);
    let deliveries =
        "SELECT COUNT(*) FROM inbox WHERE kind = 0 AND message_id IN (SELECT id FROM messages WHERE client_id = ?)";
    assert_eq!(db::count_with(dir, deliveries, &[&id]).await, 1);
    server.stop().await;
}

#[tokio::test]
async fn offline_fifo() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mut alice = Connection::connect(&server.ws_url(), DeviceState::new(alice)).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..50 {
        ids.push(alice.send_message(bob.user_id, format!("m{i}")).await.unwrap());
    }
    wait_for_ticks(&mut alice, &ids, TickState::Sent).await;
    // Wake-ups are recorded right after the commit that made each message SENT.
    let deadline = tokio::time::Instant::now() + WAIT;
    while db::count(server.data_dir(), "SELECT COUNT(*) FROM push_outbox").await < 50 {
        assert!(tokio::time::Instant::now() < deadline, "a push wake-up per queued message");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM push_outbox").await, 50);

    let mut bob = Connection::connect(&server.ws_url(), DeviceState::new(bob)).await.unwrap();
    let got = collect_messages(&mut bob, 50).await;
    let expected: Vec<(u64, String)> = (0..50).map(|i| (i as u64 + 1, format!("m{i}"))).collect();
    assert_eq!(got, expected, "the offline queue flushes in FIFO order");
    assert_eq!(next(&mut bob).await, Event::Drained { up_to: 50 });

    wait_for_ticks(&mut alice, &ids, TickState::Delivered).await;
    bob.read(vec![1, 2]).await.unwrap();
    wait_for_ticks(&mut alice, &ids[..2], TickState::Read).await;
    assert_eq!(alice.state.outbox.state(&ids[2]), Some(TickState::Delivered));
    server.stop().await;
}

#[tokio::test]
async fn reconnect_mid_flush() {
    // Lab devices, for the lab's "drop network" control; with a presence TTL long enough
    // that these silent test clients stay online.
    let server = TestServer::start_with(|c| c.lab_presence_ttl_ms = 120_000).await;
    let lab = new_lab(server.addr).await;
    let (alice_reg, bob_reg) = (lab_device(&lab, "Alice").clone(), lab_device(&lab, "Bob").clone());
    let mut alice = Connection::connect(&server.ws_url(), DeviceState::new(alice_reg.clone())).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..40 {
        ids.push(alice.send_message(bob_reg.user_id, format!("m{i}")).await.unwrap());
    }
    wait_for_ticks(&mut alice, &ids, TickState::Sent).await;

    // Bob takes 25 and acknowledges only 20; then the network fails under him: the
    // server cuts the connection with no close frame.
    let mut bob = Connection::connect(&server.ws_url(), DeviceState::new(bob_reg.clone())).await.unwrap();
    bob.auto_ack = false;
    let mut seen = collect_messages(&mut bob, 25).await;
    bob.send_frame(&ClientFrame::Ack { up_to: 20 }).await.unwrap();
    let drop = format!("/api/lab/devices/{}/drop", bob_reg.device_id);
    let (status, body) = as_device(server.addr, &alice_reg, "POST", &drop, None).await;
    assert_eq!(status, 200, "{body}");
    // What was already on its way still arrives; then the connection is gone, uncleanly.
    loop {
        match bob.next_event().await {
            Ok(Event::Message { seq, message }) => seen.push((seq, message.body)),
            Ok(_) => {}
            Err(ClientError::WebSocket(_)) => break,
            Err(ClientError::Closed(how)) => break assert_eq!(how, "connection ended", "no close frame"),
            Err(other) => panic!("{other:?}"),
        }
    }
    let state = bob.drop_abruptly();

    // The server resumes after what Bob says he has; the rest arrives in order.
    let mut bob = Connection::connect(&server.ws_url(), state).await.unwrap();
    let rest = 40 - seen.len();
    seen.extend(collect_messages(&mut bob, rest).await);
    assert_eq!(next(&mut bob).await, Event::Drained { up_to: 40 });
    let expected: Vec<(u64, String)> = (0..40).map(|i| (i as u64 + 1, format!("m{i}"))).collect();
    assert_eq!(seen, expected, "every message once, in order");
    assert_eq!(bob.duplicates_dropped, 0);

    // A client that forgot everything after 20 (its hello says resume_after 20) while its
    // library still holds what it showed: the server sends 21..40 again, and the library
    // drops every one of them. The app is shown nothing new.
    let forgetful = ResumeProxy::start(server.ws_url(), 20).await;
    let mut bob = Connection::connect(&forgetful.url, bob.close().await).await.unwrap();
    assert_eq!(next(&mut bob).await, Event::Drained { up_to: 40 });
    assert_eq!(bob.duplicates_dropped, 20, "21..40 were pushed again and dropped");

    // Every message was acknowledged, so Alice sees all 40 delivered; the next message
    // she sends is the next thing Bob is shown (FIFO: a copy shown twice would be first).
    wait_for_ticks(&mut alice, &ids, TickState::Delivered).await;
    alice.send_message(bob_reg.user_id, "after").await.unwrap();
    assert_eq!(collect_messages(&mut bob, 1).await, [(41, "after".to_string())], "nothing shown twice");
    server.stop().await;
}

#[tokio::test]
async fn redelivered_entries_are_dropped_by_the_client_library() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let bob_reg = register(server.addr, "Bob").await;
    let mut alice = Connection::connect(&server.ws_url(), DeviceState::new(alice)).await.unwrap();
    let id = alice.send_message(bob_reg.user_id, "hello").await.unwrap();
    wait_for_ticks(&mut alice, &[id], TickState::Sent).await;

    // Bob is shown the message, but his ack never reaches the server.
    let mut bob = Connection::connect(&server.ws_url(), DeviceState::new(bob_reg.clone())).await.unwrap();
    bob.auto_ack = false;
    assert_eq!(collect_messages(&mut bob, 1).await, [(1, "hello".to_string())]);
    let state = bob.drop_abruptly();
    assert_eq!(state.inbox.highest(), 1);

    // The server resumes from before the entry (through the proxy, as a server resuming
    // from its own acknowledged cursor would) and really pushes it again: the library
    // recognises it by sequence, drops it, acknowledges it, and shows nothing.
    let proxy = ResumeProxy::start(server.ws_url(), 0).await;
    let mut bob = Connection::connect(&proxy.url, state).await.unwrap();
    assert_eq!(next(&mut bob).await, Event::Drained { up_to: 1 });
    assert_eq!(bob.duplicates_dropped, 1, "the entry was pushed again and dropped");
    wait_for_ticks(&mut alice, &[id], TickState::Delivered).await;
    // The next message Alice sends is the next thing Bob is shown: FIFO, so a second
    // showing of "hello" would have come first.
    alice.send_message(bob_reg.user_id, "after").await.unwrap();
    assert_eq!(collect_messages(&mut bob, 1).await, [(2, "after".to_string())], "shown once");
    server.stop().await;
}

#[tokio::test]
async fn spoofed_sender() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mallory = register(server.addr, "Mallory").await;

    // A frame that claims a sender is refused outright.
    let mut raw = RawClient::connect_as(&server.ws_url(), &mallory, 0).await;
    assert_eq!(raw.recv().await, ServerFrame::Drained { up_to: 0 });
    let id = Uuid::now_v7();
    raw.send_text(&format!(
        r#"{{"type":"send","id":"{id}","to":{{"user":"{}"}},"body":"from alice, honest","from":"{}"}}"#,
        bob.user_id, alice.user_id
    ))
    .await;
    match raw.recv().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::MalformedFrame),
        other => panic!("{other:?}"),
    }
    // Alice's device id with Mallory's token is refused and closed.
    let mut impostor = RawClient::connect(&server.ws_url()).await;
    let creds = bluetick_shared::frames::Credentials { device_id: alice.device_id, token: mallory.token.clone() };
    impostor.send(&ClientFrame::hello_as("impostor", creds, 0)).await;
    match impostor.recv().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::BadCredentials),
        other => panic!("{other:?}"),
    }
    assert_eq!(u16::from(impostor.expect_close().await.unwrap().code), ErrorCode::BadCredentials.close_code());

    // What Mallory can send arrives as Mallory's.
    let mut mallory_conn = Connection::connect(&server.ws_url(), DeviceState::new(mallory.clone())).await.unwrap();
    mallory_conn.send_message(bob.user_id, "it's me").await.unwrap();
    let mut bob_conn = Connection::connect(&server.ws_url(), DeviceState::new(bob.clone())).await.unwrap();
    loop {
        if let Event::Message { message, .. } = next(&mut bob_conn).await {
            assert_eq!(message.from_user, mallory.user_id);
            assert_eq!(message.from_device, mallory.device_id);
            assert_eq!(message.from_name, "Mallory");
            break;
        }
    }
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM messages").await, 1);
    server.stop().await;
}

#[tokio::test]
async fn bad_input() {
    let server = TestServer::start_with(|c| c.max_frame_bytes = 2048).await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let url = server.ws_url();
    let send_to = |to: Uuid, id: Uuid| ClientFrame::Send { id, to: Recipient::User(to), body: "x".into() };

    async fn expect_error(client: &mut RawClient, expected: ErrorCode) -> Option<Uuid> {
        match client.recv().await {
            ServerFrame::Error { code, id, message } => {
                assert_eq!(code, expected, "{message}");
                assert!(!message.is_empty());
                id
            }
            other => panic!("expected {expected:?}, got {other:?}"),
        }
    }

    // Before hello.
    let mut raw = RawClient::connect(&url).await;
    raw.send(&send_to(bob.user_id, Uuid::now_v7())).await;
    expect_error(&mut raw, ErrorCode::HandshakeRequired).await;
    // Anonymous: may not send.
    raw.send(&ClientFrame::hello("anon")).await;
    assert!(matches!(raw.recv().await, ServerFrame::Welcome { device: None, .. }));
    let id = Uuid::now_v7();
    raw.send(&send_to(bob.user_id, id)).await;
    assert_eq!(expect_error(&mut raw, ErrorCode::NotAuthenticated).await, Some(id));

    let mut raw = RawClient::connect_as(&url, &alice, 0).await;
    assert_eq!(raw.recv().await, ServerFrame::Drained { up_to: 0 });
    raw.send_text("{\"type\":").await;
    expect_error(&mut raw, ErrorCode::MalformedFrame).await;
    raw.send_text("{\"type\":\"teleport\"}").await;
    expect_error(&mut raw, ErrorCode::MalformedFrame).await;
    raw.send_text(&format!(
        "{{\"type\":\"send\",\"id\":\"{}\",\"to\":{{\"user\":\"{}\"}},\"body\":\"{}\"}}",
        Uuid::now_v7(),
        bob.user_id,
        "x".repeat(4000)
    ))
    .await;
    expect_error(&mut raw, ErrorCode::FrameTooLarge).await;
    // A good frame resets the bad-frame counter (eight bad ones in a row close the
    // connection; see `a_stream_of_garbage_is_closed_with_a_reason`).
    raw.send(&ClientFrame::Heartbeat).await;
    let id = Uuid::now_v7();
    raw.send(&send_to(Uuid::now_v7(), id)).await;
    assert_eq!(expect_error(&mut raw, ErrorCode::UnknownRecipient).await, Some(id));
    let v4 = Uuid::new_v4();
    raw.send(&send_to(bob.user_id, v4)).await;
    assert_eq!(expect_error(&mut raw, ErrorCode::InvalidMessageId).await, Some(v4));
    raw.send(&ClientFrame::Ack { up_to: 5 }).await;
    expect_error(&mut raw, ErrorCode::InvalidField).await;
    raw.send(&ClientFrame::Read { seqs: vec![] }).await;
    expect_error(&mut raw, ErrorCode::InvalidField).await;
    raw.send(&ClientFrame::WatchPresence { users: vec![Uuid::now_v7()] }).await;
    expect_error(&mut raw, ErrorCode::UnknownRecipient).await;
    raw.send_message(tokio_tungstenite::tungstenite::Message::binary(vec![1, 2, 3])).await;
    expect_error(&mut raw, ErrorCode::MalformedFrame).await;

    // The connection survived all of that, and nothing was stored.
    let id = Uuid::now_v7();
    raw.send(&send_to(bob.user_id, id)).await;
    assert!(matches!(raw.recv().await, ServerFrame::Sent { id: acked, .. } if acked == id));
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM messages").await, 1);

    // Registration refuses bad names with a clear error.
    for body in ["{}", "{\"name\":\"\"}", "not json", &format!("{{\"name\":\"{}\"}}", "n".repeat(65))] {
        let (status, text) = bluetick_tests::http::post_json(server.addr, "/api/devices", body).await;
        assert_eq!(status, 400, "{body} → {text}");
        assert!(text.contains("\"error\":\"bad_request\""), "{text}");
    }
    server.stop().await;
}

#[tokio::test]
async fn expiry_dead_letter() {
    // An hour's TTL that passes when the test moves the server's clock past it; presence
    // outlasts the hour, or the skip would take Alice offline too.
    let ttl = Duration::from_secs(3600);
    let server = TestServer::start_skippable(|c| {
        c.message_ttl_secs = ttl.as_secs();
        c.presence_ttl_ms = 2 * ttl.as_millis() as u64;
    })
    .await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mut alice = Connection::connect(&server.ws_url(), DeviceState::new(alice)).await.unwrap();
    let id = alice.send_message(bob.user_id, "are you there?").await.unwrap();
    wait_for_ticks(&mut alice, &[id], TickState::Sent).await;
    server.advance(ttl + Duration::from_secs(1));
    loop {
        if let Event::Tick(change) = next(&mut alice).await
            && change.to == TickState::Failed
        {
            assert_eq!(change.id, id);
            break;
        }
    }
    assert_eq!(alice.state.outbox.state(&id), Some(TickState::Failed));
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM dead_letters").await, 1);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM inbox WHERE kind = 0").await, 0);
    // Bob, coming back, finds nothing: the message is gone from his queue.
    let mut bob = Connection::connect(&server.ws_url(), DeviceState::new(bob)).await.unwrap();
    assert_eq!(next(&mut bob).await, Event::Drained { up_to: 0 });
    server.stop().await;
}

/// The presence TTL in `presence_ttl`, on a clock the test moves: longer than the test
/// waits for any event, so a TTL kept in real time could not pass it.
const PRESENCE_TTL: Duration = Duration::from_secs(300);

/// A heartbeat the server has provably read: the answer to the presence watch that
/// follows it comes after it, because one connection's frames are handled in order. (The
/// watch is a sign of life too: any frame keeps a device online.) Returns the answer.
async fn heartbeat_heard(conn: &mut Connection, watching: bluetick_shared::frames::UserId) -> Event {
    conn.heartbeat().await.unwrap();
    conn.send_frame(&ClientFrame::WatchPresence { users: vec![watching] }).await.unwrap();
    next_presence(conn).await
}

#[tokio::test]
async fn presence_ttl() {
    let server = TestServer::start_skippable(|c| c.presence_ttl_ms = PRESENCE_TTL.as_millis() as u64).await;
    let started_ms = bluetick_backend::store::unix_millis();
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mut watcher = Connection::connect(&server.ws_url(), DeviceState::new(alice.clone())).await.unwrap();
    // The watcher's own (empty) backlog first: its `drained` comes from the inbox pusher
    // after a database read and may otherwise arrive after Bob's presence changes.
    assert_eq!(next(&mut watcher).await, Event::Drained { up_to: 0 });
    watcher.send_frame(&ClientFrame::WatchPresence { users: vec![bob.user_id] }).await.unwrap();
    assert!(matches!(next_presence(&mut watcher).await, Event::Presence { online: false, last_seen: None, .. }));

    let mut bob_conn = Connection::connect(&server.ws_url(), DeviceState::new(bob.clone())).await.unwrap();
    assert!(matches!(next_presence(&mut watcher).await, Event::Presence { online: true, .. }));
    // Heartbeats keep Bob online for two TTLs: the clock moves a third of a TTL at a
    // time, and both devices heartbeat in between (the watcher too, or it would expire).
    for step in 1..=6 {
        server.advance(PRESENCE_TTL / 3);
        heartbeat_heard(&mut bob_conn, alice.user_id).await;
        let bob_is = heartbeat_heard(&mut watcher, bob.user_id).await;
        assert!(matches!(bob_is, Event::Presence { online: true, .. }), "step {step}: {bob_is:?}");
    }

    // Bob's connection goes half-open: the socket stays, the heartbeats stop. Half a TTL
    // later he is still online…
    server.advance(PRESENCE_TTL / 2);
    let bob_is = heartbeat_heard(&mut watcher, bob.user_id).await;
    assert!(matches!(bob_is, Event::Presence { online: true, .. }), "half a TTL of silence: {bob_is:?}");
    // …and past a whole one he is offline, with the time his TTL ran out as last seen.
    // The watcher, heard from half a TTL ago, stays.
    server.advance(PRESENCE_TTL / 2 + Duration::from_secs(1));
    let skipped_ms = (PRESENCE_TTL * 3 + Duration::from_secs(1)).as_millis() as i64;
    match next_presence(&mut watcher).await {
        Event::Presence { user, online: false, last_seen: Some(last_seen) } => {
            assert_eq!(user, bob.user_id);
            assert!(last_seen >= started_ms + skipped_ms, "last seen on the server's clock: {last_seen}");
        }
        other => panic!("expected Bob offline with a last-seen time, got {other:?}"),
    }
    loop {
        match bob_conn.next_event_within(WAIT).await {
            Ok(Some(Event::Drained { .. } | Event::Presence { .. })) => continue,
            Ok(Some(Event::Error { code, .. })) => break assert_eq!(code, ErrorCode::PresenceExpired),
            other => panic!("expected presence_expired, got {other:?}"),
        }
    }
    assert!(matches!(heartbeat_heard(&mut watcher, bob.user_id).await, Event::Presence { online: false, .. }));
    server.stop().await;
}

#[tokio::test]
async fn slow_consumer() {
    let server = TestServer::start_with(|c| c.connection_queue = 16).await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    // Bob connects and then never reads.
    let mut bob_raw = RawClient::connect_as(&server.ws_url(), &bob, 0).await;
    let mut alice = Connection::connect(&server.ws_url(), DeviceState::new(alice)).await.unwrap();
    let body = "x".repeat(60_000);
    let mut ids = Vec::new();
    for _ in 0..300 {
        ids.push(alice.send_message(bob.user_id, body.clone()).await.unwrap());
    }
    wait_for_ticks(&mut alice, &ids, TickState::Sent).await;
    // The server gave up on him instead of buffering without bound…
    let close = loop {
        match bob_raw.recv_or_close().await {
            Ok(_) => continue,
            Err(close) => break close,
        }
    };
    assert_eq!(u16::from(close.unwrap().code), ErrorCode::SlowConsumer.close_code());
    // …and lost nothing: reconnecting, he gets all 300 in order.
    let mut bob = Connection::connect(&server.ws_url(), DeviceState::new(bob)).await.unwrap();
    let got = collect_messages(&mut bob, 300).await;
    assert_eq!(got.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(), (1..=300).collect::<Vec<u64>>());
    server.stop().await;
}
