//! The lab's load run: a student asks for N sender/recipient pairs for a few seconds and
//! watches messages per second and p99 latency against the lesson's 58K line.
//!
//! The pairs are real devices registered in the student's lab, talking to this server
//! over real WebSockets through the normal gateway, so every message is stored, pushed,
//! acknowledged and ticked exactly as a phone's would be (the client library's
//! [`bluetick_client::pair`] driver, the same one `bluetick-load` runs); [`meter`] keeps the
//! per-second samples and the ledger. A run is bounded (pairs and seconds are capped by
//! flags) and only one runs per server at a time, so a classroom cannot knock it over;
//! the others wait in a first-come, first-served line and start by themselves.
//! Each lab keeps its load devices (and their inbox positions) for its next run; they go
//! when the lab is deleted.

pub mod meter;

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluetick_shared::lab::LabId;
use bluetick_shared::lab_load::{LoadCaps, LoadRequest, LoadState, MAX_LOAD_RATE};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::state::AppState;
use bluetick_client::pair::{Dial, Pair, PairPlan, Timetable};
use bluetick_client::{ClientError, Connection, DeviceState};
use meter::Meter;

/// Messages a pair may have sent and not yet seen DELIVERED. Small, because everything in
/// flight waits in the server's queues: at 32 a 50-pair run measured seconds of p99 that
/// were only its own backlog, and throughput no higher than at 8.
const WINDOW: usize = 8;
/// How long opening every pair's two WebSockets may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// After sending ends, how long to wait for the last DELIVERED ticks.
const DRAIN: Duration = Duration::from_secs(10);
/// How long a lost connection waits before it is reopened.
const RECONNECT_AFTER: Duration = Duration::from_millis(250);

/// Load devices dial this server's own WebSocket URL.
struct OwnServer {
    url: String,
}

impl Dial for OwnServer {
    async fn dial(&self, _side: usize, state: DeviceState) -> Result<Connection, ClientError> {
        Connection::connect(&self.url, state).await
    }
}

/// The caps this server's flags set.
pub fn caps(config: &Config) -> LoadCaps {
    LoadCaps { max_pairs: config.lab_load_max_pairs, max_seconds: config.lab_load_max_secs, max_rate: MAX_LOAD_RATE }
}

/// The most runs that may wait in the line at once (two classes of 30, and some).
pub const MAX_QUEUE: usize = 64;

/// Why a run could not start or join the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// This lab's own run is going.
    Running,
    /// This lab's run already waits in the line, at this place (1: next).
    AlreadyQueued(u32),
    /// The line is full ([`MAX_QUEUE`]).
    QueueFull,
    /// The server is shutting down.
    Stopping,
}

/// Where a run that must wait joins the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line {
    /// At the back: a student's run, first come, first served.
    Back,
    /// At the front: the run an instructor puts on the projector, which the whole class
    /// watches, goes next (it never stops a run that has started).
    Front,
}

/// What became of a run that was asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Started {
    /// It holds the server now.
    Now,
    /// It waits in the line at this place (1: next) and starts by itself when its turn
    /// comes.
    Queued(u32),
}

/// Every lab's load devices and latest run, which lab holds the server's one run, and the
/// line of runs waiting for it.
///
/// One run at a time, because a run measures the server: two at once would each report
/// half a server. Fairness comes from the line instead of a refusal: first come, first
/// served, one place per lab, and every student sees their place.
#[derive(Default)]
pub struct LoadRuns {
    inner: Mutex<Inner>,
    stop: CancellationToken,
    tasks: TaskTracker,
}

#[derive(Default)]
struct Inner {
    running: Option<LabId>,
    queue: VecDeque<Waiting>,
    labs: HashMap<LabId, LabLoad>,
}

/// A run in the line: what it needs to start when its turn comes.
struct Waiting {
    lab: LabId,
    request: LoadRequest,
    meter: Arc<Meter>,
    state: AppState,
}

#[derive(Default)]
struct LabLoad {
    /// Sender, recipient, sender, recipient, …: kept between runs.
    devices: Vec<DeviceState>,
    latest: Option<Arc<Meter>>,
}

impl Inner {
    fn place_of(&self, lab: LabId) -> Option<u32> {
        self.queue.iter().position(|w| w.lab == lab).map(|i| i as u32 + 1)
    }
}

