//! The SQL of every write, run by the [`writer`](super::writer) inside a batch
//! transaction. Each function takes the transaction's connection and returns what the
//! caller must push to devices once the batch has committed.

use bluetick_shared::frames::{Delivery, DeviceId, MessageId, Recipient, ServerFrame, TickState};
use sqlx::SqliteConnection;

use crate::store::{InboxEntry, NewMessage, ReceiptsOutcome, SendOutcome, Touched};

fn uuid(text: &str) -> Result<uuid::Uuid, sqlx::Error> {
    text.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

async fn touched(conn: &mut SqliteConnection, message_id: i64, device: DeviceId) -> Result<Touched, sqlx::Error> {
    let (client_id, sender, recipient): (String, String, String) =
        sqlx::query_as("SELECT client_id, sender_user, recipient_user FROM messages WHERE id = ?")
            .bind(message_id)
            .fetch_one(&mut *conn)
            .await?;
    Ok(Touched { id: uuid(&client_id)?, sender: uuid(&sender)?, recipient: uuid(&recipient)?, device })
}

/// Hands out the device's next inbox sequence.
async fn next_seq(conn: &mut SqliteConnection, device: &str) -> Result<u64, sqlx::Error> {
    let seq: i64 = sqlx::query_scalar("UPDATE devices SET last_seq = last_seq + 1 WHERE id = ? RETURNING last_seq")
        .bind(device)
        .fetch_one(&mut *conn)
        .await?;
    Ok(seq as u64)
}

/// The idempotent insert at the heart of exactly-once: the UNIQUE (sender_device,
/// client_id) constraint turns a retry into a no-op that returns nothing, and the
/// original row's commit time is returned instead.
pub async fn store_message(conn: &mut SqliteConnection, m: &NewMessage) -> Result<SendOutcome, sqlx::Error> {
    let sender_device = m.sender.device.to_string();
    let client_id = m.id.to_string();
    // bluetick:idempotent-insert:start
    let inserted: Option<i64> = sqlx::query_scalar(
        "INSERT INTO messages (sender_device, client_id, sender_user, recipient_user, body, sent_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (sender_device, client_id) DO NOTHING
         RETURNING id",
    )
    .bind(&sender_device)
    .bind(&client_id)
    .bind(m.sender.user.to_string())
    .bind(m.to.to_string())
    .bind(&m.body)
    .bind(m.now)
    .bind(m.now.saturating_add(m.ttl_ms))
    .fetch_optional(&mut *conn)
    .await?;
    let Some(message_id) = inserted else {
        // A retry: answer exactly as the first time, store nothing.
        let sent_at: i64 = sqlx::query_scalar("SELECT sent_at FROM messages WHERE sender_device = ? AND client_id = ?")
            .bind(&sender_device)
            .bind(&client_id)
            .fetch_one(&mut *conn)
            .await?;
        return Ok(SendOutcome::Duplicate { sent_at });
    };
    // bluetick:idempotent-insert:end

    let devices: Vec<String> = sqlx::query_scalar("SELECT id FROM devices WHERE user_id = ? ORDER BY created_at, id")
        .bind(m.to.to_string())
        .fetch_all(&mut *conn)
        .await?;
    let delivery = Delivery {
        id: m.id,
        from_user: m.sender.user,
        from_device: m.sender.device,
        from_name: m.sender.name.clone(),
        to: Recipient::User(m.to),
        body: m.body.clone(),
        sent_at: m.now,
    };
    let mut deliveries = Vec::with_capacity(devices.len());
    for device in devices {
        let seq = next_seq(conn, &device).await?;
        sqlx::query("INSERT INTO inbox (device_id, seq, kind, message_id, created_at) VALUES (?, ?, 0, ?, ?)")
            .bind(&device)
            .bind(seq as i64)
            .bind(message_id)
            .bind(m.now)
            .execute(&mut *conn)
            .await?;
        deliveries.push(InboxEntry {
            device: uuid(&device)?,
            seq,
            frame: ServerFrame::Message { seq, message: delivery.clone() },
        });
    }
    Ok(SendOutcome::Stored { sent_at: m.now, deliveries })
}

fn state_code(state: TickState) -> i64 {
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
async fn advance_and_receipt(
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
    let frame = ServerFrame::Receipt { seq, id, state: to, at: now, reason: reason.map(str::to_string) };
    Ok(Some((id, InboxEntry { device: uuid(&sender_device)?, seq, frame })))
}

/// A cumulative ack: every entry up to `up_to` in `device`'s inbox has arrived. The first
/// ack of a message by any of its recipient devices makes it DELIVERED.
pub async fn ack(
    conn: &mut SqliteConnection,
    device: DeviceId,
    up_to: u64,
    now: i64,
) -> Result<ReceiptsOutcome, sqlx::Error> {
    let device_text = device.to_string();
    let newly_acked: Vec<(i64, i64)> = sqlx::query_as(
        "UPDATE inbox SET acked_at = ? WHERE device_id = ? AND seq <= ? AND acked_at IS NULL RETURNING kind, message_id",
    )
    .bind(now)
    .bind(&device_text)
    .bind(up_to as i64)
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query("UPDATE devices SET acked_seq = MAX(acked_seq, ?) WHERE id = ?")
        .bind(up_to as i64)
        .bind(&device_text)
        .execute(&mut *conn)
        .await?;
    let mut outcome = ReceiptsOutcome::default();
    let mut message_ids: Vec<i64> = newly_acked.into_iter().filter(|(kind, _)| *kind == 0).map(|(_, id)| id).collect();
    message_ids.sort_unstable();
    for message_id in message_ids {
        outcome.changed.push(touched(conn, message_id, device).await?);
        if let Some((_, receipt)) = advance_and_receipt(conn, message_id, TickState::Delivered, None, now).await? {
            outcome.receipts.push(receipt);
        }
    }
    Ok(outcome)
}

/// Read receipts: the user saw these messages. Reading implies delivery.
pub async fn read(
    conn: &mut SqliteConnection,
    device: DeviceId,
    seqs: &[u64],
    now: i64,
) -> Result<ReceiptsOutcome, sqlx::Error> {
    let device_text = device.to_string();
    let mut outcome = ReceiptsOutcome::default();
    for &seq in seqs {
        let row: Option<i64> = sqlx::query_scalar(
            "UPDATE inbox SET read_at = COALESCE(read_at, ?1), acked_at = COALESCE(acked_at, ?1)
             WHERE device_id = ?2 AND seq = ?3 AND kind = 0
             RETURNING message_id",
        )
        .bind(now)
        .bind(&device_text)
        .bind(seq as i64)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(message_id) = row else {
            outcome.unknown.push(seq);
            continue;
        };
        outcome.changed.push(touched(conn, message_id, device).await?);
        if let Some((_, receipt)) = advance_and_receipt(conn, message_id, TickState::Read, None, now).await? {
            outcome.receipts.push(receipt);
        }
    }
    Ok(outcome)
}

/// Moves messages that no device acknowledged before their expiry to the dead-letter
/// table and tells their senders. At most `limit` messages per call.
pub async fn expire(conn: &mut SqliteConnection, now: i64, limit: i64) -> Result<ReceiptsOutcome, sqlx::Error> {
    let due: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT id, expires_at - sent_at FROM messages WHERE state = 0 AND expires_at <= ? ORDER BY expires_at LIMIT ?",
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
            outcome.changed.push(touched(conn, message_id, uuid(device)?).await?);
        }
        if let Some((_, receipt)) = advance_and_receipt(conn, message_id, TickState::Failed, Some(&reason), now).await?
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
