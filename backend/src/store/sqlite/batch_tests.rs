//! The batched sends and acks against a real database file. Each test queues its jobs
//! while holding the writer's next batch open ([`Writer::hold`](super::writer::Writer::hold)),
//! so they land in one batch: the cases a batch at a time must get right and one-by-one
//! writes never met.

use std::path::PathBuf;

use bluetick_shared::frames::{Recipient, Registration, ServerFrame, TickState};
use uuid::Uuid;

use super::SqliteStore;
use crate::store::{Accounts, DeviceIdentity, Messages, NewMessage, ReceiptsOutcome, SendOutcome};

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        TempDir(std::env::temp_dir().join(format!("bluetick-batch-{}-{}", std::process::id(), fastrand::u64(..))))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn identity(registration: &Registration) -> DeviceIdentity {
    DeviceIdentity {
        device: registration.device_id,
        user: registration.user_id,
        name: registration.name.clone(),
        lab: None,
    }
}

fn message(from: &Registration, to: &Registration, id: Uuid, body: &str, now: i64) -> NewMessage {
    NewMessage {
        sender: identity(from),
        id,
        to: Recipient::User(to.user_id),
        body: body.to_string(),
        now,
        ttl_ms: 60_000,
    }
}

/// The message ids and bodies in a device's inbox, in sequence order, with their seqs.
async fn inbox(store: &SqliteStore, registration: &Registration) -> Vec<(u64, Uuid, String)> {
    let entries = store.inbox_after(registration.device_id, 0, 100).await.unwrap();
    entries
        .into_iter()
        .filter_map(|entry| match entry.frame {
            ServerFrame::Message { seq, message } => Some((seq, message.id, message.body)),
            _ => None,
        })
        .collect()
}

/// The delivered receipts in a device's inbox: (seq, message id).
async fn receipts(store: &SqliteStore, registration: &Registration) -> Vec<(u64, Uuid, TickState)> {
    let entries = store.inbox_after(registration.device_id, 0, 100).await.unwrap();
    entries
        .into_iter()
        .filter_map(|entry| match entry.frame {
            ServerFrame::Receipt { seq, id, state, .. } => Some((seq, id, state)),
            _ => None,
        })
        .collect()
}

// The batch gate is held while jobs are queued, across the awaits of a bounded channel
// send: the only other holder is the writer thread, which never awaits.
#[allow(clippy::await_holding_lock)]
#[tokio::test]
async fn a_batch_mixing_new_sends_retries_and_a_repeat_within_it_stores_each_message_once() {
    let dir = TempDir::new();
    let store = SqliteStore::open(&dir.0).await.unwrap();
    let alice = store.register_user("alice").await.unwrap();
    let bob = store.register_user("bob").await.unwrap();
    let (earlier, first, second) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    let committed = store.writer.send(message(&alice, &bob, earlier, "earlier", 1_000)).await.unwrap();
    assert!(matches!(committed, SendOutcome::Stored { sent_at: 1_000, .. }), "{committed:?}");

    // One batch: a new message, its repeat (a retry racing the original), a retry of the
    // message committed above, and one more new message.
    let jobs = [
        message(&alice, &bob, first, "first", 2_000),
        message(&alice, &bob, first, "first, again", 2_001),
        message(&alice, &bob, earlier, "earlier, again", 2_002),
        message(&alice, &bob, second, "second", 2_003),
    ];
    let hold = store.writer.hold();
    let mut pending = Vec::new();
    for job in jobs {
        pending.push(store.writer.enqueue_send(job).await.unwrap());
    }
    drop(hold);
    let mut outcomes = Vec::new();
    for outcome in pending {
        outcomes.push(outcome.await.unwrap());
    }

    match &outcomes[0] {
        SendOutcome::Stored { sent_at: 2_000, deliveries, fanout: None } => {
            assert_eq!(deliveries.len(), 1);
            assert_eq!((deliveries[0].device, deliveries[0].seq), (bob.device_id, 2));
        }
        other => panic!("the first send is stored: {other:?}"),
    }
    assert!(matches!(outcomes[1], SendOutcome::Duplicate { sent_at: 2_000 }), "{:?}", outcomes[1]);
    assert!(matches!(outcomes[2], SendOutcome::Duplicate { sent_at: 1_000 }), "{:?}", outcomes[2]);
    match &outcomes[3] {
        SendOutcome::Stored { sent_at: 2_003, deliveries, .. } => assert_eq!(deliveries[0].seq, 3),
        other => panic!("the last send is stored: {other:?}"),
    }
    let expected =
        vec![(1, earlier, "earlier".to_string()), (2, first, "first".to_string()), (3, second, "second".to_string())];
    assert_eq!(inbox(&store, &bob).await, expected, "each message once, gap-free, in send order");
    assert_eq!(store.last_seq(bob.device_id).await.unwrap(), 3);
    store.writer.shutdown().await;
}

