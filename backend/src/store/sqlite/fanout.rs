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

use super::ops::{advance_and_receipt, deliver_once, group_progress, uuid};
use crate::store::{FanoutOutcome, InboxEntry};

type MessageRow = (String, String, String, String, String, i64, String);

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
    let (client_id, sender_user, sender_device, group, body, sent_at, sender_name): MessageRow = sqlx::query_as(
        "SELECT m.client_id, m.sender_user, m.sender_device, m.group_id, m.body, m.sent_at, u.name
         FROM messages m JOIN users u ON u.id = m.sender_user WHERE m.id = ?",
    )
    .bind(message_id)
    .fetch_one(&mut *conn)
    .await?;
    let members: Vec<String> = sqlx::query_scalar(
        "SELECT user_id FROM group_members WHERE group_id = ? AND user_id > ? ORDER BY user_id LIMIT ?",
    )
    .bind(&group)
    .bind(&cursor)
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;

    let delivery = Delivery {
        id: uuid(&client_id)?,
        from_user: uuid(&sender_user)?,
        from_device: uuid(&sender_device)?,
        from_name: sender_name,
        to: Recipient::Group(uuid(&group)?),
        body,
        sent_at,
    };
    let mut outcome = FanoutOutcome {
        id: Some(delivery.id),
        sender: Some(delivery.from_user),
        group: Some(uuid(&group)?),
        ..FanoutOutcome::default()
    };
    for member in members.iter().filter(|m| **m != sender_user) {
        let devices: Vec<String> =
            sqlx::query_scalar("SELECT id FROM devices WHERE user_id = ? ORDER BY created_at, id")
                .bind(member)
                .fetch_all(&mut *conn)
                .await?;
        for device in devices {
            if let Some(seq) = deliver_once(conn, &device, message_id, now).await? {
                outcome.entries.push(InboxEntry {
                    device: uuid(&device)?,
                    seq,
                    frame: ServerFrame::Message { seq, message: delivery.clone() },
                });
            }
        }
    }
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
                if reached {
                    if let Some((_, receipt)) = advance_and_receipt(conn, message_id, state, None, now).await? {
                        outcome.receipts.push(receipt);
                    }
                }
            }
        }
    }
    Ok(outcome)
}
