//! Devices and connections: one live connection per device, more devices per user, and
//! the pipeline trace an observer sees.

use bluetick_client::{Connection, DeviceState, Event};
use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{ClientFrame, Recipient, Registration, ServerFrame, TickState, TraceStage};
use bluetick_tests::client::RawClient;
use bluetick_tests::events::next;
use bluetick_tests::http::{self, register};
use bluetick_tests::server::TestServer;

#[tokio::test]
async fn a_second_connection_replaces_the_first_with_a_reason() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let mut first = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    let _second = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    loop {
        match first.recv_or_close().await {
            Ok(ServerFrame::Error { code, .. }) => assert_eq!(code, ErrorCode::Replaced),
            Ok(_) => continue,
            Err(close) => {
                let close = close.expect("a close frame");
                assert_eq!(u16::from(close.code), ErrorCode::Replaced.close_code());
                assert!(!close.reason.is_empty());
                break;
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_message_reaches_every_device_of_the_recipient() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let bob_phone = register(server.addr, "Bob").await;
    let path = format!("/api/users/{}/devices", bob_phone.user_id);

    // Adding a device needs one of the user's own devices.
    let (status, _) = http::post_with_bearer(server.addr, &path, &format!("{}:{}", alice.device_id, alice.token)).await;
    assert_eq!(status, 403, "Alice cannot add a device to Bob");
    let (status, body) =
        http::post_with_bearer(server.addr, &path, &format!("{}:{}", bob_phone.device_id, bob_phone.token)).await;
    assert_eq!(status, 201, "{body}");
    let bob_laptop: Registration = serde_json::from_str(&body).unwrap();
    assert_eq!(bob_laptop.user_id, bob_phone.user_id);

    let mut alice = Connection::connect(&server.ws_url(), DeviceState::new(alice)).await.unwrap();
    let id = alice.send_message(bob_phone.user_id, "to all your devices").await.unwrap();
    for device in [bob_phone, bob_laptop] {
        let mut conn = Connection::connect(&server.ws_url(), DeviceState::new(device)).await.unwrap();
        loop {
            if let Event::Message { seq, message } = next(&mut conn).await {
                assert_eq!((seq, message.id), (1, id));
                break;
            }
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn an_observer_sees_every_pipeline_step_of_a_message() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mut alice = Connection::connect(&server.ws_url(), DeviceState::new(alice)).await.unwrap();
    alice.send_frame(&ClientFrame::Observe { with: Recipient::User(bob.user_id) }).await.unwrap();
    let mut bob_conn = Connection::connect(&server.ws_url(), DeviceState::new(bob.clone())).await.unwrap();
    assert!(matches!(next(&mut bob_conn).await, Event::Drained { .. }));

    let id = alice.send_message(bob.user_id, "trace me").await.unwrap();
    let seq = loop {
        if let Event::Message { seq, .. } = next(&mut bob_conn).await {
            break seq;
        }
    };
    bob_conn.read(vec![seq]).await.unwrap();
    // A retry of the same id shows up as a dedup hit.
    let retry = alice.state.outbox.get(&id).map(|m| ClientFrame::Send { id, to: m.to, body: m.body.clone() }).unwrap();
    alice.send_frame(&retry).await.unwrap();

    let mut stages = Vec::new();
    let mut last_at = 0;
    while !stages.contains(&TraceStage::DedupHit) || alice.state.outbox.state(&id) != Some(TickState::Read) {
        if let Event::Trace(ServerFrame::Trace { id: traced, stage, at_us, .. }) = next(&mut alice).await {
            assert_eq!(traced, id);
            assert!(at_us >= last_at, "trace timestamps never go backwards");
            last_at = at_us;
            stages.push(stage);
        }
    }
    for expected in [
        TraceStage::Received,
        TraceStage::Stored,
        TraceStage::RecipientLookup,
        TraceStage::Pushed,
        TraceStage::Acked,
        TraceStage::Read,
        TraceStage::DedupHit,
    ] {
        assert!(stages.contains(&expected), "{expected:?} missing from {stages:?}");
    }
    let position = |s| stages.iter().position(|x| *x == s).unwrap();
    assert!(position(TraceStage::Received) < position(TraceStage::Stored));
    assert!(position(TraceStage::Stored) < position(TraceStage::Pushed));
    assert!(position(TraceStage::Pushed) < position(TraceStage::Acked));
    server.stop().await;
}

#[tokio::test]
async fn observing_needs_a_device() {
    let server = TestServer::start().await;
    let bob = register(server.addr, "Bob").await;
    let mut anon = RawClient::connect(&server.ws_url()).await;
    anon.send(&ClientFrame::hello("anon")).await;
    assert!(matches!(anon.recv().await, ServerFrame::Welcome { .. }));
    anon.send(&ClientFrame::Observe { with: Recipient::User(bob.user_id) }).await;
    match anon.recv().await {
        ServerFrame::Error { code, .. } => assert_eq!(code, ErrorCode::NotAuthenticated),
        other => panic!("{other:?}"),
    }
    server.stop().await;
}
