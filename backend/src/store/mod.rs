//! Storage behind one interface: the rest of the server names what it needs in messaging
//! terms (store this message, this device acknowledged up to n, what is in this inbox)
//! and never sees SQL.
//!
//! The interface is a trait per concern, each saying what a store must do:
//! [`Accounts`] (users, devices, credentials), [`Labs`] (sandboxes and their views),
//! [`Messages`] (send, ack, read, expire, inboxes, wake-ups), [`Groups`] (members),
//! [`Fanout`] (group messages to every member, in resumable batches), [`Keys`] (the
//! end-to-end key directory) and [`Classes`] (a class's students and their progress).
//! [`MessageStore`] is all of them together plus the store's lifetime; a store
//! implements each trait where it keeps that concern's code.
//!
//! [`sqlite::SqliteStore`] is the embedded default. A PostgreSQL store would implement the
//! same traits (the SQL in `sqlite` is portable: `INSERT … ON CONFLICT DO NOTHING
//! RETURNING` works on both); [`Store`] is what the server holds, whichever it is.
//! Callers need no trait imports: [`Store`] derefs to `dyn MessageStore`, and a trait
//! object offers the methods of its supertraits as if they were its own, so
//! `state.store.enqueue_send(..)` works with `Store` alone in scope.
//!
//! How a store orders and commits its writes is its own business. The interface only
//! promises that writes apply in the order they are asked for and that a queued write's
//! [`Pending`] completes after its commit; SQLite's single writer with group commit is
//! one way to keep that promise.
//!
//! - [`types`]: the values that cross the interface.
//! - [`commit_log`]: a store's recent commits, summarised for the instructor's health
//!   line.
//! - [`sqlite`]: the SQLite implementation: single writer with group commit, the
//!   idempotent insert, per-device inboxes, receipts, dead letters, push wake-ups.

pub mod commit_log;
pub mod sqlite;
pub mod types;

use std::future::Future;
use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use bluetick_shared::class::{ClassId, ClassInfo, Progress, StudentView, WriterHealth};
use bluetick_shared::e2e::keys::{ClaimedDevice, KeyCount, KeyUpload, UserDevices};
use bluetick_shared::frames::{DeviceId, GroupId, MessageId, Registration, UserId};
use bluetick_shared::lab::{LabId, MessageCopies, QueueView};

pub use types::{
    AddMember, DeviceIdentity, FanoutOutcome, InboxEntry, LabMember, NewMessage, ReceiptsOutcome, SendOutcome, Touched,
};

/// What publishing keys did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublishKeys {
    /// Stored; the device's key counts now.
    Published(KeyCount),
    /// The device published other identity keys before; nothing was stored.
    IdentityMismatch,
}

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "bluetick.sqlite3";

/// Why a store could not do what was asked. `Sqlx` covers any sqlx driver (SQLite,
/// PostgreSQL), not one database.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot create data dir {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// The writer's own connection (see `sqlite::writer`).
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// A stored row breaks a promise of the schema: an id that is not a UUID, a message
    /// with no recipient.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot start the database writer's thread: {0}")]
    WriterThread(std::io::Error),
    /// The store is closing (or its writer died): queued writes can no longer commit.
    #[error("the database writer has stopped")]
    WriterGone,
}

/// A write that has been queued (in order) and will complete after its commit.
pub type Pending<T> = Pin<Box<dyn Future<Output = Result<T, StorageError>> + Send + 'static>>;

/// Accounts: users and their devices, and the credentials a device connects with.
#[async_trait::async_trait]
pub trait Accounts: Send + Sync {
    /// Creates a new user named `name` with one device.
    async fn register_user(&self, name: &str) -> Result<Registration, StorageError>;
    /// Creates many users with one device each, all or none, inside `lab` if given.
    async fn register_users(&self, names: &[String], lab: Option<LabId>) -> Result<Vec<Registration>, StorageError>;
    /// Adds a device to an existing user; `None` if there is no such user.
    async fn add_device(&self, user: UserId) -> Result<Option<Registration>, StorageError>;
    /// The device these credentials belong to, or `None` if they do not match.
    async fn authenticate(&self, device: DeviceId, token: &str) -> Result<Option<DeviceIdentity>, StorageError>;
    /// The user's name; `None` if there is no such user.
    async fn user_name(&self, user: UserId) -> Result<Option<String>, StorageError>;
    /// The lab a user belongs to: `None` if there is no such user, `Some(None)` outside labs.
    async fn user_lab(&self, user: UserId) -> Result<Option<Option<LabId>>, StorageError>;
}

