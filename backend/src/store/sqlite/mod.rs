//! The embedded default: one SQLite file in WAL mode inside the data dir.
//!
//! Why SQLite: the lab must run on one machine with one command, and a file is the one
//! database every instructor already has. WAL lets readers (deliveries, the lab's queue
//! views) run while the writer commits. `synchronous = FULL` keeps every acknowledged
//! commit across a power cut, not only across a process crash: the lab promises "no data
//! loss", and group commit (see `writer`) pays for the fsync once per batch.
//!
//! - `devices`: registration and authentication; `groups`: groups and members.
//! - `fanout`: group fan-out in resumable batches.
//! - `keys`: the key directory for end-to-end encryption (one-time keys claimed once).
//! - `labs`: lab sandboxes: creating, listing, the queue view, deleting idle ones.
//! - `writer`: the single writer task: every message, ack, read and expiry goes
//!   through it and is committed in batches.
//! - `batch`: sends and acks for a whole batch in a few statements;
//!   `group_acks`: a run of acks' group deliveries counted at once.
//! - `ops`: the SQL of the other writes, and the idempotent insert.
//! - `reads`: inbox reads for delivery and for the lab's queue view.

mod batch;
#[cfg(test)]
mod batch_tests;
mod devices;
mod fanout;
mod group_acks;
mod groups;
mod keys;
mod labs;
mod ops;
mod reads;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use bluetick_shared::e2e::keys::{ClaimedDevice, KeyCount, KeyUpload, UserDevices};
use bluetick_shared::frames::{DeviceId, GroupId, MessageId, Registration, UserId};
use bluetick_shared::lab::{LabId, MessageCopies, QueueView};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use super::{
    AddMember, DB_FILE, DeviceIdentity, FanoutOutcome, InboxEntry, LabMember, MessageStore, NewMessage, Pending,
    PublishKeys, ReceiptsOutcome, SendOutcome, StorageError, unix_millis,
};
use writer::Writer;