impl LoadRuns {
    /// Starts a run in `lab` if the server is free, or puts it in the line at `line`.
    pub fn start(
        self: &Arc<Self>,
        state: AppState,
        lab: LabId,
        request: LoadRequest,
        line: Line,
    ) -> Result<Started, Refusal> {
        let mut inner = self.inner.lock().unwrap();
        if self.stop.is_cancelled() {
            return Err(Refusal::Stopping);
        }
        if inner.running == Some(lab) {
            return Err(Refusal::Running);
        }
        if let Some(place) = inner.place_of(lab) {
            return Err(Refusal::AlreadyQueued(place));
        }
        if inner.running.is_some() {
            if inner.queue.len() >= MAX_QUEUE {
                return Err(Refusal::QueueFull);
            }
            let meter = Arc::new(Meter::queued(request));
            inner.labs.entry(lab).or_default().latest = Some(meter.clone());
            let waiting = Waiting { lab, request, meter, state };
            let place = match line {
                Line::Back => {
                    inner.queue.push_back(waiting);
                    inner.queue.len() as u32
                }
                Line::Front => {
                    inner.queue.push_front(waiting);
                    1
                }
            };
            tracing::info!(%lab, place, "load run queued");
            return Ok(Started::Queued(place));
        }
        let meter = Arc::new(Meter::new(request));
        let launch = self.launch(&mut inner, Waiting { lab, request, meter, state });
        drop(inner);
        launch.spawn();
        Ok(Started::Now)
    }

    /// Gives the server's run slot to `run` (the caller holds the lock and checked it is
    /// free). The caller spawns the returned run once it has let go of the lock.
    fn launch(self: &Arc<Self>, inner: &mut Inner, run: Waiting) -> Launch {
        let Waiting { lab, request, meter, state } = run;
        inner.running = Some(lab);
        let load = inner.labs.entry(lab).or_default();
        load.latest = Some(meter.clone());
        meter.set_state(LoadState::Connecting);
        let devices = std::mem::take(&mut load.devices);
        let slot = Slot { runs: self.clone(), lab, meter, devices, outcome: None };
        tracing::info!(%lab, pairs = request.pairs, seconds = request.seconds, rate = ?request.rate, "load run started");
        Launch { state, slot, request }
    }

    /// Takes `lab`'s run out of the line; whether it was in it.
    pub fn leave_queue(&self, lab: LabId) -> bool {
        let mut inner = self.inner.lock().unwrap();
        let Some(index) = inner.queue.iter().position(|w| w.lab == lab) else { return false };
        let waiting = inner.queue.remove(index).expect("the index was just found");
        waiting.meter.end(Some("you left the line before your turn came".into()));
        true
    }

    /// Whether another lab's run holds the server, this lab's place in the line, how many
    /// wait, and this lab's latest run.
    pub fn view(&self, lab: LabId) -> RunsView {
        let inner = self.inner.lock().unwrap();
        RunsView {
            busy_elsewhere: inner.running.is_some_and(|running| running != lab),
            place: inner.place_of(lab),
            queued: inner.queue.len() as u32,
            latest: inner.labs.get(&lab).and_then(|l| l.latest.clone()),
        }
    }

    /// Whether a run holds the server, and how many runs wait: for a class's health line.
    pub fn load_now(&self) -> (bool, u32) {
        let inner = self.inner.lock().unwrap();
        (inner.running.is_some(), inner.queue.len() as u32)
    }

    /// Forgets a deleted lab's devices and runs, and its place in the line.
    pub fn forget(&self, lab: LabId) {
        let mut inner = self.inner.lock().unwrap();
        inner.labs.remove(&lab);
        inner.queue.retain(|w| w.lab != lab);
    }

    /// Stops any run and waits for its devices to disconnect (server shutdown).
    pub async fn stop_all(&self) {
        {
            let mut inner = self.inner.lock().unwrap();
            self.stop.cancel();
            for waiting in inner.queue.drain(..) {
                waiting.meter.end(Some("the server is shutting down".into()));
            }
        }
        self.tasks.close();
        self.tasks.wait().await;
    }
}

/// What [`LoadRuns::view`] tells one lab.
pub struct RunsView {
    pub busy_elsewhere: bool,
    pub place: Option<u32>,
    pub queued: u32,
    pub latest: Option<Arc<Meter>>,
}

/// A run that holds the slot and is about to start.
struct Launch {
    state: AppState,
    slot: Slot,
    request: LoadRequest,
}

impl Launch {
    /// Starts the run's task. Never under the runs' lock: on a runtime that is shutting
    /// down the task is dropped at once, and its slot's drop takes that lock.
    fn spawn(self) {
        let Launch { state, slot, request } = self;
        let runs = slot.runs.clone();
        runs.tasks.spawn(drive(state, slot, request, runs.stop.clone()));
    }
}

/// The server's one run slot while a run holds it: released, with the devices handed
/// back to the lab, however the run ends (a panicking run included). The slot is free
/// before the run reads as over, so a page that sees "finished" may start the next one.
struct Slot {
    runs: Arc<LoadRuns>,
    lab: LabId,
    meter: Arc<Meter>,
    devices: Vec<DeviceState>,
    /// How the run ended; `None` if it never got to say.
    outcome: Option<Result<(), String>>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let next = {
            let mut inner = self.runs.inner.lock().unwrap();
            inner.running = None;
            inner.labs.entry(self.lab).or_default().devices = std::mem::take(&mut self.devices);
            // The next in line takes the slot at once (none while shutting down: the
            // line was emptied under this lock).
            inner.queue.pop_front().map(|next| self.runs.launch(&mut inner, next))
        };
        if let Some(next) = next {
            next.spawn();
        }
        let outcome = self.outcome.take().unwrap_or_else(|| Err("the run stopped unexpectedly".into()));
        self.meter.end(outcome.err());
        let run = self.meter.snapshot();
        tracing::info!(lab = %self.lab, state = run.state.label(), reason = ?run.reason, ledger = ?run.ledger,
            peak_per_sec = run.peak_per_sec(), "load run ended");
    }
}

