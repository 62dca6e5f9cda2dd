//! Receipts: ticks that only move forward, the receipt each move queues in the sender's
//! inbox, group progress (delivered k/N, read k/N), read receipts, expiry into the dead
//! letters, and push wake-ups. Run by the [`writer`](super::writer) inside a batch
//! transaction; each function returns what to push once the batch has committed.

use bluetick_shared::frames::{DeviceId, GroupProgress, MessageId, Recipient, ServerFrame, TickState};
use rusqlite::{Connection, OptionalExtension, params};

use super::messages::{MessageFacts, next_seq, touched};
use super::uuid;
use crate::store::{InboxEntry, ReceiptsOutcome, StorageError};

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
pub(super) fn advance_and_receipt(
    conn: &Connection,
    message_id: i64,
    to: TickState,
    reason: Option<&str>,
    now: i64,
) -> Result<Option<(MessageId, InboxEntry)>, StorageError> {
    // Forward only: FAILED (3) only from SENT (0); anything else only upwards, and
    // never out of FAILED.
    let moved: Option<(String, String)> = conn
        .prepare_cached(
            "UPDATE messages SET state = ?2
             WHERE id = ?1 AND ((?2 = 3 AND state = 0) OR (?2 <> 3 AND state < ?2 AND state <> 3))
             RETURNING sender_device, client_id",
        )?
        .query_row(params![message_id, state_code(to)], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    let Some((sender_device, client_id)) = moved else {
        return Ok(None);
    };
    let seq = next_seq(conn, &sender_device)?;
    conn.prepare_cached(
        "INSERT INTO inbox (device_id, seq, kind, message_id, receipt_state, reason, created_at)
         VALUES (?1, ?2, 1, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![sender_device, seq, message_id, state_code(to), reason, now])?;
    let id = uuid(&client_id)?;
    let progress = group_progress(conn, message_id)?;
    let frame = ServerFrame::Receipt { seq, id, state: to, at: now, reason: reason.map(str::to_string), progress };
    Ok(Some((id, InboxEntry { device: uuid(&sender_device)?, seq, frame })))
}

/// Delivered k/N and read k/N of a group message (`None` for a 1:1 message).
pub(super) fn group_progress(conn: &Connection, message_id: i64) -> Result<Option<GroupProgress>, StorageError> {
    let row: Option<(i64, i64, Option<i64>, i64)> = conn
        .prepare_cached(
            // Counting the entries made so far is only needed while fan-out runs; after
            // that the total is stored (and counting per receipt would make a big group's
            // receipts cost O(N²)).
            "SELECT delivered_count, read_count, recipients_total,
                CASE WHEN recipients_total IS NULL
                     THEN (SELECT COUNT(*) FROM inbox WHERE message_id = ?1 AND kind = 0)
                          + (SELECT COUNT(*) FROM dead_letters WHERE message_id = ?1)
                     ELSE recipients_total END
         FROM messages WHERE id = ?1 AND group_id IS NOT NULL",
        )?
        .query_row([message_id], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?)))
        .optional()?;
    Ok(row.map(|(delivered, read, total, so_far)| GroupProgress {
        delivered: delivered as u32,
        read: read as u32,
        total: total.unwrap_or(so_far) as u32,
        fanned_out: total.is_some(),
    }))
}

