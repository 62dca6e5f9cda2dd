//! No loss and no duplicate across a crash: the backend process is killed with SIGKILL in
//! the middle of a stream of sends, restarted on the same data dir, and every message
//! the sender saw acknowledged is delivered exactly once, in order.

use std::collections::HashSet;

use bluetick_client::{Connection, DeviceState, Event};
use bluetick_shared::frames::TickState;
use bluetick_tests::events::next;
use bluetick_tests::http::register;
use bluetick_tests::server::ServerProcess;

const MESSAGES: usize = 300;

#[tokio::test]
async fn crash_restart() {
    let data = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(data.path(), &[]);
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let bob_user = bob.user_id;

    let mut alice = Connection::connect(&server.ws_url(), DeviceState::new(alice)).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..MESSAGES {
        ids.push(alice.send_message(bob.user_id, format!("m{i}")).await.unwrap());
    }
    // Kill the server while it is still committing the stream.
    let mut acked = 0;
    while acked < MESSAGES / 6 {
        if let Event::Tick(change) = next(&mut alice).await
            && change.to == TickState::Sent
        {
            acked += 1;
        }
    }
    server.signal(9);
    let _ = server.child.wait();
    let ledger: Vec<_> = ids.iter().filter(|id| alice.state.outbox.state(id).is_some()).copied().collect();
    assert!(ledger.len() >= MESSAGES / 6);
    let alice_state = alice.drop_abruptly();

    // Restart on the same data dir.
    let server = ServerProcess::start(data.path(), &[]);
    let mut bob = Connection::connect(&server.ws_url(), DeviceState::new(bob)).await.unwrap();
    let mut received = Vec::new();
    loop {
        match next(&mut bob).await {
            Event::Message { message, .. } => received.push(message.id),
            Event::Drained { .. } => break,
            _ => {}
        }
    }
    let survived: HashSet<_> = received.iter().copied().collect();
    for id in &ledger {
        assert!(survived.contains(id), "a message acknowledged as SENT was lost in the crash");
    }
    assert_eq!(received, ids[..received.len()], "what survived is a prefix, in order, once each");

    // Alice reconnects; her library resends what was never acknowledged, with the same
    // ids. The ones that had committed before the crash are recognised, not stored again.
    let mut alice = Connection::connect(&server.ws_url(), alice_state).await.unwrap();
    while ids.iter().any(|id| alice.state.outbox.state(id).is_none()) {
        next(&mut alice).await;
    }
    while received.len() < MESSAGES {
        if let Event::Message { message, .. } = next(&mut bob).await {
            received.push(message.id);
        }
    }
    assert_eq!(received, ids, "every message exactly once, in the order sent");
    // And nothing more: the inbox is FIFO, so any extra copy would come before the next
    // message Alice sends.
    let after = alice.send_message(bob_user, "after").await.unwrap();
    loop {
        if let Event::Message { message, .. } = next(&mut bob).await {
            break assert_eq!(message.id, after, "and nothing more");
        }
    }
}
