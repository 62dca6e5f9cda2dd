//! Looking straight into a server's SQLite file, to check what was (not) stored.

use std::path::Path;
use std::str::FromStr;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};

/// Runs a `SELECT COUNT(*) …`-style query on the data dir's database.
pub async fn count(data_dir: &Path, sql: &'static str) -> i64 {
    let options = SqliteConnectOptions::from_str("sqlite:")
        .unwrap()
        .filename(data_dir.join(bluetick_backend::store::DB_FILE))
        .read_only(true);
    let mut conn = SqliteConnection::connect_with(&options).await.expect("open the database");
    let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).fetch_one(&mut conn).await.expect(sql);
    let _ = conn.close().await;
    n
}

/// Like [`count`], for a query with `?` parameters, bound in order as text.
pub async fn count_with(data_dir: &Path, sql: &str, args: &[&str]) -> i64 {
    let options = SqliteConnectOptions::from_str("sqlite:")
        .unwrap()
        .filename(data_dir.join(bluetick_backend::store::DB_FILE))
        .read_only(true);
    let mut conn = SqliteConnection::connect_with(&options).await.expect("open the database");
    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_string()));
    for arg in args {
        query = query.bind(arg.to_string());
    }
    let n: i64 = query.fetch_one(&mut conn).await.expect(sql);
    let _ = conn.close().await;
    n
}
