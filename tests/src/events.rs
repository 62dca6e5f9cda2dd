//! Waiting for what a [`Connection`] sees, with a generous limit that only turns a hang
//! into a clear failure.

use std::time::Duration;

use bluetick_client::{Connection, Event};
use bluetick_shared::frames::{MessageId, TickState};

/// How long a test waits for the next event before it fails.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(60);

/// The next event; panics if the connection fails or nothing comes in time.
pub async fn next(conn: &mut Connection) -> Event {
    conn.next_event_within(EVENT_TIMEOUT).await.expect("connection failed").expect("no event in time")
}

/// Reads events until `n` new messages arrived; returns their sequences and bodies.
pub async fn collect_messages(conn: &mut Connection, n: usize) -> Vec<(u64, String)> {
    let mut got = Vec::new();
    while got.len() < n {
        if let Event::Message { seq, message } = next(conn).await {
            got.push((seq, message.body));
        }
    }
    got
}

/// Reads events until every message in `ids` reached at least `state`.
pub async fn wait_for_ticks(conn: &mut Connection, ids: &[MessageId], state: TickState) {
    while ids.iter().any(|id| conn.state.outbox.state(id).is_none_or(|s| s < state)) {
        next(conn).await;
    }
}
