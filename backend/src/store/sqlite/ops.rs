//! The SQL of every write, run by the [`writer`](super::writer) inside a batch
//! transaction. Each function takes the transaction's connection and returns what the
//! caller must push to devices once the batch has committed.

use std::collections::HashMap;

use bluetick_shared::frames::{DeviceId, GroupProgress, MessageId, Recipient, ServerFrame, TickState, UserId};
use sqlx::SqliteConnection;

use super::uuid;
use crate::store::{InboxEntry, NewMessage, ReceiptsOutcome, SendOutcome, Touched};

/// What a message is, as far as receipts and traces care.
pub(super) struct MessageFacts {
    pub(super) id: MessageId,
    pub(super) sender: UserId,
    pub(super) sender_device: String,
    pub(super) to: Recipient,
}

/// A `messages` row's client_id, sender_user, sender_device, recipient_user, group_id.
pub(super) type FactsRow = (String, String, String, Option<String>, Option<String>);

impl MessageFacts {
    pub(super) fn from_row(
        (client_id, sender, sender_device, recipient, group): FactsRow,
    ) -> Result<Self, sqlx::Error> {
        let to = match (recipient, group) {
            (Some(user), _) => Recipient::User(uuid(&user)?),
            (None, Some(group)) => Recipient::Group(uuid(&group)?),
            (None, None) => return Err(sqlx::Error::Protocol("message without recipient".into())),
        };
        Ok(MessageFacts { id: uuid(&client_id)?, sender: uuid(&sender)?, sender_device, to })
    }
}

async fn facts(conn: &mut SqliteConnection, message_id: i64) -> Result<MessageFacts, sqlx::Error> {
    let row: FactsRow = sqlx::query_as(
        "SELECT client_id, sender_user, sender_device, recipient_user, group_id FROM messages WHERE id = ?",
    )
    .bind(message_id)
    .fetch_one(&mut *conn)
    .await?;
    MessageFacts::from_row(row)
}

pub(super) fn touched(facts: &MessageFacts, device: DeviceId) -> Touched {
    Touched { id: facts.id, sender: facts.sender, to: facts.to, device }
}

/// Hands out the device's next inbox sequence.
pub(super) async fn next_seq(conn: &mut SqliteConnection, device: &str) -> Result<u64, sqlx::Error> {
    let seq: i64 = sqlx::query_scalar("UPDATE devices SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq")
        .bind(device)
        .fetch_one(&mut *conn)
        .await?;
    Ok(seq as u64)
}

/// Whether a send stored a new message or repeated one already stored.
#[derive(Debug)]
pub(super) enum Inserted {
    /// New: the message's row id.
    New(i64),
    /// A retry (of a message committed before, or earlier in the same batch).
    Duplicate(SendOutcome),
}

