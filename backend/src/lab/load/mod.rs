//! The lab's load run: a student asks for N sender/recipient pairs for a few seconds and
//! watches messages per second and p99 latency against the lesson's 58K line.
//!
//! The pairs are real devices registered in the student's lab, talking to this server
//! over real WebSockets through the normal gateway, so every message is stored, pushed,
//! acknowledged and ticked exactly as a phone's would be (the client library's
//! [`bluetick_client::pair`] driver, the same one `bluetick-load` runs); [`meter`] keeps the
//! per-second samples and the ledger. A run is bounded (pairs and seconds are capped by
//! flags) and only one runs per server at a time, so a classroom cannot knock it over.
//! Each lab keeps its load devices (and their inbox positions) for its next run; they go
//! when the lab is deleted.

pub mod meter;

use std::collections::HashMap;
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

/// Why a run could not start: one is already going, in this lab (`mine`) or another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    pub mine: bool,
}

/// Every lab's load devices and latest run, and which lab holds the server's one run.
#[derive(Default)]
pub struct LoadRuns {
    inner: Mutex<Inner>,
    stop: CancellationToken,
    tasks: TaskTracker,
}

#[derive(Default)]
struct Inner {
    running: Option<LabId>,
    labs: HashMap<LabId, LabLoad>,
}

#[derive(Default)]
struct LabLoad {
    /// Sender, recipient, sender, recipient, …: kept between runs.
    devices: Vec<DeviceState>,
    latest: Option<Arc<Meter>>,
}

impl LoadRuns {
    /// Starts a run in `lab`, unless one is going anywhere on this server.
    pub fn start(self: &Arc<Self>, state: AppState, lab: LabId, request: LoadRequest) -> Result<Arc<Meter>, Busy> {
        let meter = Arc::new(Meter::new(request));
        let devices = {
            let mut inner = self.inner.lock().unwrap();
            if let Some(running) = inner.running {
                return Err(Busy { mine: running == lab });
            }
            inner.running = Some(lab);
            let load = inner.labs.entry(lab).or_default();
            load.latest = Some(meter.clone());
            std::mem::take(&mut load.devices)
        };
        let slot = Slot { runs: self.clone(), lab, meter: meter.clone(), devices, outcome: None };
        self.tasks.spawn(drive(state, slot, request, self.stop.clone()));
        tracing::info!(%lab, pairs = request.pairs, seconds = request.seconds, rate = ?request.rate, "load run started");
        Ok(meter)
    }

    /// Whether another lab's run holds the server, and this lab's latest run.
    pub fn view(&self, lab: LabId) -> (bool, Option<Arc<Meter>>) {
        let inner = self.inner.lock().unwrap();
        let busy_elsewhere = inner.running.is_some_and(|running| running != lab);
        (busy_elsewhere, inner.labs.get(&lab).and_then(|l| l.latest.clone()))
    }

    /// Forgets a deleted lab's devices and runs.
    pub fn forget(&self, lab: LabId) {
        self.inner.lock().unwrap().labs.remove(&lab);
    }

    /// Stops any run and waits for its devices to disconnect (server shutdown).
    pub async fn stop_all(&self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
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
        {
            let mut inner = self.runs.inner.lock().unwrap();
            inner.running = None;
            inner.labs.entry(self.lab).or_default().devices = std::mem::take(&mut self.devices);
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