/// Counts one more member delivery (and read) of a group message. Returns the new
/// progress, and advances the message's tick once every member has it (or read it).
pub(super) fn count_group_receipt(
    conn: &Connection,
    message_id: i64,
    delivered: bool,
    read: bool,
    now: i64,
    outcome: &mut ReceiptsOutcome,
    facts: &MessageFacts,
) -> Result<(), StorageError> {
    conn.prepare_cached(
        "UPDATE messages SET delivered_count = delivered_count + ?1, read_count = read_count + ?2 WHERE id = ?3",
    )?
    .execute(params![delivered as i64, read as i64, message_id])?;
    let Some(progress) = group_progress(conn, message_id)? else { return Ok(()) };
    if progress.fanned_out
        && progress.delivered >= progress.total
        && let Some((_, receipt)) = advance_and_receipt(conn, message_id, TickState::Delivered, None, now)?
    {
        outcome.receipts.push(receipt);
    }
    if progress.fanned_out
        && progress.read >= progress.total
        && let Some((_, receipt)) = advance_and_receipt(conn, message_id, TickState::Read, None, now)?
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
pub fn read(conn: &Connection, device: DeviceId, seqs: &[u64], now: i64) -> Result<ReceiptsOutcome, StorageError> {
    let device_text = device.to_string();
    let mut outcome = ReceiptsOutcome::default();
    let mut found = Vec::with_capacity(seqs.len());
    // A sequence named twice in one frame is read once (it would be counted twice in a
    // group message's read count otherwise: both lookups happen before either update).
    let mut seen = std::collections::HashSet::with_capacity(seqs.len());
    for &seq in seqs.iter().filter(|&&seq| seen.insert(seq)) {
        let before: Option<(i64, Option<i64>, Option<i64>)> = conn
            .prepare_cached(
                "SELECT message_id, acked_at, read_at FROM inbox WHERE device_id = ?1 AND seq = ?2 AND kind = 0",
            )?
            .query_row(params![device_text, seq], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
            .optional()?;
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
        conn.prepare_cached(
            "UPDATE inbox SET read_at = ?1, acked_at = COALESCE(acked_at, ?1) WHERE device_id = ?2 AND seq = ?3",
        )?
        .execute(params![now, device_text, seq])?;
        let facts = MessageFacts::of(conn, message_id)?;
        outcome.changed.push(touched(&facts, device));
        if matches!(facts.to, Recipient::Group(_)) {
            count_group_receipt(conn, message_id, acked_at.is_none(), true, now, &mut outcome, &facts)?;
        } else if let Some((_, receipt)) = advance_and_receipt(conn, message_id, TickState::Read, None, now)? {
            outcome.receipts.push(receipt);
        }
    }
    Ok(outcome)
}

/// Moves messages that no device acknowledged before their expiry to the dead-letter
/// table and tells their senders. At most `limit` messages per call.
pub fn expire(conn: &Connection, now: i64, limit: i64) -> Result<ReceiptsOutcome, StorageError> {
    let due = conn
        .prepare_cached(
            "SELECT id, expires_at - sent_at FROM messages m
             WHERE state = 0 AND expires_at <= ?1
               AND EXISTS (SELECT 1 FROM inbox i WHERE i.message_id = m.id AND i.kind = 0 AND i.acked_at IS NULL)
             ORDER BY expires_at LIMIT ?2",
        )?
        .query_map(params![now, limit], |row| Ok((row.get(0)?, row.get(1)?)))?
        .collect::<Result<Vec<(i64, i64)>, _>>()?;
    let mut outcome = ReceiptsOutcome::default();
    for (message_id, ttl_ms) in due {
        let reason = format!("not delivered within {}", describe_ms(ttl_ms));
        let devices = conn
            .prepare_cached(
                "DELETE FROM inbox WHERE message_id = ?1 AND kind = 0 AND acked_at IS NULL RETURNING device_id",
            )?
            .query_map([message_id], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        for device in &devices {
            conn.prepare_cached(
                "INSERT OR IGNORE INTO dead_letters (message_id, device_id, reason, failed_at) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![message_id, device, reason, now])?;
            let facts = MessageFacts::of(conn, message_id)?;
            outcome.changed.push(touched(&facts, uuid(device)?));
        }
        // A group message some members received is not FAILED: those who missed it
        // are in the dead-letter table, and the progress counts say how many.
        let delivered: i64 = conn
            .prepare_cached("SELECT delivered_count FROM messages WHERE id = ?1")?
            .query_row([message_id], |row| row.get(0))?;
        if delivered == 0
            && let Some((_, receipt)) = advance_and_receipt(conn, message_id, TickState::Failed, Some(&reason), now)?
        {
            outcome.receipts.push(receipt);
        }
    }
    Ok(outcome)
}

/// Records a push wake-up for an offline device, for the message at `seq` in its inbox.
pub fn record_wakeup(conn: &Connection, device: DeviceId, seq: u64, now: i64) -> Result<(), StorageError> {
    conn.prepare_cached(
        "INSERT INTO push_outbox (device_id, message_id, created_at)
         SELECT device_id, message_id, ?1 FROM inbox WHERE device_id = ?2 AND seq = ?3",
    )?
    .execute(params![now, device.to_string(), seq])?;
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
