//! The simulated crowd: N group members that are real clients.
//!
//! Each member is a registered device that connects over a real WebSocket through the
//! same [`bluetick_client`] library as everyone else, heartbeats, acknowledges
//! what it receives and reads it after a random delay. Some start offline and come back
//! later, reconnecting with the shared backoff policy. A seed makes a run reproducible:
//! the same seed gives every member the same delays. The delays run on the server's
//! [`Clock`], so a test can skip a member's hour offline instead of waiting it out. In
//! an `encrypted` crowd every member also has a vodozemac account: it publishes its keys
//! before it first connects and decrypts what it receives ([`E2eDevice`]).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluetick_shared::backoff::Backoff;
use bluetick_shared::frames::{ClientFrame, MessageId, Registration, ServerFrame};
use serde::{Deserialize, Serialize};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use bluetick_client::e2e::E2eDevice;
use bluetick_client::{Connection, DeviceState, Event};

/// How a crowd behaves.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrowdSpec {
    /// How many members.
    pub size: usize,
    /// How many of them start offline (the first `offline` by index).
    #[serde(default)]
    pub offline: usize,
    /// Offline members come back after this long (ms).
    #[serde(default = "default_back_after_ms")]
    pub back_after_ms: u64,
    /// Each member reads a message after a delay drawn from this range (ms).
    #[serde(default = "default_read_delay_ms")]
    pub read_delay_ms: (u64, u64),
    /// Same seed, same delays.
    #[serde(default)]
    pub seed: u64,
    /// Members publish end-to-end encryption keys and decrypt what they receive.
    #[serde(default)]
    pub encrypted: bool,
}

fn default_back_after_ms() -> u64 {
    5_000
}

fn default_read_delay_ms() -> (u64, u64) {
    (200, 1_500)
}

/// One member as the lab sees it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MemberLog {
    pub online: bool,
    /// Messages shown, in arrival order (redeliveries already dropped).
    pub received: Vec<MessageId>,
    /// Messages read.
    pub read: usize,
    /// Redeliveries the client library dropped.
    pub duplicates_dropped: u64,
    pub connects: u32,
    /// Encrypted crowds: whether the member's keys are in the key directory.
    #[serde(default)]
    pub keys_published: bool,
    /// Encrypted crowds: messages decrypted (room keys not counted).
    #[serde(default)]
    pub decrypted: usize,
    /// Encrypted crowds: messages that could not be decrypted.
    #[serde(default)]
    pub undecryptable: usize,
}

