//! Lab sandboxes at run time: each browser's controls (a compressed message expiry, an
//! injected outage per device) and the sweep that deletes labs nobody has used for a
//! while and stops crowds whose owner left.
//!
//! The controls live in memory: they are short-lived classroom effects, and a restart
//! ending them is what a student would expect of "the server restarted". The lab itself,
//! its devices and messages, are in the database (`store::sqlite::labs`).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use bluetick_shared::frames::DeviceId;
use bluetick_shared::lab::LabId;
use tokio::time::Instant;

use crate::clock::Clock;
use crate::state::AppState;

#[derive(Debug, Default)]
pub struct LabControls {
    /// Outages start and end on this clock (the server's).
    clock: Clock,
    labs: Mutex<HashMap<LabId, LabSettings>>,
    /// Labs used since the last sweep; the sweep writes their activity to the database
    /// in one transaction instead of one write per hello.
    active: Mutex<HashSet<LabId>>,
}

#[derive(Debug, Default)]
struct LabSettings {
    expiry_ms: Option<i64>,
    /// Devices refused until the instant, and the same as unix ms for the page.
    outages: HashMap<DeviceId, (Instant, i64)>,
}

impl LabControls {
    pub fn new(clock: Clock) -> LabControls {
        LabControls { clock, ..LabControls::default() }
    }

    /// Notes that `lab` is in use.
    pub fn touch(&self, lab: LabId) {
        self.active.lock().unwrap().insert(lab);
    }

    fn take_active(&self) -> Vec<LabId> {
        self.active.lock().unwrap().drain().collect()
    }

    /// The compressed expiry of messages sent in `lab`, if one is set.
    pub fn expiry_ms(&self, lab: LabId) -> Option<i64> {
        self.labs.lock().unwrap().get(&lab).and_then(|l| l.expiry_ms)
    }

    pub fn set_expiry_ms(&self, lab: LabId, expiry_ms: Option<i64>) {
        self.labs.lock().unwrap().entry(lab).or_default().expiry_ms = expiry_ms;
    }

    /// Refuses `device` for `duration` from now; returns when it ends, in unix ms.
    pub fn start_outage(&self, lab: LabId, device: DeviceId, duration: Duration) -> i64 {
        let until_ms = self.clock.unix_millis() + duration.as_millis() as i64;
        let mut labs = self.labs.lock().unwrap();
        labs.entry(lab).or_default().outages.insert(device, (self.clock.now() + duration, until_ms));
        until_ms
    }

    /// Lets `device` in again at once, if an outage refused it.
    pub fn end_outage(&self, lab: LabId, device: DeviceId) {
        if let Some(settings) = self.labs.lock().unwrap().get_mut(&lab) {
            settings.outages.remove(&device);
        }
    }

    /// How long `device` is still refused, if it is.
    pub fn outage_left(&self, lab: LabId, device: DeviceId) -> Option<Duration> {
        let mut labs = self.labs.lock().unwrap();
        let settings = labs.get_mut(&lab)?;
        let (until, _) = *settings.outages.get(&device)?;
        let left = until.checked_duration_since(self.clock.now()).filter(|d| !d.is_zero());
        if left.is_none() {
            settings.outages.remove(&device);
        }
        left
    }

    /// When `device`'s outage ends (unix ms), while one lasts.
    pub fn outage_until(&self, lab: LabId, device: DeviceId) -> Option<i64> {
        self.outage_left(lab, device)?;
        self.labs.lock().unwrap().get(&lab)?.outages.get(&device).map(|(_, ms)| *ms)
    }

    fn forget(&self, lab: LabId) {
        self.labs.lock().unwrap().remove(&lab);
        self.active.lock().unwrap().remove(&lab);
    }
}

/// Devices of a lab checked for live connections before it is deleted, at most.
const MEMBERS_CHECKED: i64 = 4096;

/// Every `lab_sweep_ms`: record which labs were used, then delete labs idle for longer
/// than `lab_idle_secs` with no device connected.
pub async fn sweep(state: AppState) {
    let every = Duration::from_millis(state.config.lab_sweep_ms.max(10));
    let idle = Duration::from_secs(state.config.lab_idle_secs);
    // The first sweep right away, then one `every` after the last one ended.
    let mut next = state.clock.now();
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = state.clock.sleep_until(next) => {}
        }
        if let Err(e) = sweep_once(&state, idle).await {
            tracing::warn!(error = %e, "lab sweep failed");
        }
        next = state.clock.now() + every;
    }
}

async fn sweep_once(state: &AppState, idle: Duration) -> Result<(), crate::store::StorageError> {
    let grace = Duration::from_secs(state.config.crowd_orphan_secs);
    let orphans =
        state.crowds.stop_orphans(|device| state.connections.is_online(device), grace, state.clock.now()).await;
    if orphans > 0 {
        tracing::info!(crowds = orphans, "stopped crowds whose owner went away");
    }
    let now = state.clock.unix_millis();
    let active = state.labs.take_active();
    if !active.is_empty() {
        state.store.touch_labs(&active, now).await?;
    }
    for lab in state.store.idle_labs(now - idle.as_millis() as i64).await? {
        let members = state.store.lab_members(lab, MEMBERS_CHECKED).await?;
        // A running crowd keeps its own members online; only the student's devices count.
        let crowd = state.crowds.crowd_users();
        if members.iter().any(|m| !crowd.contains(&m.user) && state.connections.is_online(m.device)) {
            // Someone is still here (a tab left open): not idle after all.
            state.store.touch_labs(&[lab], now).await?;
            continue;
        }
        state.crowds.stop_owned_by(members.iter().map(|m| m.user).collect()).await;
        state.store.delete_lab(lab).await?;
        state.labs.forget(lab);
        state.pacing.forget(lab);
        state.load.forget(lab);
        state.projectors.forget_lab(lab);
        state.lab_phones.forget(lab);
        tracing::info!(%lab, devices = members.len(), "idle lab deleted");
    }
    Ok(())
}
