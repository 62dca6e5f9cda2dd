//! Lab sandboxes in the database: creating one with its devices, reading its devices,
//! the queue view and message copies the lab shows, and deleting idle labs whole.

use bluetick_shared::frames::{DeviceId, MessageId, Registration};
use bluetick_shared::lab::{LabId, MessageCopies, QueueView, QueuedEntry, Wakeup};
use uuid::Uuid;

use super::devices::insert_users;
use super::{SqliteStore, uuid};
use crate::store::{LabMember, Labs, StorageError, unix_millis};

/// Most entries and wake-ups one queue view lists.
const QUEUE_VIEW_LIMIT: i64 = 200;

/// Everything that belongs to a lab, for the delete: its users' devices, its users'
/// messages and the groups they created. Each statement names these through subqueries
/// so the whole delete is one transaction and leaves no dangling reference.
const LAB_USERS: &str = "SELECT id FROM users WHERE lab_id = ?1";
const LAB_DEVICES: &str = "SELECT d.id FROM devices d JOIN users u ON u.id = d.user_id WHERE u.lab_id = ?1";
const LAB_GROUPS: &str = "SELECT g.id FROM groups g JOIN users u ON u.id = g.created_by WHERE u.lab_id = ?1";

#[async_trait::async_trait]
impl Labs for SqliteStore {
    /// A new lab with one user and device per name, in one transaction.
    async fn create_lab(&self, names: &[String]) -> Result<(LabId, Vec<Registration>), StorageError> {
        let lab = Uuid::now_v7();
        let now = unix_millis();
        let mut tx = self.pool().begin().await?;
        sqlx::query("INSERT INTO labs (id, created_at, last_active_at) VALUES (?, ?, ?)")
            .bind(lab.to_string())
            .bind(now)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        let registrations = insert_users(&mut tx, names, Some(lab)).await?;
        tx.commit().await?;
        Ok((lab, registrations))
    }

