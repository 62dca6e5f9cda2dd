//! Reads: what a device's inbox holds, for delivery and for the lab's queue view.

use bluetick_shared::frames::{Delivery, DeviceId, GroupProgress, Recipient, ServerFrame};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::ops::state_from_code;
use super::{SqliteStore, uuid};
use crate::store::{InboxEntry, StorageError};

/// One inbox row, joined with its message, as a frame.
fn entry_from_row(device: DeviceId, row: &SqliteRow) -> Result<InboxEntry, StorageError> {
    let seq = row.try_get::<i64, _>("seq")? as u64;
    let id = uuid(&row.try_get::<String, _>("client_id")?)?;
    let sent_at: i64 = row.try_get("sent_at")?;
    let group: Option<String> = row.try_get("group_id")?;
    let frame = if row.try_get::<i64, _>("kind")? == 0 {
        let to = match (&group, row.try_get::<Option<String>, _>("recipient_user")?) {
            (Some(group), _) => Recipient::Group(uuid(group)?),
            (None, Some(user)) => Recipient::User(uuid(&user)?),
            (None, None) => return Err(StorageError::Sqlx(sqlx::Error::Protocol("message without recipient".into()))),
        };
        ServerFrame::Message {
            seq,
            message: Delivery {
                id,
                from_user: uuid(&row.try_get::<String, _>("sender_user")?)?,
                from_device: uuid(&row.try_get::<String, _>("sender_device")?)?,
                from_name: row.try_get("name")?,
                to,
                body: row.try_get("body")?,
                sent_at,
            },
        }
    } else {
        let total: Option<i64> = row.try_get("recipients_total")?;
        let progress = group.is_some().then(|| -> Result<GroupProgress, sqlx::Error> {
            Ok(GroupProgress {
                delivered: row.try_get::<i64, _>("delivered_count")? as u32,
                read: row.try_get::<i64, _>("read_count")? as u32,
                total: total.unwrap_or(0) as u32,
                fanned_out: total.is_some(),
            })
        });
        ServerFrame::Receipt {
            seq,
            id,
            state: state_from_code(row.try_get::<Option<i64>, _>("receipt_state")?.unwrap_or(0)),
            at: row.try_get::<Option<i64>, _>("created_at")?.unwrap_or(sent_at),
            reason: row.try_get("reason")?,
            progress: progress.transpose()?,
        }
    };
    Ok(InboxEntry { device, seq, frame })
}

impl SqliteStore {
    /// Up to `limit` inbox entries of `device` after sequence `after`, in order.
    pub async fn inbox_after(&self, device: DeviceId, after: u64, limit: u32) -> Result<Vec<InboxEntry>, StorageError> {
        let rows = sqlx::query(
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
        rows.iter().map(|row| entry_from_row(device, row)).collect()
    }

    /// The highest sequence in `device`'s inbox (0 if empty).
    pub async fn last_seq(&self, device: DeviceId) -> Result<u64, StorageError> {
        let seq: Option<i64> = sqlx::query_scalar("SELECT last_seq FROM devices WHERE id = ?")
            .bind(device.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(seq.unwrap_or(0) as u64)
    }
}