#[allow(clippy::await_holding_lock)] // as above
#[tokio::test]
async fn acks_in_one_batch_each_answer_for_the_entries_they_reached() {
    let dir = TempDir::new();
    let store = SqliteStore::open(&dir.0).await.unwrap();
    let alice = store.register_user("alice").await.unwrap();
    let carol = store.register_user("carol").await.unwrap();
    let bob = store.register_user("bob").await.unwrap();
    let bob_laptop = store.add_device(bob.user_id).await.unwrap().unwrap();
    let (from_alice, from_carol) = (Uuid::now_v7(), Uuid::now_v7());
    store.writer.send(message(&alice, &bob, from_alice, "hi from alice", 1_000)).await.unwrap();
    store.writer.send(message(&carol, &bob, from_carol, "hi from carol", 1_001)).await.unwrap();

    // One batch: bob's phone acks its first entry, then both; his laptop acks the first
    // (already delivered by then); alice's phone acks nothing new.
    let acks = [(bob.device_id, 1, 2_000), (bob.device_id, 2, 2_001), (bob_laptop.device_id, 1, 2_002)];
    let hold = store.writer.hold();
    let mut pending = Vec::new();
    for (device, up_to, now) in acks {
        pending.push(store.writer.enqueue_ack(device, up_to, now).await.unwrap());
    }
    pending.push(store.writer.enqueue_ack(alice.device_id, 0, 2_003).await.unwrap());
    drop(hold);
    let mut outcomes: Vec<ReceiptsOutcome> = Vec::new();
    for outcome in pending {
        outcomes.push(outcome.await.unwrap());
    }

    let receipt_ids =
        |outcome: &ReceiptsOutcome| outcome.receipts.iter().map(|r| (r.device, r.seq)).collect::<Vec<_>>();
    let changed = |outcome: &ReceiptsOutcome| outcome.changed.iter().map(|t| t.id).collect::<Vec<_>>();
    assert_eq!(changed(&outcomes[0]), vec![from_alice]);
    assert_eq!(receipt_ids(&outcomes[0]), vec![(alice.device_id, 1)]);
    assert_eq!(changed(&outcomes[1]), vec![from_carol], "the second ack reaches only the entry after the first");
    assert_eq!(receipt_ids(&outcomes[1]), vec![(carol.device_id, 1)]);
    assert_eq!(changed(&outcomes[2]), vec![from_alice]);
    assert!(outcomes[2].receipts.is_empty(), "a message turns DELIVERED once");
    assert_eq!(changed(&outcomes[3]), Vec::<Uuid>::new());

    assert_eq!(receipts(&store, &alice).await, vec![(1, from_alice, TickState::Delivered)]);
    assert_eq!(receipts(&store, &carol).await, vec![(1, from_carol, TickState::Delivered)]);
    let receipt = &outcomes[0].receipts[0].frame;
    assert!(matches!(receipt, ServerFrame::Receipt { at: 2_000, progress: None, .. }), "{receipt:?}");
    store.writer.shutdown().await;
}