async fn drive(state: AppState, mut slot: Slot, request: LoadRequest, stop: CancellationToken) {
    let result = run(&state, &mut slot, request, &stop).await;
    slot.outcome = Some(result);
}

async fn run(state: &AppState, slot: &mut Slot, request: LoadRequest, stop: &CancellationToken) -> Result<(), String> {
    let pairs = request.pairs as usize;
    // Register the devices this lab does not have yet.
    let have = slot.devices.len() / 2;
    if have < pairs {
        slot.devices.truncate(have * 2);
        let names: Vec<String> = (have + 1..=pairs)
            .flat_map(|i| [format!("Load sender {i:02}"), format!("Load recipient {i:02}")])
            .collect();
        let registered = state
            .store
            .register_users(&names, Some(slot.lab))
            .await
            .map_err(|e| format!("could not register the load devices: {e}"))?;
        slot.devices.extend(registered.into_iter().map(DeviceState::new));
    }
    // The slot keeps the spare devices (a later, bigger run's) whatever happens next.
    let spare = slot.devices.split_off(pairs * 2);
    let mut used = std::mem::replace(&mut slot.devices, spare);

    let dial = Arc::new(OwnServer { url: state.ws_url.clone() });
    // The rate is for the whole run; each pair sends its share.
    let interval = request.rate.map(|rate| Duration::from_secs_f64(request.pairs as f64 / rate as f64));
    let plan = Arc::new(PairPlan {
        interval,
        window: WINDOW,
        // Lab devices live with the lab's compressed presence TTL; heartbeat to match it.
        heartbeat: Duration::from_millis((state.config.lab_presence_ttl_ms / 4).max(25)),
        body: "load".into(),
        reconnect_delay: |_| RECONNECT_AFTER,
    });
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let mut connecting = Vec::with_capacity(pairs);
    let mut index = 0;
    while !used.is_empty() {
        let mut two = used.drain(..2);
        let mut pair = Pair::new(index, two.next().expect("a sender"), two.next().expect("a recipient"));
        index += 1;
        let (dial, plan) = (dial.clone(), plan.clone());
        connecting.push(async move { pair.connect(&*dial, &plan, deadline).await.map(|()| pair) });
    }
    let connected = tokio::select! {
        _ = stop.cancelled() => return Err("the server is shutting down".into()),
        _ = tokio::time::sleep(CONNECT_TIMEOUT) => return Err("the load devices could not all connect in time".into()),
        connected = futures_util::future::join_all(connecting) => connected,
    };
    let connected: Vec<Pair> =
        connected.into_iter().collect::<Result<_, _>>().map_err(|e| format!("a load device could not connect: {e}"))?;

    let start = Instant::now();
    let send_end = start + Duration::from_secs(request.seconds as u64);
    slot.meter.start_sending(start);
    let handles: Vec<_> = connected
        .into_iter()
        .enumerate()
        .map(|(i, pair)| {
            // Spread the pairs' first sends over one interval so they do not send in lockstep.
            let phase = ((i as u64 * 389) % 997) as f64 / 997.0;
            let first_send = start + interval.map_or(Duration::ZERO, |interval| interval.mul_f64(phase));
            let times = Timetable { first_send, send_end, drain_end: send_end + DRAIN };
            let (dial, plan, meter, stop) = (dial.clone(), plan.clone(), slot.meter.clone(), stop.clone());
            tokio::spawn(async move {
                let (outcome, sender, recipient) = pair.run(&*dial, &plan, times, &mut &*meter, stop.cancelled()).await;
                // Only a run that waited its drain out may call a missing message lost; a
                // stopped run reports what it saw.
                if !outcome.stopped && !stop.is_cancelled() {
                    meter.settle(&outcome.ledger);
                }
                (sender, recipient)
            })
        })
        .collect();

    // One sample per whole second of sending; the drain's ticks count in the ledger only.
    for second in 0..request.seconds {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep_until(start + Duration::from_secs(second as u64 + 1)) => slot.meter.roll(second),
        }
    }
    slot.meter.set_state(LoadState::Draining);
    // The devices this run used go back first, in their order, then the spare ones.
    let mut returned = Vec::with_capacity(slot.devices.len() + pairs * 2);
    for handle in handles {
        if let Ok((sender, recipient)) = handle.await {
            returned.extend([sender, recipient]);
        }
    }
    returned.append(&mut slot.devices);
    slot.devices = returned;
    if stop.is_cancelled() {
        return Err("the server is shutting down".into());
    }
    Ok(())
}
