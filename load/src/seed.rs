//! Seeding the server's database directly: the one place the load generator touches it.
//!
//! When the load generator owns the server it owns the database file too, before the
//! server starts on it, so it can create devices and groups straight in the backend's
//! store, a thousand per transaction: registering a hundred thousand devices one HTTP
//! call at a time would take minutes. [`Seed::close`] commits everything and lets go of
//! the file before the server opens it.

use std::path::Path;

use bluetick_backend::store::{AddMember, Store};
use bluetick_shared::frames::{GroupId, Registration, UserId};

use crate::target::Error;

/// Registrations per database transaction.
const REGISTER_BATCH: usize = 1000;

/// The server's database, open before the server runs.
pub struct Seed(Store);

impl Seed {
    /// Opens (creating if needed) the database in `dir`.
    pub async fn open(dir: &Path) -> Result<Seed, Error> {
        Ok(Seed(Store::open_sqlite(dir).await.map_err(|e| e.to_string())?))
    }

    /// One user with one device per name, in batches.
    pub async fn register(&self, names: &[String]) -> Result<Vec<Registration>, Error> {
        let mut all = Vec::with_capacity(names.len());
        for chunk in names.chunks(REGISTER_BATCH) {
            all.extend(self.0.register_users(chunk, None).await.map_err(|e| e.to_string())?);
        }
        Ok(all)
    }

    /// A group named "load" made by `owner`, with all of `users` added at once.
    pub async fn group(&self, owner: UserId, users: &[UserId]) -> Result<GroupId, Error> {
        let group = self.0.create_group(owner, "load").await.map_err(|e| e.to_string())?;
        match self.0.add_members(group, users).await.map_err(|e| e.to_string())? {
            AddMember::Added => Ok(group),
            other => Err(format!("adding {} members: {other:?}", users.len())),
        }
    }

    /// Commits everything and closes the database, so the server can open it.
    pub async fn close(self) {
        self.0.close().await;
    }
}
