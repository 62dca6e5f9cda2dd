//! Messages: the idempotent insert at the heart of exactly-once, what a stored message
//! is as far as receipts care, and [`Messages`] for SQLite: every write goes through the
//! single [`writer`](super::writer), reads of an inbox go to the pool.

use bluetick_shared::frames::{DeviceId, MessageId, Recipient, UserId};
use rusqlite::{Connection, OptionalExtension, params};

use super::inbox::InboxRow;
use super::{SqliteStore, uuid};
use crate::store::{InboxEntry, Messages, NewMessage, Pending, ReceiptsOutcome, SendOutcome, StorageError, Touched};

/// What a message is, as far as receipts and traces care.
pub(super) struct MessageFacts {
    pub(super) id: MessageId,
    pub(super) sender: UserId,
    pub(super) sender_device: String,
    pub(super) to: Recipient,
}

impl MessageFacts {
    /// The facts of message `message_id`, as the writer sees it (inside its transaction).
    pub(super) fn of(conn: &Connection, message_id: i64) -> Result<Self, StorageError> {
        let (client_id, sender_user, sender_device, recipient_user, group_id): (
            String,
            String,
            String,
            Option<String>,
            Option<String>,
        ) = conn
            .prepare_cached(
                "SELECT client_id, sender_user, sender_device, recipient_user, group_id FROM messages WHERE id = ?1",
            )?
            .query_row([message_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?)))?;
        let to = match (recipient_user, group_id) {
            (Some(user), _) => Recipient::User(uuid(&user)?),
            (None, Some(group)) => Recipient::Group(uuid(&group)?),
            (None, None) => return Err(StorageError::Corrupt(format!("message {message_id} has no recipient"))),
        };
        Ok(MessageFacts { id: uuid(&client_id)?, sender: uuid(&sender_user)?, sender_device, to })
    }
}

pub(super) fn touched(facts: &MessageFacts, device: DeviceId) -> Touched {
    Touched { id: facts.id, sender: facts.sender, to: facts.to, device }
}

/// Hands out the device's next inbox sequence.
pub(super) fn next_seq(conn: &Connection, device: &str) -> Result<u64, StorageError> {
    Ok(conn
        .prepare_cached("UPDATE devices SET last_seq = last_seq + 1 WHERE id = ?1 RETURNING last_seq")?
        .query_row([device], |row| row.get(0))?)
}

/// Whether a send stored a new message or repeated one already stored.
#[derive(Debug)]
pub(super) enum Inserted {
    /// New: the message's row id.
    New(i64),
    /// A retry (of a message committed before, or earlier in the same batch).
    Duplicate(SendOutcome),
}

/// The idempotent insert at the heart of exactly-once, for a batch of sends in job
/// order: the UNIQUE (sender_device, client_id) constraint turns a retry into a no-op
/// that returns no row, and the original row's commit time is answered instead. Of two
/// sends with the same id in one batch the first is stored and the second, which finds
/// the first's row inside the same transaction, is its duplicate.
pub(super) fn insert_messages(conn: &Connection, messages: &[&NewMessage]) -> Result<Vec<Inserted>, StorageError> {
    messages.iter().map(|m| insert_message(conn, m)).collect()
}

// bluetick:idempotent-insert:start
fn insert_message(conn: &Connection, m: &NewMessage) -> Result<Inserted, StorageError> {
    let (sender_device, client_id) = (m.sender.device.to_string(), m.id.to_string());
    let (recipient_user, group) = match m.to {
        Recipient::User(user) => (Some(user.to_string()), None),
        Recipient::Group(group) => (None, Some(group.to_string())),
    };
    let expires_at = m.now.saturating_add(m.ttl_ms);
    let new_id: Option<i64> = conn
        .prepare_cached(
            "INSERT INTO messages (sender_device, client_id, sender_user, recipient_user, group_id, body, sent_at, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (sender_device, client_id) DO NOTHING
             RETURNING id",
        )?
        .query_row(
            params![sender_device, client_id, m.sender.user.to_string(), recipient_user, group, m.body, m.now, expires_at],
            |row| row.get(0),
        )
        .optional()?;
    if let Some(id) = new_id {
        return Ok(Inserted::New(id));
    }
    // A retry: answer exactly as the first time, store nothing.
    let sent_at: i64 = conn
        .prepare_cached("SELECT sent_at FROM messages WHERE sender_device = ?1 AND client_id = ?2")?
        .query_row(params![sender_device, client_id], |row| row.get(0))?;
    Ok(Inserted::Duplicate(SendOutcome::Duplicate { sent_at }))
}
// bluetick:idempotent-insert:end

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
