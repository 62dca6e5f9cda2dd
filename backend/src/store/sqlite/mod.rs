//! The embedded default: one SQLite file in WAL mode inside the data dir.
//!
//! Why SQLite: the lab must run on one machine with one command, and a file is the one
//! database every instructor already has. WAL lets readers (deliveries, the lab's queue
//! views) run while the writer commits. `synchronous = FULL` keeps every acknowledged
//! commit across a power cut, not only across a process crash: the lab promises "no data
//! loss", and group commit (see `writer`) pays for the fsync once per batch.
//!
//! - `devices`: registration and authentication; `user_labs`: which lab each user is
//!   in, remembered; `groups`: groups and members.
//! - `fanout`: group fan-out in resumable batches.
//! - `classes`: classes, their students and each student's progress.
//! - `keys`: the key directory for end-to-end encryption (one-time keys claimed once).
//! - `labs`: lab sandboxes: creating, listing, the queue view, deleting idle ones.
//! - `writer`: the single writer, a thread with its own synchronous connection: every
//!   message, ack, read and expiry goes through it and is committed in batches.
//! - `batch`: sends and acks for a whole batch in a few statements;
//!   `group_acks`: a run of acks' group deliveries counted at once.
//! - `messages`: the idempotent insert, and the send/ack/read/inbox interface;
//!   `inbox`: an inbox row and the frame it is delivered as.
//! - `receipts`: ticks, receipts, group progress, reads, expiry and wake-ups.

mod batch;
#[cfg(test)]
mod batch_tests;
mod classes;
mod devices;
mod fanout;
mod group_acks;
mod groups;
mod inbox;
mod keys;
mod labs;
mod messages;
mod receipts;
mod user_labs;
mod writer;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use bluetick_shared::class::WriterHealth;

use super::{DB_FILE, MessageStore, StorageError, unix_millis};
use user_labs::UserLabs;
use writer::Writer;

/// A UUID stored as text (every id column), or the error that names the bad row.
pub(super) fn uuid(text: &str) -> Result<uuid::Uuid, StorageError> {
    text.parse().map_err(|e| StorageError::Corrupt(format!("{text:?} is not a UUID: {e}")))
}

#[derive(Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Writer,
    user_labs: UserLabs,
}

impl SqliteStore {
    /// Opens (creating if needed) the database in `data_dir`, applies pending migrations,
    /// records this boot and starts the writer thread.
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
        let writer = Writer::start(&path)?;
        tracing::info!(path = %path.display(), "database open");
        Ok(SqliteStore { pool, writer, user_labs: UserLabs::default() })
    }

    /// The pool for reads.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

#[async_trait::async_trait]
impl MessageStore for SqliteStore {
    async fn boot_count(&self) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM boots").fetch_one(&self.pool).await?)
    }

    async fn close(&self) {
        self.writer.shutdown().await;
        self.pool.close().await;
    }

    fn writer_health(&self) -> WriterHealth {
        self.writer.commits.health(std::time::Instant::now())
    }
}
