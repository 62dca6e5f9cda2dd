//! The embedded database: one SQLite file in WAL mode inside the data dir.
//!
//! Why SQLite: the lab must run on one machine with one command, and a file is the one
//! database every instructor already has. WAL lets readers (the lab's queue views) run
//! while the writer commits. `synchronous = FULL` keeps every acknowledged commit across
//! a power cut, not only across a process crash: the lab promises "no data loss".

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

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
}

/// A handle to the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Storage {
    pool: SqlitePool,
}

impl Storage {
    /// Opens (creating if needed) the database in `data_dir`, applies pending migrations
    /// and records this boot.
    pub async fn open(data_dir: &Path) -> Result<Storage, StorageError> {
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
        let pool = SqlitePoolOptions::new().max_connections(4).connect_with(options).await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        sqlx::query("INSERT INTO boots (started_at, version) VALUES (?, ?)")
            .bind(unix_millis())
            .bind(env!("CARGO_PKG_VERSION"))
            .execute(&pool)
            .await?;
        tracing::info!(path = %path.display(), "database open");
        Ok(Storage { pool })
    }

    /// How many times a server has started on this database (this start included).
    pub async fn boot_count(&self) -> Result<i64, StorageError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM boots").fetch_one(&self.pool).await?)
    }

    /// Waits for open queries and closes the file cleanly (checkpointing the WAL).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

pub(crate) fn unix_millis() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}
