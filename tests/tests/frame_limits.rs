//! The protocol's per-frame list limits, at the edge: the limit itself is accepted, one
//! more is refused with a sentence that names the limit, and a refused frame changes
//! nothing.

use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{ClientFrame, MAX_READ_SEQS, MAX_WATCHED, Recipient, Registration, ServerFrame};
use bluetick_tests::client::RawClient;
use bluetick_tests::db;
use bluetick_tests::http::register;
use bluetick_tests::server::TestServer;
use futures_util::StreamExt;
use uuid::Uuid;

/// Asserts the next frame is an `invalid_field` error and returns its sentence.
async fn expect_invalid_field(client: &mut RawClient) -> String {
    match client.recv().await {
        ServerFrame::Error { code: ErrorCode::InvalidField, message, .. } => message,
        other => panic!("expected invalid_field, got {other:?}"),
    }
}

/// A frame the server always refuses, sent after the frame under test: frames are
/// handled in order, so once its refusal arrives the frame before it was handled, and
/// had it been refused, that refusal would have come first.
async fn sentinel(client: &mut RawClient) {
    client.send(&ClientFrame::Ack { up_to: u64::MAX }).await;
    let message = expect_invalid_field(client).await;
    assert!(message.starts_with("ack up_to"), "the frame under test was refused: {message}");
}

#[tokio::test]
async fn frame_limits() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;

    // read: Bob has one message more than a read frame may name.
    let mut sender = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    let n = MAX_READ_SEQS + 1;
    for i in 0..n {
        let frame = ClientFrame::Send { id: Uuid::now_v7(), to: Recipient::User(bob.user_id), body: format!("m{i}") };
        sender.send(&frame).await;
    }
    let mut acked = 0;
    while acked < n {
        if let ServerFrame::Sent { .. } = sender.recv().await {
            acked += 1;
        }
    }
    let mut reader = RawClient::connect_as(&server.ws_url(), &bob, 0).await;
    // Everything pushed (a read may only name sequences pushed on this connection).
    while reader.recv().await != (ServerFrame::Drained { up_to: n as u64 }) {}
    let all: Vec<u64> = (1..=n as u64).collect();
    reader.send(&ClientFrame::Read { seqs: all.clone() }).await;
    let message = expect_invalid_field(&mut reader).await;
    assert!(message.contains(&MAX_READ_SEQS.to_string()), "the refusal names the limit: {message}");
    let read_sql = "SELECT COUNT(*) FROM inbox WHERE kind = 0 AND read_at IS NOT NULL";
    assert_eq!(db::count(server.data_dir(), read_sql).await, 0, "a refused read marks nothing read");
    reader.send(&ClientFrame::Read { seqs: all[..MAX_READ_SEQS].to_vec() }).await;
    sentinel(&mut reader).await;
    assert_eq!(db::count(server.data_dir(), read_sql).await, MAX_READ_SEQS as i64);

    // watch_presence: one more user than a frame may name. Any connection may watch, an
    // anonymous one too.
    let users: Vec<Registration> = futures_util::stream::iter(0..MAX_WATCHED + 1)
        .map(|i| async move { register(server.addr, &format!("watched {i}")).await })
        .buffer_unordered(8)
        .collect()
        .await;
    let ids: Vec<Uuid> = users.iter().map(|u| u.user_id).collect();
    let (mut watcher, _) = RawClient::connect_and_hello(&server.ws_url()).await;
    watcher.send(&ClientFrame::WatchPresence { users: ids.clone() }).await;
    let message = expect_invalid_field(&mut watcher).await;
    assert!(message.contains(&MAX_WATCHED.to_string()), "the refusal names the limit: {message}");
    // Nothing was subscribed: the next frame is the answer to the frame at the limit.
    watcher.send(&ClientFrame::WatchPresence { users: ids[..MAX_WATCHED].to_vec() }).await;
    let mut presences = Vec::new();
    while presences.len() < MAX_WATCHED {
        match watcher.recv().await {
            ServerFrame::Presence { user, online: false, .. } => presences.push(user),
            other => panic!("expected the watched users' presence, got {other:?}"),
        }
    }
    presences.sort();
    let mut expected = ids[..MAX_WATCHED].to_vec();
    expected.sort();
    assert_eq!(presences, expected, "one presence frame per watched user");
    // The anonymous watcher has no inbox, so its sentinel is a refused read instead.
    watcher.send(&ClientFrame::Read { seqs: vec![1] }).await;
    match watcher.recv().await {
        ServerFrame::Error { code: ErrorCode::NotAuthenticated, .. } => {}
        other => panic!("expected not_authenticated, got {other:?}"),
    }
    server.stop().await;
}
