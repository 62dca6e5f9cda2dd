//! Receipts: ticks that only move forward, the receipt each move queues in the sender's
//! inbox, group progress (delivered k/N, read k/N), read receipts, expiry into the dead
//! letters, and push wake-ups. Run by the [`writer`](super::writer) inside a batch
//! transaction; each function returns what to push once the batch has committed.

use bluetick_shared::frames::{DeviceId, GroupProgress, MessageId, Recipient, ServerFrame, TickState};
use sqlx::SqliteConnection;

use super::messages::{MessageFacts, facts, next_seq, touched};
use super::uuid;
use crate::store::{InboxEntry, ReceiptsOutcome};

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
    if progress.fanned_out
        && progress.delivered >= progress.total
        && let Some((_, receipt)) = advance_and_receipt(conn, message_id, TickState::Delivered, None, now).await?
    {
        outcome.receipts.push(receipt);
    }
    if progress.fanned_out
        && progress.read >= progress.total
        && let Some((_, receipt)) = advance_and_receipt(conn, message_id, TickState::Read, None, now).await?
    {
        outcome.receipts.push(receipt);
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
        if delivered == 0
            && let Some((_, receipt)) =
                advance_and_receipt(conn, message_id, TickState::Failed, Some(&reason), now).await?
        {
            outcome.receipts.push(receipt);
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