/// The idempotent insert at the heart of exactly-once, for a whole batch of sends in one
/// statement: the UNIQUE (sender_device, client_id) constraint turns a retry into a no-op
/// that returns nothing, and the original row's commit time is answered instead. Rows go
/// in in job order, so of two sends with the same id in one batch the first is stored and
/// the second is its duplicate.
pub(super) async fn insert_messages(
    conn: &mut SqliteConnection,
    messages: &[&NewMessage],
) -> Result<Vec<Inserted>, sqlx::Error> {
    let keys: Vec<(String, String)> =
        messages.iter().map(|m| (m.sender.device.to_string(), m.id.to_string())).collect();
    let rows: Vec<_> = messages
        .iter()
        .zip(&keys)
        .map(|(m, (sender_device, client_id))| {
            let (recipient_user, group) = match m.to {
                Recipient::User(user) => (Some(user.to_string()), None),
                Recipient::Group(group) => (None, Some(group.to_string())),
            };
            let expires_at = m.now.saturating_add(m.ttl_ms);
            (sender_device, client_id, m.sender.user.to_string(), recipient_user, group, &m.body, m.now, expires_at)
        })
        .collect();
    // bluetick:idempotent-insert:start
    let inserted: Vec<(i64, String, String)> = sqlx::query_as(
        "INSERT INTO messages (sender_device, client_id, sender_user, recipient_user, group_id, body, sent_at, expires_at)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5, value ->> 6, value ->> 7
         FROM json_each(?1) WHERE true ORDER BY key
         ON CONFLICT (sender_device, client_id) DO NOTHING
         RETURNING id, sender_device, client_id",
    )
    .bind(json_rows(&rows))
    .fetch_all(&mut *conn)
    .await?;
    let mut new_ids: HashMap<(String, String), i64> =
        inserted.into_iter().map(|(id, sender_device, client_id)| ((sender_device, client_id), id)).collect();
    let mut stored_now: HashMap<&(String, String), i64> = HashMap::new();
    let mut outcomes = Vec::with_capacity(messages.len());
    for (m, key) in messages.iter().zip(&keys) {
        if let Some(id) = new_ids.remove(key) {
            stored_now.insert(key, m.now);
            outcomes.push(Inserted::New(id));
        } else if let Some(&sent_at) = stored_now.get(key) {
            // Sent twice within one batch: answer as the first, store nothing.
            outcomes.push(Inserted::Duplicate(SendOutcome::Duplicate { sent_at }));
        } else {
            // A retry: answer exactly as the first time, store nothing.
            let sent_at: i64 =
                sqlx::query_scalar("SELECT sent_at FROM messages WHERE sender_device = ? AND client_id = ?")
                    .bind(&key.0)
                    .bind(&key.1)
                    .fetch_one(&mut *conn)
                    .await?;
            outcomes.push(Inserted::Duplicate(SendOutcome::Duplicate { sent_at }));
        }
    }
    // bluetick:idempotent-insert:end
    Ok(outcomes)
}

/// The rows of one set-based statement as a JSON array of arrays, bound as a single
/// parameter and unpacked in SQL with `json_each`: one SQL text whatever the batch size,
/// so sqlx prepares each statement once per connection (it caches by SQL text).
pub(super) fn json_rows<T: serde::Serialize>(rows: &[T]) -> String {
    serde_json::to_string(rows).expect("rows of strings and integers always serialize")
}

pub(super) fn state_code(state: TickState) -> i64 {
    match state {
        TickState::Sent => 0,
        TickState::Delivered => 1,
        TickState::Read => 2,
        TickState::Failed => 3,
    }
}

pub(crate) fn state_from_code(code: i64) -> TickState {
    match code {
        1 => TickState::Delivered,
        2 => TickState::Read,
        3 => TickState::Failed,
        _ => TickState::Sent,
    }
}

/// Moves a message's tick forward to `to` (never backwards) and, if it moved, queues a
/// receipt in the sender's inbox.
pub(super) async fn advance_and_receipt(
    conn: &mut SqliteConnection,
    message_id: i64,
    to: TickState,
    reason: Option<&str>,
    now: i64,
) -> Result<Option<(MessageId, InboxEntry)>, sqlx::Error> {
    // Forward only: FAILED (3) only from SENT (0); anything else only upwards, and
    // never out of FAILED.
    let moved: Option<(String, String)> = sqlx::query_as(
        "UPDATE messages SET state = ?2
         WHERE id = ?1 AND ((?2 = 3 AND state = 0) OR (?2 <> 3 AND state < ?2 AND state <> 3))
         RETURNING sender_device, client_id",
    )
    .bind(message_id)
    .bind(state_code(to))
    .fetch_optional(&mut *conn)
    .await?;
    let Some((sender_device, client_id)) = moved else {
        return Ok(None);
    };
    let seq = next_seq(conn, &sender_device).await?;
    sqlx::query(
        "INSERT INTO inbox (device_id, seq, kind, message_id, receipt_state, reason, created_at)
         VALUES (?, ?, 1, ?, ?, ?, ?)",
    )
    .bind(&sender_device)
    .bind(seq as i64)
    .bind(message_id)
    .bind(state_code(to))
    .bind(reason)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    let id = uuid(&client_id)?;
    let progress = group_progress(conn, message_id).await?;
    let frame = ServerFrame::Receipt { seq, id, state: to, at: now, reason: reason.map(str::to_string), progress };
    Ok(Some((id, InboxEntry { device: uuid(&sender_device)?, seq, frame })))
}