    /// The lab's devices, oldest first (so the lab's own three come first, then any crowd).
    async fn lab_members(&self, lab: LabId, limit: i64) -> Result<Vec<LabMember>, StorageError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT d.id, u.id, u.name FROM devices d JOIN users u ON u.id = d.user_id
             WHERE u.lab_id = ? ORDER BY d.id LIMIT ?",
        )
        .bind(lab.to_string())
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|(device, user, name)| Ok(LabMember { device: uuid(device)?, user: uuid(user)?, name: name.clone() }))
            .collect()
    }

    /// The lab a device's user belongs to: `None` if there is no such device.
    async fn device_lab(&self, device: DeviceId) -> Result<Option<Option<LabId>>, StorageError> {
        let row: Option<Option<String>> =
            sqlx::query_scalar("SELECT u.lab_id FROM devices d JOIN users u ON u.id = d.user_id WHERE d.id = ?")
                .bind(device.to_string())
                .fetch_optional(self.pool())
                .await?;
        Ok(row.map(|lab| lab.as_deref().map(uuid).transpose()).transpose()?)
    }

    /// Records that these labs were in use at `now`.
    async fn touch_labs(&self, labs: &[LabId], now: i64) -> Result<(), StorageError> {
        let mut tx = self.pool().begin().await?;
        for lab in labs {
            sqlx::query("UPDATE labs SET last_active_at = MAX(last_active_at, ?) WHERE id = ?")
                .bind(now)
                .bind(lab.to_string())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Labs not used since `before`.
    async fn idle_labs(&self, before: i64) -> Result<Vec<LabId>, StorageError> {
        let rows: Vec<String> = sqlx::query_scalar("SELECT id FROM labs WHERE last_active_at < ? LIMIT 100")
            .bind(before)
            .fetch_all(self.pool())
            .await?;
        Ok(rows.iter().map(|id| uuid(id)).collect::<Result<_, _>>()?)
    }

    /// Deletes a lab and everything in it, in one transaction.
    async fn delete_lab(&self, lab: LabId) -> Result<(), StorageError> {
        let messages = format!(
            "SELECT id FROM messages WHERE sender_user IN ({LAB_USERS}) OR recipient_user IN ({LAB_USERS})
             OR group_id IN ({LAB_GROUPS})"
        );
        let statements = [
            format!("DELETE FROM inbox WHERE device_id IN ({LAB_DEVICES}) OR message_id IN ({messages})"),
            format!("DELETE FROM dead_letters WHERE message_id IN ({messages})"),
            format!("DELETE FROM push_outbox WHERE device_id IN ({LAB_DEVICES}) OR message_id IN ({messages})"),
            format!("DELETE FROM fanout_jobs WHERE message_id IN ({messages})"),
            format!("DELETE FROM messages WHERE id IN ({messages})"),
            format!("DELETE FROM group_members WHERE user_id IN ({LAB_USERS}) OR group_id IN ({LAB_GROUPS})"),
            format!("DELETE FROM groups WHERE id IN ({LAB_GROUPS})"),
            format!("DELETE FROM devices WHERE id IN ({LAB_DEVICES})"),
            "DELETE FROM users WHERE lab_id = ?1".to_string(),
            "DELETE FROM labs WHERE id = ?1".to_string(),
        ];
        let mut tx = self.pool().begin().await?;
        for sql in &statements {
            // Built only from the constants above; the lab id is bound, never spliced.
            sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(lab.to_string()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.user_labs.forget_lab(lab);
        Ok(())
    }

    /// The offline queue of `device`: unacknowledged inbox entries in push order, and
    /// the push wake-ups recorded for it.
    async fn queue_view(&self, device: DeviceId) -> Result<QueueView, StorageError> {
        let id = device.to_string();
        let (acked, last): (i64, i64) = sqlx::query_as("SELECT acked_seq, last_seq FROM devices WHERE id = ?")
            .bind(&id)
            .fetch_one(self.pool())
            .await?;
        let rows: Vec<(i64, i64, String, String, String, Option<i64>, i64)> = sqlx::query_as(
            "SELECT i.seq, i.kind, m.client_id, u.name, m.body, i.receipt_state, i.created_at
             FROM inbox i JOIN messages m ON m.id = i.message_id JOIN users u ON u.id = m.sender_user
             WHERE i.device_id = ?1 AND i.seq > ?2 ORDER BY i.seq LIMIT ?3",
        )
        .bind(&id)
        .bind(acked)
        .bind(QUEUE_VIEW_LIMIT)
        .fetch_all(self.pool())
        .await?;
        let entries = rows
            .into_iter()
            .map(|(seq, kind, client_id, from_name, body, receipt, queued_at)| {
                let (kind, summary) = match (kind, receipt) {
                    (0, _) => ("message", body),
                    (_, Some(1)) => ("receipt", "delivered".into()),
                    (_, Some(2)) => ("receipt", "read".into()),
                    _ => ("receipt", "failed".into()),
                };
                Ok(QueuedEntry {
                    seq: seq as u64,
                    kind: kind.into(),
                    message_id: uuid(&client_id)?,
                    from_name,
                    summary,
                    queued_at,
                })
            })
            .collect::<Result<Vec<_>, StorageError>>()?;
        let wakeups: Vec<(String, i64)> = sqlx::query_as(
            "SELECT m.client_id, p.created_at FROM push_outbox p JOIN messages m ON m.id = p.message_id
             WHERE p.device_id = ? ORDER BY p.id DESC LIMIT ?",
        )
        .bind(&id)
        .bind(QUEUE_VIEW_LIMIT)
        .fetch_all(self.pool())
        .await?;
        let wakeups_total: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM push_outbox WHERE device_id = ?")
            .bind(&id)
            .fetch_one(self.pool())
            .await?;
        Ok(QueueView {
            device_id: device,
            acked_seq: acked as u64,
            last_seq: last as u64,
            waiting: (last - acked).max(0) as u64,
            entries,
            wakeups: wakeups
                .iter()
                .map(|(id, at)| Ok(Wakeup { message_id: uuid(id)?, at: *at }))
                .collect::<Result<_, StorageError>>()?,
            wakeups_total: wakeups_total as u64,
        })
    }

    /// How many message rows, and inbox entries, the id `id` sent from inside `lab` has,
    /// and the body exactly as the database holds it.
    async fn message_copies(&self, lab: LabId, id: MessageId) -> Result<MessageCopies, StorageError> {
        let (rows, deliveries, body): (i64, i64, Option<String>) = sqlx::query_as(
            "SELECT COUNT(*),
                    COALESCE(SUM((SELECT COUNT(*) FROM inbox i WHERE i.message_id = m.id AND i.kind = 0)), 0),
                    MIN(m.body)
             FROM messages m JOIN users u ON u.id = m.sender_user
             WHERE m.client_id = ? AND u.lab_id = ?",
        )
        .bind(id.to_string())
        .bind(lab.to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(MessageCopies { stored_rows: rows as u64, deliveries: deliveries as u64, stored_body: body })
    }
}