/// A UUID stored as text (every id column), or the decode error that names the bad row.
pub(super) fn uuid(text: &str) -> Result<uuid::Uuid, sqlx::Error> {
    text.parse().map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Writer,
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir`, applies pending migrations,
    /// records this boot and starts the writer task.
    pub async fn open(data_dir: &Path) -> Result<SqliteStore, StorageError> {
        tokio::fs::create_dir_all(data_dir)
            .await
            .map_err(|source| StorageError::DataDir { path: data_dir.to_path_buf(), source })?;
        let path = data_dir.join(DB_FILE);
        let options = SqliteConnectOptions::from_str("sqlite:")?
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5));
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options.clone()).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        sqlx::query("INSERT INTO boots (started_at, version) VALUES (?, ?)")
            .bind(unix_millis())
            .bind(env!("CARGO_PKG_VERSION"))
            .execute(&pool)
            .await?;
        let writer = Writer::start(options).await?;
        tracing::info!(path = %path.display(), "database open");
        Ok(SqliteStore { pool, writer })
    }

    /// The pool for reads.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait::async_trait]
impl MessageStore for SqliteStore {
    async fn register_user(&self, name: &str) -> Result<Registration, StorageError> {
        SqliteStore::register_user(self, name).await
    }
    async fn register_users(&self, names: &[String], lab: Option<LabId>) -> Result<Vec<Registration>, StorageError> {
        SqliteStore::register_users(self, names, lab).await
    }
    async fn add_members(&self, group: GroupId, users: &[UserId]) -> Result<AddMember, StorageError> {
        SqliteStore::add_members(self, group, users).await
    }
    async fn add_device(&self, user: UserId) -> Result<Option<Registration>, StorageError> {
        SqliteStore::add_device(self, user).await
    }
    async fn authenticate(&self, device: DeviceId, token: &str) -> Result<Option<DeviceIdentity>, StorageError> {
        SqliteStore::authenticate(self, device, token).await
    }
    async fn user_name(&self, user: UserId) -> Result<Option<String>, StorageError> {
        SqliteStore::user_name(self, user).await
    }
    async fn user_lab(&self, user: UserId) -> Result<Option<Option<LabId>>, StorageError> {
        SqliteStore::user_lab(self, user).await
    }
    async fn create_lab(&self, names: &[String]) -> Result<(LabId, Vec<Registration>), StorageError> {
        SqliteStore::create_lab(self, names).await
    }
    async fn device_lab(&self, device: DeviceId) -> Result<Option<Option<LabId>>, StorageError> {
        SqliteStore::device_lab(self, device).await
    }
    async fn lab_members(&self, lab: LabId, limit: i64) -> Result<Vec<LabMember>, StorageError> {
        SqliteStore::lab_members(self, lab, limit).await
    }
    async fn touch_labs(&self, labs: &[LabId], now: i64) -> Result<(), StorageError> {
        SqliteStore::touch_labs(self, labs, now).await
    }
    async fn idle_labs(&self, before: i64) -> Result<Vec<LabId>, StorageError> {
        SqliteStore::idle_labs(self, before).await
    }
    async fn delete_lab(&self, lab: LabId) -> Result<(), StorageError> {
        SqliteStore::delete_lab(self, lab).await
    }
    async fn queue_view(&self, device: DeviceId) -> Result<QueueView, StorageError> {
        SqliteStore::queue_view(self, device).await
    }
    async fn message_copies(&self, lab: LabId, id: MessageId) -> Result<MessageCopies, StorageError> {
        SqliteStore::message_copies(self, lab, id).await
    }
    async fn enqueue_send(&self, message: NewMessage) -> Result<Pending<SendOutcome>, StorageError> {
        self.writer.enqueue_send(message).await
    }
    async fn enqueue_ack(
        &self,
        device: DeviceId,
        up_to: u64,
        now: i64,
    ) -> Result<Pending<ReceiptsOutcome>, StorageError> {
        self.writer.enqueue_ack(device, up_to, now).await
    }
    async fn read(&self, device: DeviceId, seqs: Vec<u64>, now: i64) -> Result<ReceiptsOutcome, StorageError> {
        self.writer.read(device, seqs, now).await
    }
    async fn expire(&self, now: i64, limit: i64) -> Result<ReceiptsOutcome, StorageError> {
        self.writer.expire(now, limit).await
    }
    async fn record_wakeup(&self, device: DeviceId, seq: u64, now: i64) -> Result<(), StorageError> {
        self.writer.wakeup(device, seq, now).await
    }
    async fn inbox_after(&self, device: DeviceId, after: u64, limit: u32) -> Result<Vec<InboxEntry>, StorageError> {
        SqliteStore::inbox_after(self, device, after, limit).await
    }
    async fn last_seq(&self, device: DeviceId) -> Result<u64, StorageError> {
        SqliteStore::last_seq(self, device).await
    }
    async fn create_group(&self, creator: UserId, name: &str) -> Result<GroupId, StorageError> {
        SqliteStore::create_group(self, creator, name).await
    }
    async fn add_member(&self, group: GroupId, user: UserId) -> Result<AddMember, StorageError> {
        SqliteStore::add_member(self, group, user).await
    }
    async fn remove_member(&self, group: GroupId, user: UserId) -> Result<bool, StorageError> {
        SqliteStore::remove_member(self, group, user).await
    }
    async fn members(&self, group: GroupId) -> Result<Vec<(UserId, String)>, StorageError> {
        SqliteStore::members(self, group).await
    }
    async fn is_member(&self, group: GroupId, user: UserId) -> Result<bool, StorageError> {
        SqliteStore::is_member(self, group, user).await
    }
    async fn group_name(&self, group: GroupId) -> Result<Option<String>, StorageError> {
        SqliteStore::group_name(self, group).await
    }
    async fn group_lab(&self, group: GroupId) -> Result<Option<Option<LabId>>, StorageError> {
        SqliteStore::group_lab(self, group).await
    }
    async fn group_owner(&self, group: GroupId) -> Result<Option<UserId>, StorageError> {
        SqliteStore::group_owner(self, group).await
    }
    async fn pending_fanouts(&self) -> Result<Vec<i64>, StorageError> {
        SqliteStore::pending_fanouts(self).await
    }
    async fn fanout_batch(&self, job: i64, limit: i64, now: i64) -> Result<FanoutOutcome, StorageError> {
        self.writer.fanout(job, limit, now).await
    }
    async fn publish_keys(&self, device: DeviceId, upload: &KeyUpload, now: i64) -> Result<PublishKeys, StorageError> {
        SqliteStore::publish_keys(self, device, upload, now).await
    }
    async fn key_count(&self, device: DeviceId) -> Result<KeyCount, StorageError> {
        SqliteStore::key_count(self, device).await
    }
    async fn claim_keys(
        &self,
        claimer: DeviceId,
        devices: &[DeviceId],
        lab: Option<LabId>,
        now: i64,
    ) -> Result<Vec<ClaimedDevice>, StorageError> {
        SqliteStore::claim_keys(self, claimer, devices, lab, now).await
    }
    async fn user_device_keys(&self, user: UserId) -> Result<UserDevices, StorageError> {
        SqliteStore::user_device_keys(self, user).await
    }
    async fn boot_count(&self) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM boots").fetch_one(&self.pool).await?)
    }
    async fn close(&self) {
        self.writer.shutdown().await;
        self.pool.close().await;
    }
}
