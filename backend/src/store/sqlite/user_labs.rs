//! Which lab each user belongs to, remembered: the gateway asks it for every 1:1 send
//! (a user of another lab does not exist from here), and a user's lab never changes.
//!
//! Why remember: asked of the database, the answer was a read on the pool for every
//! message, a hand-off to a database thread and back on the hot path. Only users that
//! exist are remembered; the one way a user stops existing is its lab being deleted,
//! and [`UserLabs::forget_lab`] runs right after that commit.

use std::collections::HashMap;
use std::sync::Mutex;

use bluetick_shared::frames::UserId;
use bluetick_shared::lab::LabId;

/// Users remembered at most; past that the memory starts again empty.
const CAPACITY: usize = 65_536;

#[derive(Debug, Default)]
pub(super) struct UserLabs(Mutex<HashMap<UserId, Option<LabId>>>);

impl UserLabs {
    /// The lab of `user` if it is remembered: `Some(None)` for a user outside labs.
    pub(super) fn get(&self, user: UserId) -> Option<Option<LabId>> {
        self.0.lock().expect("user labs lock").get(&user).copied()
    }

    /// Remembers the lab of a user that exists.
    pub(super) fn remember(&self, user: UserId, lab: Option<LabId>) {
        let mut known = self.0.lock().expect("user labs lock");
        if known.len() >= CAPACITY {
            known.clear();
        }
        known.insert(user, lab);
    }

    /// Forgets every user of a deleted lab.
    pub(super) fn forget_lab(&self, lab: LabId) {
        self.0.lock().expect("user labs lock").retain(|_, known| *known != Some(lab));
    }
}
