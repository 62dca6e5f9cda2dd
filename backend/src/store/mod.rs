//! The embedded database: one SQLite file in WAL mode inside the data dir.
//!
//! Why SQLite: the lab must run on one machine with one command, and a file is the one
//! database every instructor already has. WAL lets readers (deliveries, the lab's queue
//! views) run while the writer commits. `synchronous = FULL` keeps every acknowledged
//! commit across a power cut, not only across a process crash: the lab promises "no data
//! loss", and group commit (see [`writer`]) pays for the fsync once per batch.
//!
//! - [`devices`]: registration and authentication.
//! - [`writer`]: the single writer task: every message, ack, read and expiry goes
//!   through it and is committed in batches.
//! - [`ops`]: the SQL of each write, including the idempotent insert.
//! - [`reads`]: inbox reads for delivery and for the lab's queue view.
//!
//! The rest of the server sees only [`Store`]'s methods, which name what they do in
//! messaging terms; a PostgreSQL store would implement the same methods.

pub mod devices;
pub mod ops;
pub mod reads;
pub mod writer;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

pub use devices::DeviceIdentity;
pub use ops::{InboxEntry, NewMessage, ReceiptsOutcome, SendOutcome, Touched};
pub use writer::Writer;

/// The database file's name inside the data dir.
pub const DB_FILE: &str = "bluetick.sqlite3";

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("cannot create data dir {path}: {source}")]
    DataDir { path: PathBuf, source: std::io::Error },
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("the database writer has stopped")]
    WriterGone,
}

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: SqlitePool,
    writer: Writer,
}

impl Store {
    /// Opens (creating if needed) the database in `data_dir`, applies pending migrations,
    /// records this boot and starts the writer task.
    pub async fn open(data_dir: &Path) -> Result<Store, StorageError> {
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
        Ok(Store { pool, writer })
    }

    /// The pool for reads.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    pub fn writer(&self) -> &Writer {
        &self.writer
    }

    /// How many times a server has started on this database (this start included).
    pub async fn boot_count(&self) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM boots").fetch_one(&self.pool).await?)
    }

    /// Stops the writer after it has committed everything queued, then closes the file
    /// cleanly (checkpointing the WAL).
    pub async fn close(&self) {
        self.writer.shutdown().await;
        self.pool.close().await;
    }
}

/// Now, in unix milliseconds: the unit every timestamp in the database and on the wire
/// uses.
pub fn unix_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
