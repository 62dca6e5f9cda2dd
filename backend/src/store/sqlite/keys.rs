//! The key directory: public identity keys, signed one-time keys and fallback keys.
//!
//! Claiming a one-time key is one statement that picks the oldest available key and
//! marks it claimed: SQLite runs one writer at a time and a write statement reads under
//! its write lock, so two claims can never pick the same row.

use bluetick_shared::e2e::keys::{
    ClaimedDevice, DeviceKeys, IdentityKeys, KeyCount, KeyUpload, SignedKey, UserDevices,
};
use bluetick_shared::frames::{DeviceId, UserId};
use bluetick_shared::lab::LabId;

use super::{SqliteStore, uuid};
use crate::store::{Keys, PublishKeys, StorageError};

#[async_trait::async_trait]
impl Keys for SqliteStore {
    /// Stores `device`'s keys: identity keys on the first upload (later uploads must
    /// repeat them), new one-time keys, and the fallback key if one is given.
    async fn publish_keys(&self, device: DeviceId, upload: &KeyUpload, now: i64) -> Result<PublishKeys, StorageError> {
        let id = device.to_string();
        let fallback = upload.fallback_key.as_ref();
        let mut tx = self.pool().begin().await?;
        // The first statement writes, so the transaction holds the write lock from here.
        let done = sqlx::query(
            "INSERT INTO device_keys (device_id, curve25519, ed25519, fallback_key_id, fallback_key, fallback_signature, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (device_id) DO UPDATE SET
                 fallback_key_id = COALESCE(excluded.fallback_key_id, fallback_key_id),
                 fallback_key = COALESCE(excluded.fallback_key, fallback_key),
                 fallback_signature = COALESCE(excluded.fallback_signature, fallback_signature),
                 updated_at = excluded.updated_at
             WHERE curve25519 = excluded.curve25519 AND ed25519 = excluded.ed25519",
        )
        .bind(&id)
        .bind(&upload.identity.curve25519)
        .bind(&upload.identity.ed25519)
        .bind(fallback.map(|k| k.key_id.as_str()))
        .bind(fallback.map(|k| k.key.as_str()))
        .bind(fallback.map(|k| k.signature.as_str()))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(PublishKeys::IdentityMismatch);
        }
        for key in &upload.one_time_keys {
            sqlx::query(
                "INSERT INTO one_time_keys (device_id, key_id, key, signature) VALUES (?, ?, ?, ?)
                 ON CONFLICT (device_id, key_id) DO NOTHING",
            )
            .bind(&id)
            .bind(&key.key_id)
            .bind(&key.key)
            .bind(&key.signature)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(PublishKeys::Published(self.key_count(device).await?))
    }

    /// How many one-time keys of `device` are still unclaimed, and whether it has a
    /// fallback key.
    async fn key_count(&self, device: DeviceId) -> Result<KeyCount, StorageError> {
        let (count, fallback): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM one_time_keys WHERE device_id = ?1 AND claimed_at IS NULL),
                    EXISTS (SELECT 1 FROM device_keys WHERE device_id = ?1 AND fallback_key IS NOT NULL)",
        )
        .bind(device.to_string())
        .fetch_one(self.pool())
        .await?;
        Ok(KeyCount { one_time_keys: count as u32, fallback_key: fallback != 0 })
    }

    /// For each device (of users in `lab`) that has published keys: its identity keys
    /// and one one-time key, which no other claim will ever get; its fallback key when
    /// none is left. Devices without keys (or without any key to hand out) are left out.
    async fn claim_keys(
        &self,
        claimer: DeviceId,
        devices: &[DeviceId],
        lab: Option<LabId>,
        now: i64,
    ) -> Result<Vec<ClaimedDevice>, StorageError> {
        let mut claimed = Vec::new();
        for device in devices {
            let id = device.to_string();
            #[allow(clippy::type_complexity)]
            let row: Option<(String, String, String, Option<String>, Option<String>, Option<String>)> = sqlx::query_as(
                "SELECT d.user_id, k.curve25519, k.ed25519, k.fallback_key_id, k.fallback_key, k.fallback_signature
                 FROM device_keys k JOIN devices d ON d.id = k.device_id JOIN users u ON u.id = d.user_id
                 WHERE k.device_id = ?1 AND u.lab_id IS ?2",
            )
            .bind(&id)
            .bind(lab.map(|l| l.to_string()))
            .fetch_optional(self.pool())
            .await?;
            let Some((user, curve25519, ed25519, fallback_id, fallback_key, fallback_signature)) = row else {
                continue;
            };
            let one_time: Option<(String, String, String)> = sqlx::query_as(
                "UPDATE one_time_keys SET claimed_by = ?2, claimed_at = ?3
                 WHERE id = (SELECT id FROM one_time_keys WHERE device_id = ?1 AND claimed_at IS NULL ORDER BY id LIMIT 1)
                 RETURNING key_id, key, signature",
            )
            .bind(&id)
            .bind(claimer.to_string())
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
            let (one_time_key, fallback) = match (one_time, fallback_id, fallback_key, fallback_signature) {
                (Some((key_id, key, signature)), ..) => (SignedKey { key_id, key, signature }, false),
                (None, Some(key_id), Some(key), Some(signature)) => (SignedKey { key_id, key, signature }, true),
                _ => continue,
            };
            claimed.push(ClaimedDevice {
                device_id: *device,
                user_id: uuid(&user)?,
                identity: IdentityKeys { curve25519, ed25519 },
                one_time_key,
                fallback,
            });
        }
        Ok(claimed)
    }

    /// The devices of `user` that have published identity keys, oldest first.
    async fn user_device_keys(&self, user: UserId) -> Result<UserDevices, StorageError> {
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT d.id, k.curve25519, k.ed25519 FROM devices d JOIN device_keys k ON k.device_id = d.id
             WHERE d.user_id = ? ORDER BY d.created_at, d.id",
        )
        .bind(user.to_string())
        .fetch_all(self.pool())
        .await?;
        let devices = rows
            .into_iter()
            .map(|(id, curve25519, ed25519)| {
                Ok(DeviceKeys { device_id: uuid(&id)?, identity: IdentityKeys { curve25519, ed25519 } })
            })
            .collect::<Result<_, StorageError>>()?;
        Ok(UserDevices { user_id: user, devices })
    }
}
