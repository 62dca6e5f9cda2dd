//! Defects found by driving the protocol as an outside client would, from the protocol
//! docs alone: each test is named after the defect it pins and fails if it comes back.

use std::time::Duration;

use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{ClientFrame, GroupId, MessageId, Recipient, Registration, ServerFrame, TickState};
use bluetick_shared::groups::GroupView;
use bluetick_tests::client::{FRAME_TIMEOUT, RawClient};
use bluetick_tests::db;
use bluetick_tests::http::{as_device, post_with_bearer, register};
use bluetick_tests::server::TestServer;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};
use uuid::Uuid;

/// Reads frames until one matches; returns it and the frames read before it.
async fn recv_until(raw: &mut RawClient, wanted: impl Fn(&ServerFrame) -> bool) -> (ServerFrame, Vec<ServerFrame>) {
    let mut before = Vec::new();
    loop {
        let frame = raw.recv().await;
        if wanted(&frame) {
            return (frame, before);
        }
        before.push(frame);
    }
}

async fn send(raw: &mut RawClient, to: Recipient, body: &str) -> MessageId {
    let id = Uuid::now_v7();
    raw.send(&ClientFrame::Send { id, to, body: body.into() }).await;
    id
}

fn is_message(id: MessageId) -> impl Fn(&ServerFrame) -> bool {
    move |f| matches!(f, ServerFrame::Message { message, .. } if message.id == id)
}

fn is_trace_of(id: MessageId) -> impl Fn(&ServerFrame) -> bool {
    move |f| matches!(f, ServerFrame::Trace { id: traced, .. } if *traced == id)
}

async fn create_group(server: &TestServer, owner: &Registration, members: &[&Registration]) -> GroupId {
    let body = serde_json::json!({ "name": "regressions" }).to_string();
    let (status, body) = as_device(server.addr, owner, "POST", "/api/groups", Some(&body)).await;
    assert_eq!(status, 201, "{body}");
    let group = serde_json::from_str::<GroupView>(&body).unwrap().id;
    for member in members {
        let body = serde_json::json!({ "user_id": member.user_id }).to_string();
        let (status, body) =
            as_device(server.addr, owner, "POST", &format!("/api/groups/{group}/members"), Some(&body)).await;
        assert_eq!(status, 201, "{body}");
    }
    group
}

async fn remove(server: &TestServer, by: &Registration, group: GroupId, user: &Registration) -> (u16, String) {
    as_device(server.addr, by, "DELETE", &format!("/api/groups/{group}/members/{}", user.user_id), None).await
}

#[tokio::test]
async fn read_refused_whole() {
    let server = TestServer::start().await;
    let alice_reg = register(server.addr, "Alice").await;
    let bob_reg = register(server.addr, "Bob").await;
    let mut alice = RawClient::connect_as(&server.ws_url(), &alice_reg, 0).await;
    let mut bob = RawClient::connect_as(&server.ws_url(), &bob_reg, 0).await;
    assert_eq!(alice.recv().await, ServerFrame::Drained { up_to: 0 });
    assert_eq!(bob.recv().await, ServerFrame::Drained { up_to: 0 });

    // Bob's inbox: a message at s, then a receipt (Alice acknowledged his reply) at r.
    let first = send(&mut alice, Recipient::User(bob_reg.user_id), "read me").await;
    let (s, _) = recv_until(&mut bob, is_message(first)).await;
    let s = s.inbox_seq().unwrap();
    let reply = send(&mut bob, Recipient::User(alice_reg.user_id), "a reply").await;
    let (at_alice, _) = recv_until(&mut alice, is_message(reply)).await;
    alice.send(&ClientFrame::Ack { up_to: at_alice.inbox_seq().unwrap() }).await;
    let (r, _) = recv_until(&mut bob, |f| matches!(f, ServerFrame::Receipt { id, .. } if *id == reply)).await;
    let r = r.inbox_seq().unwrap();

    // A read naming the message and the receipt is refused whole.
    bob.send(&ClientFrame::Read { seqs: vec![s, r] }).await;
    match recv_until(&mut bob, |f| matches!(f, ServerFrame::Error { .. })).await.0 {
        ServerFrame::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::InvalidField);
            assert!(message.contains(&r.to_string()) && message.contains("nothing was marked read"), "{message}");
        }
        other => unreachable!("{other:?}"),
    }
    // The refusal is answered after the store's verdict: nothing was stored.
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM inbox WHERE read_at IS NOT NULL").await, 0);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM messages WHERE state >= 2").await, 0);

    // Alice gets no read receipt for s: the next entry in her inbox is Bob's next message,
    // committed after the refused read (a receipt from it would have come first).
    let next = send(&mut bob, Recipient::User(alice_reg.user_id), "after the refusal").await;
    let (entry, _) = recv_until(&mut alice, |f| f.inbox_seq().is_some()).await;
    assert!(is_message(next)(&entry), "expected Bob's next message, got {entry:?}");

    // The valid part alone is then applied: READ reaches Alice.
    bob.send(&ClientFrame::Read { seqs: vec![s] }).await;
    let (receipt, _) = recv_until(&mut alice, |f| f.inbox_seq().is_some()).await;
    assert!(matches!(receipt, ServerFrame::Receipt { id, state: TickState::Read, .. } if id == first), "{receipt:?}");
    server.stop().await;
}