/// A running crowd. Dropping it does not stop it; call [`Crowd::stop`].
pub struct Crowd {
    pub members: Vec<Registration>,
    logs: Arc<Mutex<Vec<MemberLog>>>,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Crowd {
    /// Starts a crowd of already registered members against the server at `url`
    /// (`ws://host:port/ws`). Its schedule (coming back, reading, heartbeats, retrying)
    /// runs on `clock`: the server's own, for a crowd it runs.
    pub fn start(url: String, members: Vec<Registration>, spec: &CrowdSpec, heartbeat_ms: u64, clock: Clock) -> Crowd {
        let logs = Arc::new(Mutex::new(vec![MemberLog::default(); members.len()]));
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        for (index, member) in members.iter().enumerate() {
            let behaviour = Behaviour {
                url: url.clone(),
                index,
                starts_offline: index < spec.offline,
                back_after: Duration::from_millis(spec.back_after_ms),
                read_delay_ms: spec.read_delay_ms,
                heartbeat: Duration::from_millis(heartbeat_ms.max(100)),
                rng: fastrand::Rng::with_seed(spec.seed.wrapping_mul(0x9E37_79B9_7F4A_7C15).wrapping_add(index as u64)),
                logs: logs.clone(),
                stop: stop.clone(),
                clock: clock.clone(),
                e2e: spec.encrypted.then(|| api_addr(&url)).flatten().map(|addr| E2eDevice::new(addr, member.clone())),
            };
            tasks.spawn(behaviour.run(DeviceState::new(member.clone())));
        }
        tasks.close();
        Crowd { members, logs, stop, tasks }
    }

    /// A copy of every member's log.
    pub fn logs(&self) -> Vec<MemberLog> {
        self.logs.lock().unwrap().clone()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Disconnects every member and waits for them.
    pub async fn stop(&self) {
        self.stop.cancel();
        self.tasks.wait().await;
    }
}

struct Behaviour {
    url: String,
    index: usize,
    starts_offline: bool,
    back_after: Duration,
    read_delay_ms: (u64, u64),
    heartbeat: Duration,
    rng: fastrand::Rng,
    logs: Arc<Mutex<Vec<MemberLog>>>,
    stop: CancellationToken,
    clock: Clock,
    e2e: Option<E2eDevice>,
}

/// `ws://host:port/ws` → `host:port`, where the key directory answers too.
fn api_addr(ws_url: &str) -> Option<std::net::SocketAddr> {
    ws_url.strip_prefix("ws://")?.split('/').next()?.parse().ok()
}

impl Behaviour {
    async fn run(mut self, mut state: DeviceState) {
        if self.starts_offline && self.sleep(self.back_after).await.is_err() {
            return;
        }
        let backoff = Backoff { base_ms: 200, factor: 2, cap_ms: 5_000, jitter: 0.5 };
        let mut attempt = 0;
        loop {
            if let Some(e2e) = self.e2e.as_mut()
                && !self.logs.lock().unwrap()[self.index].keys_published
            {
                match e2e.publish_keys().await {
                    Ok(_) => self.log(|log| log.keys_published = true),
                    Err(e) => tracing::debug!(member = self.index, error = %e, "crowd member could not publish keys"),
                }
            }
            match Connection::connect(&self.url, state.clone()).await {
                Ok(connection) => {
                    attempt = 0;
                    self.log(|log| {
                        log.online = true;
                        log.connects += 1;
                    });
                    let (returned, stopped) = self.live(connection).await;
                    state = returned;
                    self.log(|log| log.online = false);
                    if stopped {
                        return;
                    }
                }
                Err(e) => tracing::debug!(member = self.index, error = %e, "crowd member could not connect"),
            }
            attempt += 1;
            let delay = backoff.delay_ms(attempt, self.rng.f64());
            if self.sleep(Duration::from_millis(delay)).await.is_err() {
                return;
            }
        }
    }

    /// Talks on one connection until it fails (false) or the crowd stops (true).
    async fn live(&mut self, mut connection: Connection) -> (DeviceState, bool) {
        let mut reads: Vec<(Instant, u64)> = Vec::new();
        let mut next_heartbeat = self.clock.now() + self.heartbeat;
        loop {
            let next_read = reads.iter().map(|(at, _)| *at).min();
            let wake = next_read.map_or(next_heartbeat, |r| r.min(next_heartbeat));
            let frame = tokio::select! {
                _ = self.stop.cancelled() => return (connection.close().await, true),
                _ = self.clock.sleep_until(wake) => None,
                frame = connection.recv_frame() => Some(frame),
            };
            let now = self.clock.now();
            let result = match frame {
                Some(Ok(frame)) => self.absorb(&mut connection, frame, &mut reads).await,
                Some(Err(e)) => Err(e),
                None => Ok(()),
            };
            let result = match result {
                Ok(()) if now >= next_heartbeat => {
                    next_heartbeat = now + self.heartbeat;
                    connection.heartbeat().await
                }
                other => other,
            };
            let due: Vec<u64> = reads.iter().filter(|(at, _)| *at <= now).map(|(_, seq)| *seq).collect();
            let result = match result {
                Ok(()) if !due.is_empty() => {
                    reads.retain(|(at, _)| *at > now);
                    let n = due.len();
                    let sent = connection.send_frame(&ClientFrame::Read { seqs: due }).await;
                    self.log(|log| log.read += n);
                    sent
                }
                other => other,
            };
            if let Err(e) = result {
                tracing::debug!(member = self.index, error = %e, "crowd member lost its connection");
                return (connection.drop_abruptly(), false);
            }
        }
    }

    async fn absorb(
        &mut self,
        connection: &mut Connection,
        frame: ServerFrame,
        reads: &mut Vec<(Instant, u64)>,
    ) -> Result<(), bluetick_client::ClientError> {
        let event = connection.absorb(frame).await?;
        let dropped = connection.duplicates_dropped;
        if let Some(Event::Message { seq, message }) = event {
            let (low, high) = self.read_delay_ms;
            let delay = self.rng.u64(low.min(high)..=high.max(low));
            reads.push((self.clock.now() + Duration::from_millis(delay), seq));
            self.log(|log| log.received.push(message.id));
            if let Some(e2e) = self.e2e.as_mut() {
                let (mut decrypted, mut undecryptable) = (0, 0);
                for got in e2e.receive(message) {
                    match got.content {
                        Ok(bluetick_shared::e2e::Decrypted::RoomKey { .. }) => {}
                        Ok(_) => decrypted += 1,
                        Err(_) => undecryptable += 1,
                    }
                }
                self.log(|log| {
                    log.decrypted += decrypted;
                    log.undecryptable += undecryptable;
                });
            }
        }
        self.log(|log| log.duplicates_dropped = dropped);
        Ok(())
    }

    fn log(&self, change: impl FnOnce(&mut MemberLog)) {
        change(&mut self.logs.lock().unwrap()[self.index]);
    }

    /// Sleeps unless the crowd stops first (then `Err`).
    async fn sleep(&self, duration: Duration) -> Result<(), ()> {
        tokio::select! {
            _ = self.stop.cancelled() => Err(()),
            _ = self.clock.sleep(duration) => Ok(()),
        }
    }
}

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
