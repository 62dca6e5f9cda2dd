//! Group fan-out written a batch of members at a time, against what it must keep: every
//! member device gets every group message exactly once, in order, with its inbox
//! sequences gap-free even while 1:1 messages take sequences on the same devices, and the
//! group's delivered counts come out exact.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use bluetick_backend::api::crowds::{CrowdReport, CrowdStarted};
use bluetick_client::{Connection, DeviceState, Event};
use bluetick_shared::frames::{ClientFrame, MessageId, ServerFrame, TickState};
use bluetick_tests::client::RawClient;
use bluetick_tests::db;
use bluetick_tests::events::{next, wait_for_ticks};
use bluetick_tests::http::{as_device, create_group, register};
use bluetick_tests::server::TestServer;

const WAIT: Duration = Duration::from_secs(120);
/// More members than one fan-out batch takes, so the messages cross batch boundaries.
const CROWD: usize = 300;
const WATCHED: usize = 3;

/// Reads a member's inbox until it holds `want` messages, acking as it goes; answers the
/// inbox by sequence. A sequence pushed twice (a redelivery) must carry the same message.
async fn read_inbox(mut raw: RawClient, want: usize) -> BTreeMap<u64, MessageId> {
    let mut inbox = BTreeMap::new();
    let deadline = Instant::now() + WAIT;
    while inbox.len() < want {
        assert!(Instant::now() < deadline, "only {} of {want} messages arrived", inbox.len());
        if let ServerFrame::Message { seq, message } = raw.recv().await {
            if let Some(before) = inbox.get(&seq) {
                assert_eq!(*before, message.id, "seq {seq} redelivered with another message");
                continue;
            }
            let highest = inbox.keys().next_back().copied().unwrap_or(0);
            assert_eq!(seq, highest + 1, "a new entry out of order or after a gap");
            inbox.insert(seq, message.id);
            raw.send(&ClientFrame::Ack { up_to: seq }).await;
        }
    }
    inbox
}

#[tokio::test]
async fn group_messages_back_to_back_with_one_to_one_in_between() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let carol = register(server.addr, "Carol").await;
    let group = create_group(server.addr, &alice, "back to back", &[]).await;
    let spec = serde_json::json!({ "size": CROWD }).to_string();
    let (status, body) =
        as_device(server.addr, &alice, "POST", &format!("/api/groups/{group}/crowd"), Some(&spec)).await;
    assert_eq!(status, 201, "{body}");
    let crowd: CrowdStarted = serde_json::from_str(&body).unwrap();
    let mut watched = Vec::new();
    for i in 0..WATCHED {
        let member = register(server.addr, &format!("watched {i}")).await;
        let body = serde_json::json!({ "user_id": member.user_id }).to_string();
        let (status, body) =
            as_device(server.addr, &alice, "POST", &format!("/api/groups/{group}/members"), Some(&body)).await;
        assert_eq!(status, 201, "{body}");
        watched.push(member);
    }
    let members = CROWD + WATCHED;

    let mut readers = Vec::new();
    for member in &watched {
        let raw = RawClient::connect_as(&server.ws_url(), member, 0).await;
        readers.push(tokio::spawn(read_inbox(raw, 5)));
    }
    let mut alice_conn = Connection::connect(&server.ws_url(), DeviceState::new(alice.clone())).await.unwrap();
    let mut carol_conn = Connection::connect(&server.ws_url(), DeviceState::new(carol.clone())).await.unwrap();
    // Three group messages back to back, 1:1 messages to the same devices between them.
    let mut group_ids = Vec::new();
    let mut direct_ids: Vec<Vec<MessageId>> = vec![Vec::new(); WATCHED];
    for round in 0..3 {
        group_ids.push(alice_conn.send_to_group(group, format!("group {round}")).await.unwrap());
        if round < 2 {
            for (i, member) in watched.iter().enumerate() {
                direct_ids[i].push(carol_conn.send_message(member.user_id, format!("direct {round}")).await.unwrap());
            }
        }
    }

    for ((reader, direct), member) in readers.into_iter().zip(&direct_ids).zip(&watched) {
        let inbox = reader.await.unwrap();
        let in_order: Vec<MessageId> = inbox.values().copied().collect();
        let mut distinct = in_order.clone();
        distinct.sort();
        distinct.dedup();
        assert_eq!(distinct.len(), in_order.len(), "{}: a message twice: {in_order:?}", member.user_id);
        let groups: Vec<MessageId> = in_order.iter().copied().filter(|id| group_ids.contains(id)).collect();
        let directs: Vec<MessageId> = in_order.iter().copied().filter(|id| direct.contains(id)).collect();
        assert_eq!(groups, group_ids, "every group message once, in the order sent");
        assert_eq!(&directs, direct, "every 1:1 message once, in the order sent");
        assert_eq!(inbox.keys().copied().collect::<Vec<_>>(), (1..=5).collect::<Vec<u64>>());
    }

    // Every member acked: DELIVERED to all, with exact counts.
    wait_for_ticks(&mut alice_conn, &group_ids, TickState::Delivered).await;
    let (_, body) = as_device(server.addr, &alice, "GET", &format!("/api/crowds/{}", crowd.crowd_id), None).await;
    let report: CrowdReport = serde_json::from_str(&body).unwrap();
    assert_eq!(report.members.len(), CROWD);
    for member in &report.members {
        assert_eq!(member.log.received, group_ids, "every crowd member: every message, once, in order");
    }
    let data = server.data_dir();
    assert_eq!(db::count(data, "SELECT COUNT(*) FROM inbox WHERE kind = 0").await, (3 * members + 2 * WATCHED) as i64);
    assert_eq!(
        db::count(data, "SELECT COUNT(*) FROM (SELECT DISTINCT message_id, device_id FROM inbox WHERE kind = 0)").await,
        (3 * members + 2 * WATCHED) as i64,
        "none twice"
    );
    assert_eq!(
        db::count(
            data,
            "SELECT COUNT(*) FROM messages WHERE group_id IS NOT NULL
             AND delivered_count = 303 AND recipients_total = 303 AND state >= 1"
        )
        .await,
        3,
        "each group message counted every member once"
    );
    // Sequences handed out are exactly the entries made: 1, 2, 3… per device, no gap.
    assert_eq!(
        db::count(
            data,
            "SELECT COUNT(*) FROM devices d WHERE d.last_seq <> (SELECT COUNT(*) FROM inbox i WHERE i.device_id = d.id)
             OR d.last_seq <> (SELECT COALESCE(MAX(seq), 0) FROM inbox i WHERE i.device_id = d.id)"
        )
        .await,
        0
    );
    drop(carol_conn);
    server.stop().await;
}

