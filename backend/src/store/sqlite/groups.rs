//! Groups and their participant list.

use bluetick_shared::frames::{GroupId, UserId};
use bluetick_shared::lab::LabId;
use uuid::Uuid;

use super::{SqliteStore, uuid};
use crate::store::{Accounts, AddMember, Groups, StorageError, unix_millis};

#[async_trait::async_trait]
impl Groups for SqliteStore {
    /// Creates a group with its creator as the first member.
    async fn create_group(&self, creator: UserId, name: &str) -> Result<GroupId, StorageError> {
        let group = Uuid::now_v7();
        let now = unix_millis();
        let mut tx = self.pool().begin().await?;
        sqlx::query("INSERT INTO groups (id, name, created_by, created_at) VALUES (?, ?, ?, ?)")
            .bind(group.to_string())
            .bind(name)
            .bind(creator.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO group_members (group_id, user_id, added_at) VALUES (?, ?, ?)")
            .bind(group.to_string())
            .bind(creator.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(group)
    }

    /// Adds a member. The cap is the database's: a trigger refuses the 1,025th row.
    async fn add_member(&self, group: GroupId, user: UserId) -> Result<AddMember, StorageError> {
        let result = sqlx::query(
            "INSERT INTO group_members (group_id, user_id, added_at)
             SELECT ?1, ?2, ?3
             WHERE EXISTS (SELECT 1 FROM groups WHERE id = ?1) AND EXISTS (SELECT 1 FROM users WHERE id = ?2)
             ON CONFLICT (group_id, user_id) DO NOTHING",
        )
        .bind(group.to_string())
        .bind(user.to_string())
        .bind(unix_millis())
        .execute(self.pool())
        .await;
        match result {
            Ok(done) if done.rows_affected() == 1 => Ok(AddMember::Added),
            Ok(_) => {
                if self.group_name(group).await?.is_none() {
                    Ok(AddMember::NoSuchGroup)
                } else if self.user_name(user).await?.is_none() {
                    Ok(AddMember::NoSuchUser)
                } else {
                    Ok(AddMember::AlreadyMember)
                }
            }
            Err(sqlx::Error::Database(e)) if e.message().contains("group_full") => Ok(AddMember::GroupFull),
            Err(e) => Err(e.into()),
        }
    }

    /// Adds many members in one transaction: all of them, or (past the cap) none.
    async fn add_members(&self, group: GroupId, users: &[UserId]) -> Result<AddMember, StorageError> {
        let now = unix_millis();
        let mut tx = self.pool().begin().await?;
        for user in users {
            let result = sqlx::query(
                "INSERT INTO group_members (group_id, user_id, added_at) VALUES (?, ?, ?)
                 ON CONFLICT (group_id, user_id) DO NOTHING",
            )
            .bind(group.to_string())
            .bind(user.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await;
            match result {
                Ok(_) => {}
                Err(sqlx::Error::Database(e)) if e.message().contains("group_full") => return Ok(AddMember::GroupFull),
                Err(sqlx::Error::Database(e)) if e.message().contains("FOREIGN KEY") => {
                    return Ok(AddMember::NoSuchUser);
                }
                Err(e) => return Err(e.into()),
            }
        }
        tx.commit().await?;
        Ok(AddMember::Added)
    }

    /// Removes a member; false if they were not one.
    async fn remove_member(&self, group: GroupId, user: UserId) -> Result<bool, StorageError> {
        let done = sqlx::query("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
            .bind(group.to_string())
            .bind(user.to_string())
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The members and their names, in the order fan-out visits them.
    async fn members(&self, group: GroupId) -> Result<Vec<(UserId, String)>, StorageError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT m.user_id, u.name FROM group_members m JOIN users u ON u.id = m.user_id
             WHERE m.group_id = ? ORDER BY m.user_id",
        )
        .bind(group.to_string())
        .fetch_all(self.pool())
        .await?;
        rows.into_iter().map(|(id, name)| Ok((uuid(&id)?, name))).collect()
    }

    async fn is_member(&self, group: GroupId, user: UserId) -> Result<bool, StorageError> {
        let found: Option<i64> = sqlx::query_scalar("SELECT 1 FROM group_members WHERE group_id = ? AND user_id = ?")
            .bind(group.to_string())
            .bind(user.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(found.is_some())
    }

    async fn group_name(&self, group: GroupId) -> Result<Option<String>, StorageError> {
        Ok(sqlx::query_scalar("SELECT name FROM groups WHERE id = ?")
            .bind(group.to_string())
            .fetch_optional(self.pool())
            .await?)
    }

    /// The lab of the group's creator, which is the group's: `None` if there is no such group.
    async fn group_lab(&self, group: GroupId) -> Result<Option<Option<LabId>>, StorageError> {
        let row: Option<Option<String>> =
            sqlx::query_scalar("SELECT u.lab_id FROM groups g JOIN users u ON u.id = g.created_by WHERE g.id = ?")
                .bind(group.to_string())
                .fetch_optional(self.pool())
                .await?;
        row.map(|lab| lab.as_deref().map(uuid).transpose()).transpose()
    }

    /// The group's creator, who owns it for as long as it exists (see `api::groups`).
    async fn group_owner(&self, group: GroupId) -> Result<Option<UserId>, StorageError> {
        let owner: Option<String> = sqlx::query_scalar("SELECT created_by FROM groups WHERE id = ?")
            .bind(group.to_string())
            .fetch_optional(self.pool())
            .await?;
        Ok(owner.as_deref().map(uuid).transpose()?)
    }
}
