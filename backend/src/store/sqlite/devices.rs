//! Registering devices and checking their credentials.
//!
//! A token is 256 random bits shown to the device once; the database keeps only its
//! SHA-256, so a copied database file cannot be used to impersonate anyone.

use bluetick_shared::frames::{DeviceId, Registration, UserId};
use bluetick_shared::lab::LabId;
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;
use subtle::ConstantTimeEq;
use uuid::Uuid;

use super::{SqliteStore, uuid};
use crate::store::{Accounts, DeviceIdentity, StorageError, unix_millis};

fn new_token() -> String {
    // Two v4 UUIDs: 244 bits from the OS's random source.
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

fn hash_token(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[async_trait::async_trait]
impl Accounts for SqliteStore {
    /// Creates a new user named `name` with one device.
    async fn register_user(&self, name: &str) -> Result<Registration, StorageError> {
        let mut registrations = self.register_users(&[name.to_string()], None).await?;
        Ok(registrations.pop().expect("one name, one registration"))
    }

    /// Creates many users with one device each, in one transaction (a crowd), inside
    /// `lab` if given.
    async fn register_users(&self, names: &[String], lab: Option<LabId>) -> Result<Vec<Registration>, StorageError> {
        let mut tx = self.pool().begin().await?;
        let registrations = insert_users(&mut tx, names, lab).await?;
        tx.commit().await?;
        Ok(registrations)
    }

    /// Adds a device to an existing user. Returns `None` if the user does not exist.
    async fn add_device(&self, user: UserId) -> Result<Option<Registration>, StorageError> {
        let Some(name) = self.user_name(user).await? else {
            return Ok(None);
        };
        let device_id = Uuid::now_v7();
        let token = new_token();
        sqlx::query("INSERT INTO devices (id, user_id, token_hash, created_at) VALUES (?, ?, ?, ?)")
            .bind(device_id.to_string())
            .bind(user.to_string())
            .bind(hash_token(&token))
            .bind(unix_millis())
            .execute(self.pool())
            .await?;
        Ok(Some(Registration { user_id: user, device_id, token, name }))
    }

    /// The device these credentials belong to, or `None` if they do not match.
    async fn authenticate(&self, device: DeviceId, token: &str) -> Result<Option<DeviceIdentity>, StorageError> {
        let row: Option<(String, String, String, Option<String>)> = sqlx::query_as(
            "SELECT d.token_hash, d.user_id, u.name, u.lab_id FROM devices d JOIN users u ON u.id = d.user_id
             WHERE d.id = ?",
        )
        .bind(device.to_string())
        .fetch_optional(self.pool())
        .await?;
        let Some((stored_hash, user, name, lab)) = row else {
            return Ok(None);
        };
        // Constant time: how long a prefix matched must not show in how long the answer takes.
        if !bool::from(stored_hash.as_bytes().ct_eq(hash_token(token).as_bytes())) {
            return Ok(None);
        }
        let user = uuid(&user)?;
        let lab = lab.as_deref().map(uuid).transpose()?;
        Ok(Some(DeviceIdentity { device, user, name, lab }))
    }

    async fn user_name(&self, user: UserId) -> Result<Option<String>, StorageError> {
        Ok(sqlx::query_scalar("SELECT name FROM users WHERE id = ?")
            .bind(user.to_string())
            .fetch_optional(self.pool())
            .await?)
    }

    /// Which lab a user belongs to: `None` if there is no such user, `Some(None)` for a
    /// user outside any lab.
    async fn user_lab(&self, user: UserId) -> Result<Option<Option<LabId>>, StorageError> {
        if let Some(lab) = self.user_labs.get(user) {
            return Ok(Some(lab));
        }
        let row: Option<Option<String>> = sqlx::query_scalar("SELECT lab_id FROM users WHERE id = ?")
            .bind(user.to_string())
            .fetch_optional(self.pool())
            .await?;
        let lab = row.map(|lab| lab.as_deref().map(uuid).transpose()).transpose()?;
        if let Some(lab) = lab {
            self.user_labs.remember(user, lab);
        }
        Ok(lab)
    }
}

/// Inserts users with one device each inside an open transaction.
pub(super) async fn insert_users(
    tx: &mut SqliteConnection,
    names: &[String],
    lab: Option<LabId>,
) -> Result<Vec<Registration>, StorageError> {
    let now = unix_millis();
    let lab = lab.map(|lab| lab.to_string());
    let mut registrations = Vec::with_capacity(names.len());
    for name in names {
        let (user_id, device_id, token) = (Uuid::now_v7(), Uuid::now_v7(), new_token());
        sqlx::query("INSERT INTO users (id, name, created_at, lab_id) VALUES (?, ?, ?, ?)")
            .bind(user_id.to_string())
            .bind(name)
            .bind(now)
            .bind(&lab)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO devices (id, user_id, token_hash, created_at) VALUES (?, ?, ?, ?)")
            .bind(device_id.to_string())
            .bind(user_id.to_string())
            .bind(hash_token(&token))
            .bind(now)
            .execute(&mut *tx)
            .await?;
        registrations.push(Registration { user_id, device_id, token, name: name.clone() });
    }
    Ok(registrations)
}