#[tokio::test]
async fn removed_member_stops_observing() {
    let server = TestServer::start().await;
    let alice_reg = register(server.addr, "Alice").await;
    let bob_reg = register(server.addr, "Bob").await; // stays offline: fan-out ends with "queued"
    let carol_phone = register(server.addr, "Carol").await;
    let bearer = format!("{}:{}", carol_phone.device_id, carol_phone.token);
    let (status, body) =
        post_with_bearer(server.addr, &format!("/api/users/{}/devices", carol_phone.user_id), &bearer).await;
    assert_eq!(status, 201, "{body}");
    let carol_laptop: Registration = serde_json::from_str(&body).unwrap();
    let group = create_group(&server, &alice_reg, &[&bob_reg, &carol_phone]).await;

    let mut alice = RawClient::connect_as(&server.ws_url(), &alice_reg, 0).await;
    alice.send(&ClientFrame::Observe { with: Recipient::Group(group) }).await;
    let mut carols = Vec::new();
    for device in [&carol_phone, &carol_laptop] {
        let mut carol = RawClient::connect_as(&server.ws_url(), device, 0).await;
        assert_eq!(carol.recv().await, ServerFrame::Drained { up_to: 0 });
        // The group, and (as the marker below) her conversation with Alice.
        carol.send(&ClientFrame::Observe { with: Recipient::Group(group) }).await;
        carol.send(&ClientFrame::Observe { with: Recipient::User(alice_reg.user_id) }).await;
        carols.push(carol);
    }
    // While a member, each of Carol's connections sees the group's traces.
    let before = send(&mut alice, Recipient::Group(group), "while Carol is in").await;
    for carol in &mut carols {
        recv_until(carol, is_trace_of(before)).await;
    }

    let (status, body) = remove(&server, &alice_reg, group, &carol_phone).await;
    assert_eq!(status, 204, "{body}");

    // A message after the removal: wait until its last trace (fan-out complete) was
    // emitted, then send Carol a 1:1 message. Its traces travel through the same queue
    // as group traces would, so they arrive after any trace of `after`.
    let after = send(&mut alice, Recipient::Group(group), "Carol is gone").await;
    recv_until(
        &mut alice,
        |f| matches!(f, ServerFrame::Trace { id, detail, .. } if *id == after && detail.contains("fan-out complete")),
    )
    .await;
    let marker = send(&mut alice, Recipient::User(carol_phone.user_id), "just us").await;
    for carol in &mut carols {
        let (_, seen) = recv_until(carol, is_trace_of(marker)).await;
        let leaked: Vec<_> = seen.iter().filter(|f| is_trace_of(after)(f) || is_message(after)(f)).collect();
        assert!(leaked.is_empty(), "a removed member still saw the group: {leaked:?}");
    }
    server.stop().await;
}

