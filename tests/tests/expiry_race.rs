//! The expiry sweep and the recipient's acks racing for the same messages: each message
//! ends DELIVERED or FAILED, and its sender hears exactly one of the two, never both.

use std::collections::HashMap;
use std::time::Duration;

use bluetick_shared::frames::{ClientFrame, MessageId, Recipient, ServerFrame, TickState};
use bluetick_tests::client::RawClient;
use bluetick_tests::db;
use bluetick_tests::http::register;
use bluetick_tests::server::TestServer;
use uuid::Uuid;

const MESSAGES: usize = 600;

#[tokio::test]
async fn expiry_races_ack() {
    // Messages fail ten seconds after their commit, on a clock the test moves: the sweep
    // takes them once the test says they are due, however fast the writer is. (Presence
    // lasts longer than the jump, so the clients stay connected across it.)
    let server = TestServer::start_skippable(|c| {
        c.message_ttl_secs = 10;
        c.presence_ttl_ms = 600_000;
        c.expiry_sweep_ms = 10;
    })
    .await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mut sender = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    let mut recipient = RawClient::connect_as(&server.ws_url(), &bob, 0).await;
    assert_eq!(recipient.recv().await, ServerFrame::Drained { up_to: 0 });

    let ids: Vec<MessageId> = (0..MESSAGES).map(|_| Uuid::now_v7()).collect();
    for (i, id) in ids.iter().enumerate() {
        sender.send(&ClientFrame::Send { id: *id, to: Recipient::User(bob.user_id), body: format!("m{i}") }).await;
    }
    // Bob has them all pushed (so he may ack them all) and acks nothing yet.
    let mut seq_of: HashMap<MessageId, u64> = HashMap::new();
    while seq_of.len() < MESSAGES {
        if let ServerFrame::Message { seq, message } = recipient.recv().await {
            seq_of.insert(message.id, seq);
        }
    }
    // Bob acks the first half before anything is due: those are DELIVERED for sure.
    let half = MESSAGES as u64 / 2;
    let mut terminal: HashMap<MessageId, Vec<TickState>> = HashMap::new();
    for seq in 1..=half {
        recipient.send(&ClientFrame::Ack { up_to: seq }).await;
    }
    while terminal.len() < half as usize {
        if let ServerFrame::Receipt { id, state, .. } = sender.recv().await {
            terminal.entry(id).or_default().push(state);
        }
    }
    // Now everything left is due, and Bob's acks for it go in while the sweep takes it:
    // one frame per message, oldest first, the same end of the queue the sweep eats from.
    server.advance(Duration::from_secs(20));
    for seq in half + 1..=MESSAGES as u64 {
        recipient.send(&ClientFrame::Ack { up_to: seq }).await;
    }
    while terminal.len() < MESSAGES {
        if let ServerFrame::Receipt { id, state, .. } = sender.recv().await {
            terminal.entry(id).or_default().push(state);
        }
    }
    // Every message is settled now, so the sweep has nothing left to take. Settle Bob's
    // acks too: a read goes through the same writer after them and is answered after its
    // commit (one of a message that failed, gone from his inbox, is refused), and a frame
    // refused at once after it says it has been answered.
    let failed = ids.iter().find(|id| terminal[*id].contains(&TickState::Failed)).expect("a FAILED was seen");
    recipient.send(&ClientFrame::Read { seqs: vec![seq_of[failed]] }).await;
    recipient.send(&ClientFrame::Ack { up_to: u64::MAX }).await;
    loop {
        match recipient.recv().await {
            ServerFrame::Error { message, .. } if message.starts_with("ack up_to") => break,
            ServerFrame::Error { message, .. } => assert!(message.starts_with("not messages"), "{message}"),
            other => panic!("unexpected {other:?}"),
        }
    }

    let delivered = terminal.values().filter(|states| **states == [TickState::Delivered]).count();
    let failed = terminal.values().filter(|states| **states == [TickState::Failed]).count();
    let both: Vec<_> = terminal.iter().filter(|(_, states)| states.len() != 1).collect();
    assert!(both.is_empty(), "more than one outcome reached the sender: {both:?}");
    assert_eq!(delivered + failed, MESSAGES);
    assert!(delivered > 0 && failed > 0, "the race was not run: {delivered} delivered, {failed} failed");
    // What is durable agrees: one terminal receipt per message in Alice's inbox, and
    // every message in exactly one of the two fates.
    let receipts = "SELECT COUNT(*) FROM (SELECT message_id FROM inbox WHERE kind = 1 AND receipt_state IN (1, 3)
                    GROUP BY message_id HAVING COUNT(*) = 1)";
    assert_eq!(db::count(server.data_dir(), receipts).await, MESSAGES as i64);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM inbox WHERE kind = 1").await, MESSAGES as i64);
    let fates = "SELECT COUNT(*) FROM messages m WHERE (m.state = 1) <> EXISTS (SELECT 1 FROM dead_letters d
                 WHERE d.message_id = m.id)";
    assert_eq!(db::count(server.data_dir(), fates).await, MESSAGES as i64, "delivered xor dead-lettered");
    server.stop().await;
}