/// Lab sandboxes: creating, listing and deleting them, and the views the lab shows.
#[async_trait::async_trait]
pub trait Labs: Send + Sync {
    /// A new lab sandbox with one user and device per name.
    async fn create_lab(&self, names: &[String]) -> Result<(LabId, Vec<Registration>), StorageError>;
    /// The lab a device belongs to: `None` if there is no such device.
    async fn device_lab(&self, device: DeviceId) -> Result<Option<Option<LabId>>, StorageError>;
    /// Up to `limit` of the lab's devices, oldest first.
    async fn lab_members(&self, lab: LabId, limit: i64) -> Result<Vec<LabMember>, StorageError>;
    /// Records that these labs were in use at `now`.
    async fn touch_labs(&self, labs: &[LabId], now: i64) -> Result<(), StorageError>;
    /// Labs unused since `before` (some of them, if many).
    async fn idle_labs(&self, before: i64) -> Result<Vec<LabId>, StorageError>;
    /// Deletes a lab and everything in it.
    async fn delete_lab(&self, lab: LabId) -> Result<(), StorageError>;
    /// A device's offline queue: waiting inbox entries in order, and its push wake-ups.
    async fn queue_view(&self, device: DeviceId) -> Result<QueueView, StorageError>;
    /// How many stored rows and deliveries message `id`, sent inside `lab`, has.
    async fn message_copies(&self, lab: LabId, id: MessageId) -> Result<MessageCopies, StorageError>;
}

/// Messages and their receipts: the send with its exactly-once insert, acks, reads,
/// expiry, per-device inboxes and push wake-ups.
///
/// Writes happen in the order they are asked for. A send or an ack is *queued*: the
/// call returns once its place in that order is fixed, and the [`Pending`] it gives
/// completes after the write is committed, so a session can queue the next frame's write
/// while this one commits and still answer in order.
#[async_trait::async_trait]
pub trait Messages: Send + Sync {
    /// Queues a message for the idempotent insert: a (sender device, id) pair stored
    /// before is answered as the first time and stores nothing.
    async fn enqueue_send(&self, message: NewMessage) -> Result<Pending<SendOutcome>, StorageError>;
    /// Queues a cumulative ack from `device`: everything up to `up_to` is delivered.
    async fn enqueue_ack(
        &self,
        device: DeviceId,
        up_to: u64,
        now: i64,
    ) -> Result<Pending<ReceiptsOutcome>, StorageError>;
    /// Read receipts from `device` for these inbox sequences, all or none.
    async fn read(&self, device: DeviceId, seqs: Vec<u64>, now: i64) -> Result<ReceiptsOutcome, StorageError>;
    /// Moves up to `limit` undelivered messages past their expiry to the dead letters.
    async fn expire(&self, now: i64, limit: i64) -> Result<ReceiptsOutcome, StorageError>;
    /// Records a push wake-up for an offline device.
    async fn record_wakeup(&self, device: DeviceId, seq: u64, now: i64) -> Result<(), StorageError>;
    /// Up to `limit` inbox entries of `device` after `after`, in sequence order.
    async fn inbox_after(&self, device: DeviceId, after: u64, limit: u32) -> Result<Vec<InboxEntry>, StorageError>;
    /// The highest sequence ever handed out in `device`'s inbox.
    async fn last_seq(&self, device: DeviceId) -> Result<u64, StorageError>;
}

/// Groups and their members.
#[async_trait::async_trait]
pub trait Groups: Send + Sync {
    /// Creates a group with `creator` as its first member.
    async fn create_group(&self, creator: UserId, name: &str) -> Result<GroupId, StorageError>;
    /// Adds a member, refusing the one past [`MAX_GROUP_MEMBERS`](bluetick_shared::frames::MAX_GROUP_MEMBERS).
    async fn add_member(&self, group: GroupId, user: UserId) -> Result<AddMember, StorageError>;
    /// Adds many members at once: all, or none past the cap.
    async fn add_members(&self, group: GroupId, users: &[UserId]) -> Result<AddMember, StorageError>;
    /// Removes a member; whether it was one.
    async fn remove_member(&self, group: GroupId, user: UserId) -> Result<bool, StorageError>;
    /// The members, with their names.
    async fn members(&self, group: GroupId) -> Result<Vec<(UserId, String)>, StorageError>;
    async fn is_member(&self, group: GroupId, user: UserId) -> Result<bool, StorageError>;
    async fn group_name(&self, group: GroupId) -> Result<Option<String>, StorageError>;
    /// The lab a group belongs to (its creator's): `None` if there is no such group.
    async fn group_lab(&self, group: GroupId) -> Result<Option<Option<LabId>>, StorageError>;
    /// The group's owner: the user who created it (`None` if there is no such group).
    async fn group_owner(&self, group: GroupId) -> Result<Option<UserId>, StorageError>;
}