#[tokio::test]
async fn only_admins_remove_members() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await; // creates the group: its owner
    let bob = register(server.addr, "Bob").await;
    let carol = register(server.addr, "Carol").await;
    let mallory = register(server.addr, "Mallory").await;
    let group = create_group(&server, &alice, &[&bob, &carol]).await;
    let members = || async {
        let (status, body) = as_device(server.addr, &alice, "GET", &format!("/api/groups/{group}/members"), None).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<GroupView>(&body).unwrap()
    };
    let view = members().await;
    assert_eq!(view.owner, alice.user_id);

    // A plain member can remove neither the owner nor another member; nor can an outsider.
    for (by, whom) in [(&bob, &alice), (&bob, &carol), (&mallory, &alice)] {
        let (status, body) = remove(&server, by, group, whom).await;
        assert_eq!(status, 403, "{} removing {}: {body}", by.name, whom.name);
        let error: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(error["error"], "forbidden");
        assert!(error["message"].as_str().unwrap().contains("member"), "{body}");
    }
    assert_eq!(members().await.members.len(), 3, "nobody was removed");

    // A member may leave; the owner may remove anyone.
    assert_eq!(remove(&server, &bob, group, &bob).await.0, 204);
    assert_eq!(remove(&server, &alice, group, &carol).await.0, 204);
    let left: Vec<_> = members().await.members.into_iter().map(|m| m.user_id).collect();
    assert_eq!(left, vec![alice.user_id]);
    // Removing someone who is not a member, as the owner: 404.
    assert_eq!(remove(&server, &alice, group, &bob).await.0, 404);
    server.stop().await;
}

#[tokio::test]
async fn adding_a_member_authorises_before_reading_the_body() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let mallory = register(server.addr, "Mallory").await;
    let group = create_group(&server, &alice, &[]).await;
    let path = format!("/api/groups/{group}/members");
    // Whatever the body, an outsider hears 403, never a hint about the body's shape.
    for body in [None, Some("{not json"), Some(r#"{"user_id": "nope"}"#)] {
        let (status, text) = as_device(server.addr, &mallory, "POST", &path, body).await;
        assert_eq!(status, 403, "{body:?}: {text}");
    }
    // A member with a bad body hears 400.
    assert_eq!(as_device(server.addr, &alice, "POST", &path, Some("{not json")).await.0, 400);
    server.stop().await;
}

#[tokio::test]
async fn invalid_utf8_closes_with_1007() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let mut raw = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    assert_eq!(raw.recv().await, ServerFrame::Drained { up_to: 0 });
    // A text frame whose payload is not UTF-8 (0xFF never occurs in UTF-8). tungstenite
    // masks a raw frame as a client must, and does not check its payload.
    let payload = b"{\"type\":\"heartbeat\xff\"}".to_vec();
    raw.send_message(Message::Frame(Frame::message(payload, OpCode::Data(Data::Text), true))).await;
    let close = raw.expect_close().await.expect("a close frame with a status code");
    assert_eq!(u16::from(close.code), 1007, "RFC 6455 §7.4.1: {close:?}");
    server.stop().await;
}

#[tokio::test]
async fn hello_without_resume_after_repushes_acknowledged_history() {
    // Documented behaviour (frames.rs, "Delivering"): the server resumes after the
    // `resume_after` the client sends, whatever it acknowledged; 0 (or none) means the
    // whole inbox, so a device that lost its cursor gets its history again.
    let server = TestServer::start().await;
    let alice_reg = register(server.addr, "Alice").await;
    let bob_reg = register(server.addr, "Bob").await;
    let mut alice = RawClient::connect_as(&server.ws_url(), &alice_reg, 0).await;
    let id = send(&mut alice, Recipient::User(bob_reg.user_id), "kept").await;
    {
        let mut bob = RawClient::connect_as(&server.ws_url(), &bob_reg, 0).await;
        let (entry, _) = recv_until(&mut bob, is_message(id)).await;
        bob.send(&ClientFrame::Ack { up_to: entry.inbox_seq().unwrap() }).await;
        // The delivered receipt proves the ack committed.
        recv_until(&mut alice, |f| matches!(f, ServerFrame::Receipt { state: TickState::Delivered, .. })).await;
    }
    let mut bob = RawClient::connect_as(&server.ws_url(), &bob_reg, 0).await;
    assert!(is_message(id)(&bob.recv().await), "the acknowledged message is pushed again");
    assert_eq!(bob.recv().await, ServerFrame::Drained { up_to: 1 });
    let mut bob = RawClient::connect_as(&server.ws_url(), &bob_reg, 1).await;
    assert_eq!(bob.recv().await, ServerFrame::Drained { up_to: 1 }, "a cursor skips what it has");
    server.stop().await;
}

