//! Exactly-once and resume guarantees attacked with raw frames, where the product client
//! would paper over a bug: a retry on a new socket while the first one still commits, a
//! message id reused by another device, a hello that claims more than was ever sent.

use std::collections::HashMap;

use bluetick_client::{Connection, DeviceState};
use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{ClientFrame, MessageId, Recipient, Registration, ServerFrame, TickState};
use bluetick_tests::client::RawClient;
use bluetick_tests::db;
use bluetick_tests::events::collect_messages;
use bluetick_tests::http::{as_device, register};
use bluetick_tests::server::TestServer;
use uuid::Uuid;

fn send(id: MessageId, to: &Registration, body: &str) -> ClientFrame {
    ClientFrame::Send { id, to: Recipient::User(to.user_id), body: body.into() }
}

/// Reads until the `sent` ack of `id` and returns it, skipping anything else.
async fn sent_ack(client: &mut RawClient, id: MessageId) -> ServerFrame {
    loop {
        match client.recv().await {
            frame @ ServerFrame::Sent { id: acked, .. } if acked == id => return frame,
            _ => {}
        }
    }
}

#[tokio::test]
async fn retry_across_connections() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let ids: Vec<MessageId> = (0..200).map(|_| Uuid::now_v7()).collect();
    let frames: Vec<ClientFrame> = ids.iter().enumerate().map(|(i, id)| send(*id, &bob, &format!("m{i}"))).collect();

    // The first socket fires every send; once the first acks come back (the stream is
    // being committed), a second socket (the phone switched networks) resends them all
    // with the same ids while the rest are still queued for, or in, a commit.
    let mut first = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    for frame in &frames {
        first.send(frame).await;
    }
    let mut first_acks: HashMap<MessageId, String> = HashMap::new();
    while first_acks.len() < 20 {
        if let frame @ ServerFrame::Sent { id, .. } = first.recv().await {
            first_acks.insert(id, frame.to_json());
        }
    }
    let mut second = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    for frame in &frames {
        second.send(frame).await;
    }
    // The first socket was replaced; whatever acks it got out before its close stand.
    loop {
        match first.recv_or_close().await {
            Ok(frame @ ServerFrame::Sent { id, .. }) => {
                first_acks.insert(id, frame.to_json());
            }
            Ok(_) => {}
            Err(close) => {
                assert_eq!(u16::from(close.expect("a close frame").code), ErrorCode::Replaced.close_code());
                break;
            }
        }
    }
    let mut second_acks: HashMap<MessageId, String> = HashMap::new();
    while second_acks.len() < ids.len() {
        match second.recv().await {
            frame @ ServerFrame::Sent { id, .. } => {
                assert!(second_acks.insert(id, frame.to_json()).is_none(), "two acks on one socket for {id}");
            }
            ServerFrame::Drained { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    for (id, ack) in &first_acks {
        assert_eq!(&second_acks[id], ack, "a retry on a new socket gets the very same ack");
    }
    // And every ack names the one commit there was.
    for (id, ack) in &second_acks {
        let Ok(ServerFrame::Sent { at, .. }) = ServerFrame::from_json(ack) else { unreachable!() };
        let sql = "SELECT sent_at FROM messages WHERE client_id = ?";
        assert_eq!(db::count_with(server.data_dir(), sql, &[&id.to_string()]).await, at, "{ack}");
    }

    // One row and one delivery per id, and Bob sees each once, in the order sent.
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM messages").await, 200);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM inbox WHERE kind = 0").await, 200);
    let mut bob = Connection::connect(&server.ws_url(), DeviceState::new(bob)).await.unwrap();
    let got = collect_messages(&mut bob, 200).await;
    let expected: Vec<(u64, String)> = (0..200).map(|i| (i as u64 + 1, format!("m{i}"))).collect();
    assert_eq!(got, expected);
    assert_eq!(bluetick_tests::events::next(&mut bob).await, bluetick_client::Event::Drained { up_to: 200 });
    server.stop().await;
}

