//! Reads: what a device's inbox holds, for delivery and for the lab's queue view.

use bluetick_shared::frames::{Delivery, DeviceId, Recipient, ServerFrame};

use super::SqliteStore;
use super::ops::state_from_code;
use crate::store::{InboxEntry, StorageError};

type InboxRow =
    (i64, i64, Option<i64>, Option<i64>, Option<String>, String, String, String, String, String, String, i64);

fn parse_uuid(text: &str) -> Result<uuid::Uuid, StorageError> {
    text.parse().map_err(|e| StorageError::Sqlx(sqlx::Error::Decode(Box::new(e))))
}

impl SqliteStore {
    /// Up to `limit` inbox entries of `device` after sequence `after`, in order.
    pub async fn inbox_after(&self, device: DeviceId, after: u64, limit: u32) -> Result<Vec<InboxEntry>, StorageError> {
        let rows: Vec<InboxRow> = sqlx::query_as(
            "SELECT i.seq, i.kind, i.receipt_state, i.created_at, i.reason,
                    m.client_id, m.sender_user, m.sender_device, u.name, m.recipient_user, m.body, m.sent_at
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
        rows.into_iter()
            .map(
                |(
                    seq,
                    kind,
                    receipt_state,
                    created_at,
                    reason,
                    client_id,
                    sender_user,
                    sender_device,
                    name,
                    recipient,
                    body,
                    sent_at,
                )| {
                    let seq = seq as u64;
                    let id = parse_uuid(&client_id)?;
                    let frame = if kind == 0 {
                        ServerFrame::Message {
                            seq,
                            message: Delivery {
                                id,
                                from_user: parse_uuid(&sender_user)?,
                                from_device: parse_uuid(&sender_device)?,
                                from_name: name,
                                to: Recipient::User(parse_uuid(&recipient)?),
                                body,
                                sent_at,
                            },
                        }
                    } else {
                        ServerFrame::Receipt {
                            seq,
                            id,
                            state: state_from_code(receipt_state.unwrap_or(0)),
                            at: created_at.unwrap_or(sent_at),
                            reason,
                        }
                    };
                    Ok(InboxEntry { device, seq, frame })
                },
            )
            .collect()
    }

    /// The highest sequence in `device`'s inbox (0 if empty).
    pub async fn last_seq(&self, device: DeviceId) -> Result<u64, StorageError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM devices WHERE id = ?")
            .bind(device.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(seq.unwrap_or(0) as u64)
    }

    /// How many messages wait in `device`'s inbox unacknowledged, and how many push
    /// wake-ups were recorded for it.
    pub async fn queue_depth(&self, device: DeviceId) -> Result<(u64, u64), StorageError> {
        let (pending, wakeups): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM inbox WHERE device_id = ?1 AND kind = 0 AND acked_at IS NULL),
                    (SELECT COUNT(*) FROM push_outbox WHERE device_id = ?1)",
        )
        .bind(device.to_string())
        .fetch_one(self.pool())
        .await?;
        Ok((pending as u64, wakeups as u64))
    }
}