/// Delivered k/N and read k/N of a group message (`None` for a 1:1 message).
pub(super) async fn group_progress(
    conn: &mut SqliteConnection,
    message_id: i64,
) -> Result<Option<GroupProgress>, sqlx::Error> {
    let row: Option<(i64, i64, Option<i64>, i64)> = sqlx::query_as(
        // Counting the entries made so far is only needed while fan-out runs; after
        // that the total is stored (and counting per receipt would make a big group's
        // receipts cost O(N²)).
        "SELECT delivered_count, read_count, recipients_total,
                CASE WHEN recipients_total IS NULL
                     THEN (SELECT COUNT(*) FROM inbox WHERE message_id = ?1 AND kind = 0)
                          + (SELECT COUNT(*) FROM dead_letters WHERE message_id = ?1)
                     ELSE recipients_total END
         FROM messages WHERE id = ?1 AND group_id IS NOT NULL",
    )
    .bind(message_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(delivered, read, total, so_far)| GroupProgress {
        delivered: delivered as u32,
        read: read as u32,
        total: total.unwrap_or(so_far) as u32,
        fanned_out: total.is_some(),
    }))
}

/// Counts one more member delivery (and read) of a group message. Returns the new
/// progress, and advances the message's tick once every member has it (or read it).
pub(super) async fn count_group_receipt(
    conn: &mut SqliteConnection,
    message_id: i64,
    delivered: bool,
    read: bool,
    now: i64,
    outcome: &mut ReceiptsOutcome,
    facts: &MessageFacts,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE messages SET delivered_count = delivered_count + ?, read_count = read_count + ? WHERE id = ?")
        .bind(delivered as i64)
        .bind(read as i64)
        .bind(message_id)
        .execute(&mut *conn)
        .await?;
    let Some(progress) = group_progress(conn, message_id).await? else { return Ok(()) };
    if progress.fanned_out && progress.delivered >= progress.total {
        if let Some((_, receipt)) = advance_and_receipt(conn, message_id, TickState::Delivered, None, now).await? {
            outcome.receipts.push(receipt);
        }
    }
    if progress.fanned_out && progress.read >= progress.total {
        if let Some((_, receipt)) = advance_and_receipt(conn, message_id, TickState::Read, None, now).await? {
            outcome.receipts.push(receipt);
        }
    }
    outcome.progress.push((uuid(&facts.sender_device)?, facts.id, progress));
    Ok(())
}

/// Read receipts: the user saw these messages. Reading implies delivery.
///
/// All or nothing: if any sequence is not a message in this device's inbox, nothing is
/// marked read and `unknown` names the culprits. A refused frame stores nothing, so a
/// client can fix its list and send it again without having half-applied the first.
pub async fn read(
    conn: &mut SqliteConnection,
    device: DeviceId,
    seqs: &[u64],
    now: i64,
) -> Result<ReceiptsOutcome, sqlx::Error> {
    let device_text = device.to_string();
    let mut outcome = ReceiptsOutcome::default();
    let mut found = Vec::with_capacity(seqs.len());
    // A sequence named twice in one frame is read once (it would be counted twice in a
    // group message's read count otherwise: both lookups happen before either update).
    let mut seen = std::collections::HashSet::with_capacity(seqs.len());
    for &seq in seqs.iter().filter(|&&seq| seen.insert(seq)) {
        let before: Option<(i64, Option<i64>, Option<i64>)> = sqlx::query_as(
            "SELECT message_id, acked_at, read_at FROM inbox WHERE device_id = ? AND seq = ? AND kind = 0",
        )
        .bind(&device_text)
        .bind(seq as i64)
        .fetch_optional(&mut *conn)
        .await?;
        match before {
            Some(row) => found.push((seq, row)),
            None => outcome.unknown.push(seq),
        }
    }
    if !outcome.unknown.is_empty() {
        return Ok(outcome);
    }
    for (seq, (message_id, acked_at, read_at)) in found {
        if read_at.is_some() {
            continue; // read before: nothing changes
        }
        sqlx::query(
            "UPDATE inbox SET read_at = ?1, acked_at = COALESCE(acked_at, ?1) WHERE device_id = ?2 AND seq = ?3",
        )
        .bind(now)
        .bind(&device_text)
        .bind(seq as i64)
        .execute(&mut *conn)
        .await?;
        let facts = facts(conn, message_id).await?;
        outcome.changed.push(touched(&facts, device));
        if matches!(facts.to, Recipient::Group(_)) {
            count_group_receipt(conn, message_id, acked_at.is_none(), true, now, &mut outcome, &facts).await?;
        } else if let Some((_, receipt)) = advance_and_receipt(conn, message_id, TickState::Read, None, now).await? {
            outcome.receipts.push(receipt);
        }
    }
    Ok(outcome)
}

