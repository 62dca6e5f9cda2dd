//! Messages: the idempotent insert at the heart of exactly-once, what a stored message
//! is as far as receipts care, and [`Messages`] for SQLite: every write goes through the
//! single [`writer`](super::writer), reads of an inbox go to the pool.

use std::collections::HashMap;

use bluetick_shared::frames::{DeviceId, MessageId, Recipient, UserId};
use sqlx::SqliteConnection;
use uuid::Uuid;

use super::inbox::InboxRow;
use super::{SqliteStore, json_rows, uuid};
use crate::store::{InboxEntry, Messages, NewMessage, Pending, ReceiptsOutcome, SendOutcome, StorageError, Touched};

/// What a message is, as far as receipts and traces care.
pub(super) struct MessageFacts {
    pub(super) id: MessageId,
    pub(super) sender: UserId,
    pub(super) sender_device: String,
    pub(super) to: Recipient,
}

/// The columns of a `messages` row that [`MessageFacts`] are made of.
#[derive(sqlx::FromRow)]
pub(super) struct FactsRow {
    #[sqlx(try_from = "String")]
    client_id: Uuid,
    #[sqlx(try_from = "String")]
    sender_user: Uuid,
    sender_device: String,
    recipient_user: Option<String>,
    group_id: Option<String>,
}

impl MessageFacts {
    pub(super) fn from_row(row: FactsRow) -> Result<Self, sqlx::Error> {
        let to = match (row.recipient_user, row.group_id) {
            (Some(user), _) => Recipient::User(uuid(&user)?),
            (None, Some(group)) => Recipient::Group(uuid(&group)?),
            (None, None) => return Err(sqlx::Error::Protocol("message without recipient".into())),
        };
        Ok(MessageFacts { id: row.client_id, sender: row.sender_user, sender_device: row.sender_device, to })
    }
}

pub(super) async fn facts(conn: &mut SqliteConnection, message_id: i64) -> Result<MessageFacts, sqlx::Error> {
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

#[async_trait::async_trait]
impl Messages for SqliteStore {
    async fn enqueue_send(&self, message: NewMessage) -> Result<Pending<SendOutcome>, StorageError> {
        self.writer.enqueue_send(message).await
    }

    async fn enqueue_ack(
        &self,
        device: DeviceId,
        up_to: u64,
        now: i64,
    ) -> Result<Pending<ReceiptsOutcome>, StorageError> {
        self.writer.enqueue_ack(device, up_to, now).await
    }

    async fn read(&self, device: DeviceId, seqs: Vec<u64>, now: i64) -> Result<ReceiptsOutcome, StorageError> {
        self.writer.read(device, seqs, now).await
    }

    async fn expire(&self, now: i64, limit: i64) -> Result<ReceiptsOutcome, StorageError> {
        self.writer.expire(now, limit).await
    }

    async fn record_wakeup(&self, device: DeviceId, seq: u64, now: i64) -> Result<(), StorageError> {
        self.writer.wakeup(device, seq, now).await
    }

    /// Up to `limit` inbox entries of `device` after sequence `after`, in order.
    async fn inbox_after(&self, device: DeviceId, after: u64, limit: u32) -> Result<Vec<InboxEntry>, StorageError> {
        let rows: Vec<InboxRow> = sqlx::query_as(
            "SELECT i.seq, i.kind, i.receipt_state, i.created_at, i.reason,
                    m.client_id, m.sender_user, m.sender_device, u.name, m.recipient_user, m.group_id, m.body,
                    m.sent_at, m.delivered_count, m.read_count, m.recipients_total
             FROM inbox i
             JOIN messages m ON m.id = i.message_id
             JOIN users u ON u.id = m.sender_user
             WHERE i.device_id = ? AND i.seq > ?
             ORDER BY i.seq
             LIMIT ?",
        )
        .bind(device.to_string())
        .bind(after as i64)
        .bind(limit as i64)
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(|row| row.into_entry(device)).collect()
    }

    /// The highest sequence in `device`'s inbox (0 if empty).
    async fn last_seq(&self, device: DeviceId) -> Result<u64, StorageError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM devices WHERE id = ?")
            .bind(device.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(seq.unwrap_or(0) as u64)
    }
}
