//! Group fan-out: one inbox entry per device of every other member, a batch of members
//! per transaction.
//!
//! The job's cursor (the last member fanned out to, in user-id order) moves in the same
//! transaction as the batch's inbox entries. A crash between batches therefore resumes
//! at the first member not yet committed; a crash inside a batch rolls the whole batch
//! back. No member is skipped and none gets two copies (the unique index on
//! (message, device) stands guard as well).

use bluetick_shared::frames::{Delivery, Recipient, ServerFrame, TickState};
use sqlx::SqliteConnection;
use uuid::Uuid;

use super::batch::{insert_inbox, reserve_seqs, take_seq};
use super::json_rows;
use super::receipts::{advance_and_receipt, group_progress};
use super::{SqliteStore, uuid};
use crate::store::{Fanout, FanoutOutcome, InboxEntry, StorageError};

/// The group message being fanned out, with its sender's name.
#[derive(sqlx::FromRow)]
struct MessageRow {
    #[sqlx(try_from = "String")]
    client_id: Uuid,
    #[sqlx(try_from = "String")]
    sender_user: Uuid,
    #[sqlx(try_from = "String")]
    sender_device: Uuid,
    group_id: String,
    body: String,
    sent_at: i64,
    name: String,
}

/// Fans message `message_id` out to up to `limit` more members.
pub async fn fanout_batch(
    conn: &mut SqliteConnection,
    message_id: i64,
    limit: i64,
    now: i64,
) -> Result<FanoutOutcome, sqlx::Error> {
    let job: Option<(String, Option<i64>)> =
        sqlx::query_as("SELECT cursor, done_at FROM fanout_jobs WHERE message_id = ?")
            .bind(message_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((cursor, None)) = job else {
        return Ok(FanoutOutcome { done: true, ..FanoutOutcome::default() });
    };
    let message: MessageRow = sqlx::query_as(
        "SELECT m.client_id, m.sender_user, m.sender_device, m.group_id, m.body, m.sent_at, u.name
         FROM messages m JOIN users u ON u.id = m.sender_user WHERE m.id = ?",
    )
    .bind(message_id)
    .fetch_one(&mut *conn)
    .await?;
    let members: Vec<String> = sqlx::query_scalar(
        "SELECT user_id FROM group_members WHERE group_id = ? AND user_id > ? ORDER BY user_id LIMIT ?",
    )
    .bind(&message.group_id)
    .bind(&cursor)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;

    let delivery = Delivery {
        id: message.client_id,
        from_user: message.sender_user,
        from_device: message.sender_device,
        from_name: message.name,
        to: Recipient::Group(uuid(&message.group_id)?),
        body: message.body,
        sent_at: message.sent_at,
    };
    let mut outcome = FanoutOutcome {
        id: Some(delivery.id),
        sender: Some(delivery.from_user),
        group: Some(uuid(&message.group_id)?),
        ..FanoutOutcome::default()
    };
    // The batch's member devices in a few statements rather than a few per device (see
    // `batch` for why statements, not rows, are what cost). Devices that already hold the
    // message are left out, as before: the cursor keeps them out already, and should one
    // slip through, the unique index would refuse its second entry and a sequence taken
    // for it would be a gap its pusher waits on.
    let sender_user = delivery.from_user.to_string();
    let others: Vec<&String> = members.iter().filter(|m| **m != sender_user).collect();
    let mut devices: Vec<String> = Vec::new();
    if !others.is_empty() {
        devices = sqlx::query_scalar(
            "SELECT d.id FROM devices d JOIN json_each(?1) j ON d.user_id = j.value
             WHERE NOT EXISTS (SELECT 1 FROM inbox i WHERE i.message_id = ?2 AND i.device_id = d.id AND i.kind = 0)
             ORDER BY d.user_id, d.created_at, d.id",
        )
        .bind(json_rows(&others))
        .bind(message_id)
        .fetch_all(&mut *conn)
        .await?;
    }
    // Each device takes exactly one more sequence, its next, in the same transaction
    // as its entry: per-device FIFO order and no gaps, as with one statement per row.
    let mut next = reserve_seqs(conn, devices.iter().map(|d| (d.clone(), 1)).collect()).await?;
    let mut rows = Vec::with_capacity(devices.len());
    for device in &devices {
        let seq = take_seq(&mut next, device);
        rows.push((device.clone(), seq, 0, message_id, None, now));
        outcome.entries.push(InboxEntry {
            device: uuid(device)?,
            seq,
            frame: ServerFrame::Message { seq, message: delivery.clone() },
        });
    }
    insert_inbox(conn, &rows).await?;
    let last = members.last().cloned().unwrap_or(cursor);
    outcome.done = (members.len() as i64) < limit;
    sqlx::query("UPDATE fanout_jobs SET cursor = ?, done_at = ? WHERE message_id = ?")
        .bind(&last)
        .bind(outcome.done.then_some(now))
        .bind(message_id)
        .execute(&mut *conn)
        .await?;
    if outcome.done {
        sqlx::query(
            "UPDATE messages SET recipients_total =
                (SELECT COUNT(*) FROM inbox WHERE message_id = ?1 AND kind = 0)
                + (SELECT COUNT(*) FROM dead_letters WHERE message_id = ?1)
             WHERE id = ?1",
        )
        .bind(message_id)
        .execute(&mut *conn)
        .await?;
        // Every member may have acknowledged before the last batch committed (or the
        // group may have had nobody else in it).
        if let Some(progress) = group_progress(conn, message_id).await? {
            for (reached, state) in [
                (progress.delivered >= progress.total, TickState::Delivered),
                (progress.read >= progress.total, TickState::Read),
            ] {
                if reached && let Some((_, receipt)) = advance_and_receipt(conn, message_id, state, None, now).await? {
                    outcome.receipts.push(receipt);
                }
            }
        }
    }
    Ok(outcome)
}

#[async_trait::async_trait]
impl Fanout for SqliteStore {
    /// Group messages whose fan-out has not finished (after a crash, say), oldest first.
    async fn pending_fanouts(&self) -> Result<Vec<i64>, StorageError> {
        Ok(sqlx::query_scalar("SELECT message_id FROM fanout_jobs WHERE done_at IS NULL ORDER BY created_at")
            .fetch_all(self.pool())
            .await?)
    }

    async fn fanout_batch(&self, job: i64, limit: i64, now: i64) -> Result<FanoutOutcome, StorageError> {
        self.writer.fanout(job, limit, now).await
    }
}