/// One HTTP/1.1 response read off a kept-alive connection: status, head, body; `None`
/// if the server closed the connection instead of answering.
async fn read_response(conn: &mut BufReader<TcpStream>) -> Option<(u16, String, String)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if conn.read_line(&mut line).await.ok()? == 0 {
            return None;
        }
        if line == "\r\n" {
            break;
        }
        head.push_str(&line);
    }
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let length = head
        .lines()
        .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-length:").map(|v| v.trim().parse::<usize>()))?
        .ok()?;
    let mut body = vec![0; length];
    conn.read_exact(&mut body).await.ok()?;
    Some((status, head, String::from_utf8_lossy(&body).into()))
}

#[tokio::test]
async fn early_401_keeps_keep_alive_honest() {
    let server = TestServer::start().await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    tcp.set_nodelay(true).unwrap();
    let mut conn = BufReader::new(tcp);
    let body = r#"{"name":"no credentials"}"#;
    let head = format!(
        "POST /api/groups HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        server.addr,
        body.len()
    );
    // The headers alone, then the body in a second segment: a server that answers from
    // the headers (no credentials: 401) has not read the body when it answers.
    conn.get_mut().write_all(head.as_bytes()).await.unwrap();
    conn.get_mut().flush().await.unwrap();
    // Give such an early answer a second to show up before the body is written (a
    // correct server waits for the body, so this only costs time, never a verdict).
    let early = tokio::time::timeout(Duration::from_secs(1), read_response(&mut conn)).await.ok().flatten();
    let _ = conn.get_mut().write_all(body.as_bytes()).await;
    let (status, head, _) = match early {
        Some(response) => response,
        None => read_response(&mut conn).await.expect("an answer to the POST"),
    };
    assert_eq!(status, 401);
    if head.to_ascii_lowercase().contains("connection: close") {
        return; // honest: the client knows not to reuse the connection
    }
    // Not closing, so the connection must still work.
    let next = format!("GET /healthz HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr);
    let _ = conn.get_mut().write_all(next.as_bytes()).await;
    let answer = tokio::time::timeout(FRAME_TIMEOUT, read_response(&mut conn)).await.expect("no hang");
    let (status, _, body) = answer.expect("kept alive without Connection: close, yet the next request got nothing");
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn lab_controls_authorise_before_reading_the_body() {
    let server = TestServer::start().await;
    let outsider = register(server.addr, "Not in a lab").await;
    let (status, body) = bluetick_tests::http::post_json(server.addr, "/api/labs", "").await;
    assert_eq!(status, 201, "{body}");
    let lab: bluetick_shared::lab::LabCreated = serde_json::from_str(&body).unwrap();
    let (status, body) = bluetick_tests::http::post_json(server.addr, "/api/labs", "").await;
    assert_eq!(status, 201, "{body}");
    let other_lab: bluetick_shared::lab::LabCreated = serde_json::from_str(&body).unwrap();
    let (you, theirs) = (&lab.devices[0], &other_lab.devices[0]);
    for bad in [None, Some("{not json"), Some(r#"{"seconds":0}"#)] {
        // Outside every lab: 403, whatever the body.
        assert_eq!(as_device(server.addr, &outsider, "PUT", "/api/lab/expiry", bad).await.0, 403, "{bad:?}");
        // Another lab's device does not exist from here: 404, whatever the body.
        let path = format!("/api/lab/devices/{}/outage", theirs.device_id);
        assert_eq!(as_device(server.addr, you, "POST", &path, bad).await.0, 404, "{bad:?}");
    }
    server.stop().await;
}
