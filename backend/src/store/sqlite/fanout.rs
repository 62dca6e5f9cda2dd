//! Group fan-out: one inbox entry per device of every other member, a batch of members
//! per transaction.
//!
//! The job's cursor (the last member fanned out to, in user-id order) moves in the same
//! transaction as the batch's inbox entries. A crash between batches therefore resumes
//! at the first member not yet committed; a crash inside a batch rolls the whole batch
//! back. No member is skipped and none gets two copies (the unique index on
//! (message, device) stands guard as well).

use bluetick_shared::frames::{Delivery, Recipient, ServerFrame, TickState};
use rusqlite::{Connection, OptionalExtension, params};

use super::batch::{NewEntry, insert_inbox, reserve_seqs, take_seq};
use super::receipts::{advance_and_receipt, group_progress};
use super::{SqliteStore, uuid};
use crate::store::{Fanout, FanoutOutcome, InboxEntry, StorageError};

/// Fans message `message_id` out to up to `limit` more members.
pub fn fanout_batch(conn: &Connection, message_id: i64, limit: i64, now: i64) -> Result<FanoutOutcome, StorageError> {
    let job: Option<(String, Option<i64>)> = conn
        .prepare_cached("SELECT cursor, done_at FROM fanout_jobs WHERE message_id = ?1")?
        .query_row([message_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((cursor, None)) = job else {
        return Ok(FanoutOutcome { done: true, ..FanoutOutcome::default() });
    };
    // The group message being fanned out, with its sender's name.
    let (client_id, sender_user, sender_device, group_id, body, sent_at, name): (
        String,
        String,
        String,
        String,
        String,
        i64,
        String,
    ) = conn
        .prepare_cached(
            "SELECT m.client_id, m.sender_user, m.sender_device, m.group_id, m.body, m.sent_at, u.name
             FROM messages m JOIN users u ON u.id = m.sender_user WHERE m.id = ?1",
        )?
        .query_row([message_id], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?, row.get(4)?, row.get(5)?, row.get(6)?))
        })?;
    // One member more than the batch takes, to know whether this batch is the last: a
    // group of exactly k batches then ends in k transactions, not k and an empty one (and
    // a paced lab is not asked to step through a batch of nobody).
    let mut members = conn
        .prepare_cached(
            "SELECT user_id FROM group_members WHERE group_id = ?1 AND user_id > ?2 ORDER BY user_id LIMIT ?3",
        )?
        .query_map(params![group_id, cursor, limit + 1], |row| row.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    let more = members.len() as i64 > limit;
    members.truncate(limit.max(0) as usize);

    let delivery = Delivery {
        id: uuid(&client_id)?,
        from_user: uuid(&sender_user)?,
        from_device: uuid(&sender_device)?,
        from_name: name,
        to: Recipient::Group(uuid(&group_id)?),
        body,
        sent_at,
    };
    let mut outcome = FanoutOutcome {
        id: Some(delivery.id),
        sender: Some(delivery.from_user),
        group: Some(uuid(&group_id)?),
        ..FanoutOutcome::default()
    };
    // The batch's member devices, in member order. Devices that already hold the message
    // are left out: the cursor keeps them out already, and should one slip through, the
    // unique index would refuse its second entry and a sequence taken for it would be a
    // gap its pusher waits on.
    let mut devices: Vec<String> = Vec::new();
    let mut devices_of = conn.prepare_cached(
        "SELECT d.id FROM devices d WHERE d.user_id = ?1
           AND NOT EXISTS (SELECT 1 FROM inbox i WHERE i.message_id = ?2 AND i.device_id = d.id AND i.kind = 0)
         ORDER BY d.created_at, d.id",
    )?;
    for member in members.iter().filter(|m| **m != sender_user) {
        for device in devices_of.query_map(params![member, message_id], |row| row.get(0))? {
            devices.push(device?);
        }
    }
    // Each device takes exactly one more sequence, its next, in the same transaction
    // as its entry: per-device FIFO order and no gaps.
    let mut next = reserve_seqs(conn, devices.iter().map(|d| (d.clone(), 1)).collect())?;
    let mut rows = Vec::with_capacity(devices.len());
    for device in &devices {
        let seq = take_seq(&mut next, device);
        rows.push(NewEntry { device: device.clone(), seq, kind: 0, message_id, receipt_state: None, created_at: now });
        outcome.entries.push(InboxEntry {
            device: uuid(device)?,
            seq,
            frame: ServerFrame::Message { seq, message: delivery.clone() },
        });
    }
    insert_inbox(conn, &rows)?;
    let last = members.last().cloned().unwrap_or(cursor);
    outcome.done = !more;
    conn.prepare_cached("UPDATE fanout_jobs SET cursor = ?1, done_at = ?2 WHERE message_id = ?3")?.execute(params![
        last,
        outcome.done.then_some(now),
        message_id
    ])?;
    if outcome.done {
        conn.prepare_cached(
            "UPDATE messages SET recipients_total =
                (SELECT COUNT(*) FROM inbox WHERE message_id = ?1 AND kind = 0)
                + (SELECT COUNT(*) FROM dead_letters WHERE message_id = ?1)
             WHERE id = ?1",
        )?
        .execute([message_id])?;
        // Every member may have acknowledged before the last batch committed (or the
        // group may have had nobody else in it).
        if let Some(progress) = group_progress(conn, message_id)? {
            for (reached, state) in [
                (progress.delivered >= progress.total, TickState::Delivered),
                (progress.read >= progress.total, TickState::Read),
            ] {
                if reached && let Some((_, receipt)) = advance_and_receipt(conn, message_id, state, None, now)? {
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