/// Group fan-out: a stored group message becomes a job that is carried out in batches,
/// so that a crash halfway resumes where it stopped.
#[async_trait::async_trait]
pub trait Fanout: Send + Sync {
    /// Fan-out jobs not finished yet, oldest first.
    async fn pending_fanouts(&self) -> Result<Vec<i64>, StorageError>;
    /// Fans a group message out to up to `limit` more members, all or none.
    async fn fanout_batch(&self, job: i64, limit: i64, now: i64) -> Result<FanoutOutcome, StorageError>;
}

/// The key directory for end-to-end encryption.
#[async_trait::async_trait]
pub trait Keys: Send + Sync {
    /// Publishes `device`'s public keys for end-to-end encryption (see
    /// [`bluetick_shared::e2e::keys`]); the upload's signatures are already checked.
    async fn publish_keys(&self, device: DeviceId, upload: &KeyUpload, now: i64) -> Result<PublishKeys, StorageError>;
    /// Unclaimed one-time keys of `device`, and whether it has a fallback key.
    async fn key_count(&self, device: DeviceId) -> Result<KeyCount, StorageError>;
    /// Hands `claimer` one key per device (of users in `lab`): each one-time key at most
    /// once, also under concurrent claims; the fallback key when none is left.
    async fn claim_keys(
        &self,
        claimer: DeviceId,
        devices: &[DeviceId],
        lab: Option<LabId>,
        now: i64,
    ) -> Result<Vec<ClaimedDevice>, StorageError>;
    /// The devices of `user` that have published identity keys.
    async fn user_device_keys(&self, user: UserId) -> Result<UserDevices, StorageError>;
}

/// Classes: an instructor's class, which labs are its students, and their progress.
#[async_trait::async_trait]
pub trait Classes: Send + Sync {
    /// Creates a class under a fresh join code.
    async fn create_class(&self, name: &str, now: i64) -> Result<ClassInfo, StorageError>;
    /// Every class, oldest first.
    async fn classes(&self) -> Result<Vec<ClassInfo>, StorageError>;
    async fn class(&self, class: ClassId) -> Result<Option<ClassInfo>, StorageError>;
    /// The class with this join code (already cleaned, see [`bluetick_shared::class::clean_code`]).
    async fn class_by_code(&self, code: &str) -> Result<Option<ClassInfo>, StorageError>;
    /// Puts `lab` in `class` as `name`: a second join renames, a join to another class
    /// moves the student (with their progress).
    async fn join_class(&self, class: ClassId, lab: LabId, name: &str, now: i64) -> Result<(), StorageError>;
    /// The class `lab` is in, and the student's name there.
    async fn lab_class(&self, lab: LabId) -> Result<Option<(ClassInfo, String)>, StorageError>;
    /// Records one thing the student did: a second report of the same thing keeps the
    /// first answer and replaces the latest.
    async fn record_progress(&self, lab: LabId, progress: &Progress, now: i64) -> Result<(), StorageError>;
    /// The class's students with their progress, in the order they joined (`online`
    /// false: the store does not know who is connected).
    async fn class_students(&self, class: ClassId) -> Result<Vec<StudentView>, StorageError>;
    /// One student of the class (the lab's row), if the lab is in it.
    async fn class_student(&self, class: ClassId, lab: LabId) -> Result<Option<StudentView>, StorageError>;
}

/// A whole store: every concern above, and its lifetime.
#[async_trait::async_trait]
pub trait MessageStore:
    Accounts + Labs + Messages + Groups + Fanout + Keys + Classes + std::fmt::Debug + 'static
{
    /// How many times a server has started on this database.
    async fn boot_count(&self) -> Result<i64, StorageError>;
    /// Commits everything queued and closes.
    async fn close(&self);
    /// The writer's recent commits (messages and commits per second, commit time).
    fn writer_health(&self) -> WriterHealth;
}

/// The store the server holds; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store(Arc<dyn MessageStore>);

impl Store {
    /// The embedded default: SQLite in `data_dir`.
    pub async fn open_sqlite(data_dir: &Path) -> Result<Store, StorageError> {
        Ok(Store(Arc::new(sqlite::SqliteStore::open(data_dir).await?)))
    }

    /// Whether `user` exists and is in `lab` (`None`: outside every lab). A user of
    /// another lab does not exist as far as this one can tell.
    pub async fn user_in_lab(&self, user: UserId, lab: Option<LabId>) -> Result<bool, StorageError> {
        Ok(self.0.user_lab(user).await? == Some(lab))
    }
}

impl Deref for Store {
    type Target = dyn MessageStore;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

/// Now, in unix milliseconds: the unit every timestamp in the database and on the wire
/// uses.
pub fn unix_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
