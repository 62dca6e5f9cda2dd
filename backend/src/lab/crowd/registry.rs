//! The crowds a server runs, and the caps (per owner, in all) that keep a classroom from
//! exhausting it; the idle sweep asks it to stop crowds whose owner's device has gone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

use super::Crowd;

/// The crowds running on this server, with the caps that keep a classroom from
/// exhausting it: a limit per owner and a limit in all.
#[derive(Default)]
pub struct CrowdRegistry {
    crowds: Mutex<Vec<RunningCrowd>>,
    /// Places held by starts still registering their members: they count against the
    /// caps like running crowds, so two starts at once cannot both take the room left
    /// for one. Locked after `crowds`, never before.
    reserved: Mutex<Vec<(uuid::Uuid, bluetick_shared::frames::UserId, usize)>>,
}

/// Places under the caps, held from [`CrowdRegistry::reserve`] until the crowd is
/// inserted (or given back when dropped, if the start fails on the way).
pub struct CrowdPlaces<'a> {
    registry: &'a CrowdRegistry,
    id: uuid::Uuid,
}

impl Drop for CrowdPlaces<'_> {
    fn drop(&mut self) {
        self.registry.reserved.lock().unwrap().retain(|(id, _, _)| *id != self.id);
    }
}

struct RunningCrowd {
    id: uuid::Uuid,
    owner: bluetick_shared::frames::UserId,
    /// The device that started it; while it stays away, the crowd is nobody's.
    owner_device: bluetick_shared::frames::DeviceId,
    orphaned_since: Option<Instant>,
    crowd: Arc<Crowd>,
}

/// Why a crowd could not start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrowdRefusal {
    OwnerCap { cap: usize, running: usize },
    ServerCap { cap: usize, running: usize },
}

impl CrowdRegistry {
    /// Reserves room for `size` members, or says which cap stands in the way. The check
    /// and the reservation happen under one lock: checking first and counting the crowd
    /// only once it runs let two concurrent starts pass a cap by a whole crowd.
    pub fn reserve(
        &self,
        owner: bluetick_shared::frames::UserId,
        size: usize,
        per_owner: usize,
        total: usize,
    ) -> Result<CrowdPlaces<'_>, CrowdRefusal> {
        let crowds = self.crowds.lock().unwrap();
        let mut reserved = self.reserved.lock().unwrap();
        let held = crowds.iter().map(|c| (c.owner, c.crowd.len())).chain(reserved.iter().map(|(_, o, n)| (*o, *n)));
        let (running, mine) = held.fold((0, 0), |(all, mine), (o, n)| (all + n, mine + if o == owner { n } else { 0 }));
        if mine + size > per_owner {
            return Err(CrowdRefusal::OwnerCap { cap: per_owner, running: mine });
        }
        if running + size > total {
            return Err(CrowdRefusal::ServerCap { cap: total, running });
        }
        let id = uuid::Uuid::now_v7();
        reserved.push((id, owner, size));
        Ok(CrowdPlaces { registry: self, id })
    }

    /// Starts counting `crowd` as running, in place of the places reserved for it.
    pub fn insert(
        &self,
        owner: bluetick_shared::frames::UserId,
        owner_device: bluetick_shared::frames::DeviceId,
        crowd: Crowd,
        places: CrowdPlaces<'_>,
    ) -> (uuid::Uuid, Arc<Crowd>) {
        let id = uuid::Uuid::now_v7();
        let crowd = Arc::new(crowd);
        let running = RunningCrowd { id, owner, owner_device, orphaned_since: None, crowd: crowd.clone() };
        let mut crowds = self.crowds.lock().unwrap();
        crowds.push(running);
        // Given back while `crowds` is still locked: no reserve sees the crowd counted
        // twice, or not at all.
        drop(places);
        (id, crowd)
    }

    /// Stops crowds whose owner's device has been disconnected for longer than `grace`
    /// (a student who closed the tab): they would otherwise hold the server's crowd
    /// places for hours. `now` is on the server's clock. Returns how many were stopped.
    pub async fn stop_orphans(
        &self,
        is_online: impl Fn(bluetick_shared::frames::DeviceId) -> bool,
        grace: Duration,
        now: Instant,
    ) -> usize {
        let stopped: Vec<RunningCrowd> = {
            let mut crowds = self.crowds.lock().unwrap();
            for running in crowds.iter_mut() {
                running.orphaned_since = match (is_online(running.owner_device), running.orphaned_since) {
                    (true, _) => None,
                    (false, None) => Some(now),
                    (false, since) => since,
                };
            }
            let (stopped, kept) = std::mem::take(&mut *crowds)
                .into_iter()
                .partition(|c| c.orphaned_since.is_some_and(|since| now.duration_since(since) >= grace));
            *crowds = kept;
            stopped
        };
        for running in &stopped {
            running.crowd.stop().await;
        }
        stopped.len()
    }

    pub fn get(&self, id: uuid::Uuid) -> Option<(bluetick_shared::frames::UserId, Arc<Crowd>)> {
        self.crowds.lock().unwrap().iter().find(|c| c.id == id).map(|c| (c.owner, c.crowd.clone()))
    }

    /// Stops and forgets one crowd.
    pub async fn remove(&self, id: uuid::Uuid) -> bool {
        let removed = {
            let mut crowds = self.crowds.lock().unwrap();
            let index = crowds.iter().position(|c| c.id == id);
            index.map(|i| crowds.remove(i))
        };
        match removed {
            Some(running) => {
                running.crowd.stop().await;
                true
            }
            None => false,
        }
    }

    /// Members of every running crowd.
    pub fn members(&self) -> usize {
        self.crowds.lock().unwrap().iter().map(|c| c.crowd.len()).sum()
    }

    /// The users of every running crowd.
    pub fn crowd_users(&self) -> std::collections::HashSet<bluetick_shared::frames::UserId> {
        let crowds = self.crowds.lock().unwrap();
        crowds.iter().flat_map(|c| c.crowd.members.iter().map(|m| m.user_id)).collect()
    }

    /// Stops the crowds any of these users own.
    pub async fn stop_owned_by(&self, owners: std::collections::HashSet<bluetick_shared::frames::UserId>) {
        let stopped: Vec<RunningCrowd> = {
            let mut crowds = self.crowds.lock().unwrap();
            let (stopped, kept) = std::mem::take(&mut *crowds).into_iter().partition(|c| owners.contains(&c.owner));
            *crowds = kept;
            stopped
        };
        for running in stopped {
            running.crowd.stop().await;
        }
    }

    /// Stops every crowd (at shutdown).
    pub async fn stop_all(&self) {
        let all: Vec<RunningCrowd> = std::mem::take(&mut *self.crowds.lock().unwrap());
        for running in all {
            running.crowd.stop().await;
        }
    }
}