/// Pins the ack path of group messages: members who acknowledge (and do not read) make
/// the sender's message DELIVERED with a read count of 0, and only their reads make it
/// READ. No other test acked a group message without also reading it.
#[tokio::test]
async fn a_group_message_every_member_acknowledged_but_nobody_read_is_delivered_not_read() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let group = create_group(server.addr, &alice, "back to back", &[]).await;
    let mut members = Vec::new();
    for name in ["Bob", "Carol"] {
        let member = register(server.addr, name).await;
        let body = serde_json::json!({ "user_id": member.user_id }).to_string();
        let (status, body) =
            as_device(server.addr, &alice, "POST", &format!("/api/groups/{group}/members"), Some(&body)).await;
        assert_eq!(status, 201, "{body}");
        members.push(RawClient::connect_as(&server.ws_url(), &member, 0).await);
    }
    let mut alice_conn = Connection::connect(&server.ws_url(), DeviceState::new(alice)).await.unwrap();
    let id = alice_conn.send_to_group(group, "hi").await.unwrap();

    // Both members acknowledge; neither reads.
    let mut seqs = Vec::new();
    for member in &mut members {
        loop {
            if let ServerFrame::Message { seq, message } = member.recv().await
                && message.id == id
            {
                member.send(&ClientFrame::Ack { up_to: seq }).await;
                seqs.push(seq);
                break;
            }
        }
    }
    let mut delivered = 0;
    while alice_conn.state.outbox.state(&id) != Some(TickState::Delivered) || delivered < 2 {
        if let Event::GroupProgress { progress, .. } = next(&mut alice_conn).await {
            assert_eq!(progress.read, 0, "a read count before anyone read: {progress:?}");
            delivered = progress.delivered;
        }
        assert_ne!(alice_conn.state.outbox.state(&id), Some(TickState::Read), "READ before anyone read");
    }
    // Now both read: only then does the message turn blue.
    for (member, seq) in members.iter_mut().zip(&seqs) {
        member.send(&ClientFrame::Read { seqs: vec![*seq] }).await;
    }
    while alice_conn.state.outbox.state(&id) != Some(TickState::Read) {
        next(&mut alice_conn).await;
    }
    server.stop().await;
}