/// Moves messages that no device acknowledged before their expiry to the dead-letter
/// table and tells their senders. At most `limit` messages per call.
pub async fn expire(conn: &mut SqliteConnection, now: i64, limit: i64) -> Result<ReceiptsOutcome, sqlx::Error> {
    let due: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, expires_at - sent_at FROM messages m
         WHERE state = 0 AND expires_at <= ?
           AND EXISTS (SELECT 1 FROM inbox i WHERE i.message_id = m.id AND i.kind = 0 AND i.acked_at IS NULL)
         ORDER BY expires_at LIMIT ?",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    let mut outcome = ReceiptsOutcome::default();
    for (message_id, ttl_ms) in due {
        let reason = format!("not delivered within {}", describe_ms(ttl_ms));
        let devices: Vec<String> = sqlx::query_scalar(
            "DELETE FROM inbox WHERE message_id = ? AND kind = 0 AND acked_at IS NULL RETURNING device_id",
        )
        .bind(message_id)
        .fetch_all(&mut *conn)
        .await?;
        for device in &devices {
            sqlx::query(
                "INSERT OR IGNORE INTO dead_letters (message_id, device_id, reason, failed_at) VALUES (?, ?, ?, ?)",
            )
            .bind(message_id)
            .bind(device)
            .bind(&reason)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            let facts = facts(conn, message_id).await?;
            outcome.changed.push(touched(&facts, uuid(device)?));
        }
        // A group message some members received is not FAILED: those who missed it
        // are in the dead-letter table, and the progress counts say how many.
        let delivered: i64 = sqlx::query_scalar("SELECT delivered_count FROM messages WHERE id = ?")
            .bind(message_id)
            .fetch_one(&mut *conn)
            .await?;
        if delivered == 0 {
            if let Some((_, receipt)) =
                advance_and_receipt(conn, message_id, TickState::Failed, Some(&reason), now).await?
            {
                outcome.receipts.push(receipt);
            }
        }
    }
    Ok(outcome)
}

/// Records a push wake-up for an offline device, for the message at `seq` in its inbox.
pub async fn record_wakeup(
    conn: &mut SqliteConnection,
    device: DeviceId,
    seq: u64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO push_outbox (device_id, message_id, created_at)
         SELECT device_id, message_id, ? FROM inbox WHERE device_id = ? AND seq = ?",
    )
    .bind(now)
    .bind(device.to_string())
    .bind(seq as i64)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// "30 days", "45 s": a duration for people.
pub fn describe_ms(ms: i64) -> String {
    const DAY: i64 = 86_400_000;
    match ms {
        ms if ms >= DAY && ms % DAY == 0 => format!("{} days", ms / DAY),
        ms if ms >= 1_000 => format!("{} s", ms / 1_000),
        ms => format!("{ms} ms"),
    }
}