#[tokio::test]
async fn id_reuse_by_other_sender() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mallory = register(server.addr, "Mallory").await;
    let (status, body) =
        as_device(server.addr, &alice, "POST", &format!("/api/users/{}/devices", alice.user_id), None).await;
    assert_eq!(status, 201, "{body}");
    let laptop: Registration = serde_json::from_str(&body).unwrap();

    let id = Uuid::now_v7();
    let mut phone = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    phone.send(&send(id, &bob, "from alice")).await;
    let first = sent_ack(&mut phone, id).await;
    // Mallory saw the id (it is no secret) and sends with it; so does Alice's laptop.
    let mut reusers = Vec::new();
    for (device, body) in [(&mallory, "from mallory"), (&laptop, "from the laptop")] {
        let mut conn = RawClient::connect_as(&server.ws_url(), device, 0).await;
        conn.send(&send(id, &bob, body)).await;
        let ServerFrame::Sent { at, .. } = sent_ack(&mut conn, id).await else { unreachable!() };
        // Its own message was stored, and the ack is of that commit, not of Alice's.
        let sql =
            "SELECT COALESCE(MAX(sent_at), -1) FROM messages WHERE client_id = ? AND sender_device = ? AND body = ?";
        let (id_text, device_text) = (id.to_string(), device.device_id.to_string());
        let stored = db::count_with(server.data_dir(), sql, &[&id_text, &device_text, body]).await;
        assert_eq!(stored, at, "{body}: the ack is of its own commit");
        reusers.push((conn, device.device_id));
    }
    // Alice's own retry still gets her original ack, byte for byte.
    phone.send(&send(id, &bob, "from alice, edited")).await;
    assert_eq!(sent_ack(&mut phone, id).await, first);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM messages").await, 3);

    // Bob gets three messages, each from its own device.
    let mut bob_conn = Connection::connect(&server.ws_url(), DeviceState::new(bob)).await.unwrap();
    let mut from: Vec<(Uuid, String)> = Vec::new();
    while from.len() < 3 {
        if let bluetick_client::Event::Message { message, .. } = bluetick_tests::events::next(&mut bob_conn).await {
            assert_eq!(message.id, id);
            from.push((message.from_device, message.body));
        }
    }
    from.sort();
    let mut expected = vec![
        (alice.device_id, "from alice".to_string()),
        (mallory.device_id, "from mallory".to_string()),
        (laptop.device_id, "from the laptop".to_string()),
    ];
    expected.sort();
    assert_eq!(from, expected);
    // Bob's ack reaches each sender as one DELIVERED receipt of its own message.
    reusers.push((phone, alice.device_id));
    for (conn, device) in &mut reusers {
        let receipt = loop {
            if let frame @ ServerFrame::Receipt { .. } = conn.recv().await {
                break frame;
            }
        };
        assert!(matches!(receipt, ServerFrame::Receipt { id: r, state: TickState::Delivered, .. } if r == id));
        let sql = "SELECT COUNT(*) FROM inbox WHERE device_id = ? AND kind = 1 AND receipt_state = 1";
        let receipts = db::count_with(server.data_dir(), sql, &[&device.to_string()]).await;
        assert_eq!(receipts, 1, "one DELIVERED for {device}");
    }
    server.stop().await;
}

#[tokio::test]
async fn resume_after_beyond_last_seq() {
    // A hello may claim more than the server ever handed out (a restored backup of
    // another install, a client bug). The server clamps: it resumes after the last
    // sequence it really has, says so in `drained`, and numbers on from there. It must not
    // trust the claim, or every new entry up to the claimed number would be skipped.
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mut sender = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = Uuid::now_v7();
        sender.send(&send(id, &bob, &format!("m{i}"))).await;
        sent_ack(&mut sender, id).await;
        ids.push(id);
    }

    let mut raw = RawClient::connect_as(&server.ws_url(), &bob, 1000).await;
    assert_eq!(raw.recv().await, ServerFrame::Drained { up_to: 3 }, "resumed after the last real sequence");
    // The ack ceiling is what exists, not what was claimed.
    raw.send(&ClientFrame::Ack { up_to: 4 }).await;
    match raw.recv().await {
        ServerFrame::Error { code, message, .. } => assert_eq!(code, ErrorCode::InvalidField, "{message}"),
        other => panic!("expected invalid_field, got {other:?}"),
    }
    // The next message is number 4, and it is pushed, not skipped.
    let id = Uuid::now_v7();
    sender.send(&send(id, &bob, "m3")).await;
    match raw.recv().await {
        ServerFrame::Message { seq, message } => assert_eq!((seq, message.id), (4, id)),
        other => panic!("expected message 4, got {other:?}"),
    }
    ids.push(id);
    raw.send(&ClientFrame::Ack { up_to: 4 }).await;
    let mut delivered = Vec::new();
    while delivered.len() < ids.len() {
        if let ServerFrame::Receipt { id, state: TickState::Delivered, .. } = sender.recv().await {
            delivered.push(id);
        }
    }
    delivered.sort();
    ids.sort();
    assert_eq!(delivered, ids, "the claim covered 1–3; the ack of 4 delivered all four");

    // The largest claim there is behaves the same.
    drop(raw);
    let mut raw = RawClient::connect_as(&server.ws_url(), &bob, u64::MAX).await;
    assert_eq!(raw.recv().await, ServerFrame::Drained { up_to: 4 });
    server.stop().await;
}
