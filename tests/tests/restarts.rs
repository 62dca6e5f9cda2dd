//! What survives the server process going away: receipts reach the sender exactly once
//! across a SIGKILL between the recipient's ack (or read) and the receipt, and a SIGINT
//! (Ctrl-C) in the middle of a stream of sends loses nothing that was acknowledged.
//! Raw frames throughout: the product client re-acks and resends on its own, which could
//! hide exactly what is attacked here.

use std::collections::HashSet;

use bluetick_shared::frames::{ClientFrame, Recipient, Registration, ServerFrame, TickState, TraceStage};
use bluetick_tests::client::RawClient;
use bluetick_tests::db;
use bluetick_tests::http::register;
use bluetick_tests::server::ServerProcess;
use uuid::Uuid;

/// Reads frames until a trace of `stage` for message `id`: the step has been committed.
async fn wait_trace(client: &mut RawClient, id: Uuid, stage: TraceStage) {
    loop {
        if let ServerFrame::Trace { id: traced, stage: s, .. } = client.recv().await
            && traced == id
            && s == stage
        {
            return;
        }
    }
}

/// Bob's device after a restart, as a client that lost track of what reached the server:
/// it resumes from the start, takes the message again and acknowledges it again (and
/// reads it again, if it had). Returns once the server has read all of it, and with
/// `read`, committed it too (a read is answered after its commit; the ack before it
/// went through the same writer first).
async fn bob_repeats_himself(url: &str, bob: &Registration, read: bool) {
    let mut bob = RawClient::connect_as(url, bob, 0).await;
    assert!(matches!(bob.recv().await, ServerFrame::Message { seq: 1, .. }));
    bob.send(&ClientFrame::Ack { up_to: 1 }).await;
    if read {
        bob.send(&ClientFrame::Read { seqs: vec![1] }).await;
    }
    // A frame that is always refused: its error comes after everything before it.
    bob.send(&ClientFrame::Ack { up_to: u64::MAX }).await;
    loop {
        match bob.recv().await {
            ServerFrame::Error { message, .. } => break assert!(message.starts_with("ack up_to"), "{message}"),
            ServerFrame::Drained { .. } => {}
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Reads Alice's receipts until `drained`; returns (seq, state) of each.
async fn receipts_until_drained(alice: &mut RawClient) -> Vec<(u64, TickState)> {
    let mut got = Vec::new();
    loop {
        match alice.recv().await {
            ServerFrame::Receipt { seq, state, .. } => got.push((seq, state)),
            ServerFrame::Drained { .. } => return got,
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn receipts_exactly_once_after_kill() {
    let data = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(data.path(), &[]);
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mut sender = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    let id = Uuid::now_v7();
    sender.send(&ClientFrame::Send { id, to: Recipient::User(bob.user_id), body: "tick tock".into() }).await;
    while !matches!(sender.recv().await, ServerFrame::Sent { .. }) {}
    drop(sender); // Alice goes offline: her receipts wait in her inbox.

    // Bob acks; the ack (and with it the receipt in Alice's inbox) is committed; the
    // server dies before Alice has it.
    let mut raw = RawClient::connect_as(&server.ws_url(), &bob, 0).await;
    raw.send(&ClientFrame::Observe { with: Recipient::User(alice.user_id) }).await;
    assert!(matches!(raw.recv().await, ServerFrame::Message { seq: 1, .. }));
    raw.send(&ClientFrame::Ack { up_to: 1 }).await;
    wait_trace(&mut raw, id, TraceStage::Acked).await;
    server.signal(9);
    let _ = server.child.wait();

    let mut server = ServerProcess::start(data.path(), &[]);
    bob_repeats_himself(&server.ws_url(), &bob, false).await;
    // Alice, back, has exactly one DELIVERED.
    let mut alice_conn = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    let mut seen = receipts_until_drained(&mut alice_conn).await;
    assert_eq!(seen, [(1, TickState::Delivered)]);

    // Again for READ, with Alice online this time: the receipt reaches her socket, she
    // never acknowledges it, and the server dies.
    let mut raw = RawClient::connect_as(&server.ws_url(), &bob, 1).await;
    raw.send(&ClientFrame::Observe { with: Recipient::User(alice.user_id) }).await;
    raw.send(&ClientFrame::Read { seqs: vec![1] }).await;
    wait_trace(&mut raw, id, TraceStage::Read).await;
    match alice_conn.recv().await {
        ServerFrame::Receipt { seq, state, .. } => seen.push((seq, state)),
        other => panic!("expected the READ receipt, got {other:?}"),
    }
    server.signal(9);
    let _ = server.child.wait();
    drop((raw, alice_conn));
    let server = ServerProcess::start(data.path(), &[]);
    bob_repeats_himself(&server.ws_url(), &bob, true).await;
    let mut alice_conn = RawClient::connect_as(&server.ws_url(), &alice, 2).await;
    seen.extend(receipts_until_drained(&mut alice_conn).await);
    assert_eq!(seen, [(1, TickState::Delivered), (2, TickState::Read)], "each once, across both kills");

    // The durable record agrees: two receipts in Alice's inbox, one of each.
    let receipts = "SELECT COUNT(*) FROM inbox WHERE kind = 1";
    assert_eq!(db::count(data.path(), receipts).await, 2);
    let replay = &mut RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    assert_eq!(receipts_until_drained(replay).await, [(1, TickState::Delivered), (2, TickState::Read)]);
}

#[tokio::test]
async fn sigint_loses_nothing_in_flight() {
    const MESSAGES: usize = 2000;
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), &[]);
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let ids: Vec<Uuid> = (0..MESSAGES).map(|_| Uuid::now_v7()).collect();
    let mut raw = RawClient::connect_as(&server.ws_url(), &alice, 0).await;
    // Ctrl-C in the middle of the stream, once a good part of it is committed (and so
    // acknowledged: the acks wait in the socket meanwhile): sends before it are queued for
    // or in a commit, sends after it race the shutdown.
    let mut signalled = false;
    for (i, id) in ids.iter().enumerate() {
        if !signalled && i % 50 == 0 && db::count(data.path(), "SELECT COUNT(*) FROM messages").await >= 200 {
            server.signal(2);
            signalled = true;
        }
        let frame = ClientFrame::Send { id: *id, to: Recipient::User(bob.user_id), body: format!("m{i}") };
        if !raw.try_send(&frame).await {
            break;
        }
    }
    if !signalled {
        server.signal(2);
    }
    // Every ack that gets out counts, up to the close frame.
    let mut acked: HashSet<Uuid> = HashSet::new();
    let close = loop {
        match raw.recv_or_close().await {
            Ok(ServerFrame::Sent { id, .. }) => {
                acked.insert(id);
            }
            Ok(_) => {}
            Err(close) => break close.map(|c| u16::from(c.code)),
        }
    };
    let mut server = server;
    let status = tokio::task::spawn_blocking(move || {
        let status = server.child.wait();
        drop(server);
        status
    })
    .await
    .unwrap()
    .unwrap();
    assert!(status.success(), "a clean exit: {status}");

    // Restarted: every acknowledged message is there, once, in the order sent.
    let stored = db::count(data.path(), "SELECT COUNT(*) FROM messages").await as usize;
    assert!(stored >= acked.len(), "{stored} stored, {} acknowledged", acked.len());
    let server = ServerProcess::start(data.path(), &[]);
    let mut bob_conn = RawClient::connect_as(&server.ws_url(), &bob, 0).await;
    let mut received = Vec::new();
    loop {
        match bob_conn.recv().await {
            ServerFrame::Message { message, .. } => received.push(message.id),
            ServerFrame::Drained { .. } => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(received.len(), stored);
    assert_eq!(received, ids[..stored], "what was stored is a prefix of the stream, in order, once each");
    let missing: Vec<&Uuid> = acked.iter().filter(|id| !received.contains(id)).collect();
    assert!(missing.is_empty(), "acknowledged SENT but lost at Ctrl-C: {missing:?}");
    assert_eq!(close, Some(1001), "the socket was closed as going away");
}
