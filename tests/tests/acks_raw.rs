//! Acks with raw frames. The product client acknowledges again right after every hello
//! (an ack may die with its connection), so a server that drops an ack it did receive
//! would go unnoticed in every test that uses it: these clients ack once, never again.

use bluetick_shared::frames::{ClientFrame, MessageId, Recipient, Registration, ServerFrame, TickState};
use bluetick_tests::client::RawClient;
use bluetick_tests::db;
use bluetick_tests::http::register;
use bluetick_tests::server::TestServer;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

/// How Bob's connection ends right after his one ack.
enum Ending {
    /// A close frame, as a closing app sends.
    Close,
    /// The TCP connection just goes (no close frame), as when a phone loses its network.
    Vanish,
}

/// Alice sends three messages to an offline Bob and waits for their SENT acks.
async fn three_messages(server: &TestServer) -> (RawClient, Registration, Vec<MessageId>) {
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mut sender = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let id = Uuid::now_v7();
        sender.send(&ClientFrame::Send { id, to: Recipient::User(bob.user_id), body: format!("m{i}") }).await;
        ids.push(id);
    }
    let mut acked = 0;
    while acked < 3 {
        if let ServerFrame::Sent { .. } = sender.recv().await {
            acked += 1;
        }
    }
    (sender, bob, ids)
}

/// Bob takes the three, acks them once, and his connection ends as `ending` says.
async fn ack_once_and_go(server: &TestServer, bob: &Registration, ending: Ending) {
    let mut raw = RawClient::connect_as(&server.ws_url(), bob, 0).await;
    for seq in 1..=3 {
        assert!(matches!(raw.recv().await, ServerFrame::Message { seq: s, .. } if s == seq));
    }
    raw.send(&ClientFrame::Ack { up_to: 3 }).await;
    match ending {
        Ending::Close => raw.send_message(Message::Close(None)).await,
        Ending::Vanish => drop(raw),
    }
}

/// The sender hears DELIVERED once per message, and the database has every entry acked.
async fn assert_delivered_once(server: &TestServer, sender: &mut RawClient, bob: &Registration, ids: &[MessageId]) {
    let mut delivered = Vec::new();
    while delivered.len() < ids.len() {
        match sender.recv().await {
            ServerFrame::Receipt { id, state: TickState::Delivered, .. } => delivered.push(id),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(delivered, ids, "one DELIVERED per message, in order");
    let acked = "SELECT COUNT(*) FROM inbox WHERE kind = 0 AND acked_at IS NOT NULL";
    assert_eq!(db::count(server.data_dir(), acked).await, 3);
    let cursor = "SELECT acked_seq FROM devices WHERE id = ?";
    assert_eq!(db::count_with(server.data_dir(), cursor, &[&bob.device_id.to_string()]).await, 3);

    // Bob comes back with a blank slate and acks nothing: the server still has his ack,
    // so nothing is delivered twice and his queue is empty.
    let mut again = RawClient::connect_as(&server.ws_url(), bob, 0).await;
    for seq in 1..=3 {
        assert!(matches!(again.recv().await, ServerFrame::Message { seq: s, .. } if s == seq));
    }
    assert_eq!(again.recv().await, ServerFrame::Drained { up_to: 3 });
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM inbox WHERE kind = 1").await, 3);
}

#[tokio::test]
async fn an_ack_followed_by_a_close_frame_is_kept() {
    let server = TestServer::start().await;
    let (mut sender, bob, ids) = three_messages(&server).await;
    ack_once_and_go(&server, &bob, Ending::Close).await;
    assert_delivered_once(&server, &mut sender, &bob, &ids).await;
    server.stop().await;
}

#[tokio::test]
async fn an_ack_followed_by_a_vanished_connection_is_kept() {
    let server = TestServer::start().await;
    let (mut sender, bob, ids) = three_messages(&server).await;
    ack_once_and_go(&server, &bob, Ending::Vanish).await;
    assert_delivered_once(&server, &mut sender, &bob, &ids).await;
    server.stop().await;
}

#[tokio::test]
async fn an_ack_before_drained_covers_the_backlog_it_names() {
    // Bob acks halfway through his backlog (before `drained`), then goes: the ack counts
    // for what it names, and only for that.
    let server = TestServer::start().await;
    let (mut sender, bob, ids) = three_messages(&server).await;
    let mut raw = RawClient::connect_as(&server.ws_url(), &bob, 0).await;
    assert!(matches!(raw.recv().await, ServerFrame::Message { seq: 1, .. }));
    raw.send(&ClientFrame::Ack { up_to: 1 }).await;
    drop(raw);
    match sender.recv().await {
        ServerFrame::Receipt { id, state: TickState::Delivered, .. } => assert_eq!(id, ids[0]),
        other => panic!("unexpected {other:?}"),
    }
    let acked = "SELECT COUNT(*) FROM inbox WHERE kind = 0 AND acked_at IS NOT NULL";
    assert_eq!(db::count(server.data_dir(), acked).await, 1);
    // Back, resuming after 1 as a correct client would, Bob gets 2 and 3, and only
    // those: the two receipts still to come are theirs.
    let mut raw = RawClient::connect_as(&server.ws_url(), &bob, 1).await;
    for seq in 2..=3 {
        assert!(matches!(raw.recv().await, ServerFrame::Message { seq: s, .. } if s == seq));
    }
    assert_eq!(raw.recv().await, ServerFrame::Drained { up_to: 3 });
    raw.send(&ClientFrame::Ack { up_to: 3 }).await;
    for id in &ids[1..] {
        match sender.recv().await {
            ServerFrame::Receipt { id: got, state: TickState::Delivered, .. } => assert_eq!(got, *id),
            other => panic!("unexpected {other:?}"),
        }
    }
    server.stop().await;
}
