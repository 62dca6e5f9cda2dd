//! A lab's pace: the real pipeline at full speed, in slow motion, or one hop at a time.
//!
//! A message's way from `send` to blue ticks takes a few milliseconds, too fast to watch.
//! Each step of delivery (the commit answered SENT, the recipient look-up, the push to
//! each device, the DELIVERED and READ receipts going back) first passes this lab's
//! [`Gate`]: open when the lab runs live, a fixed wait in slow motion, and in step mode a
//! wait until the student asks for the next hop (`POST /api/lab/pace/next`), oldest held
//! hop first. The step itself runs unchanged once let through, so what the student steps
//! through is the server's own pipeline, not a replay of it.
//!
//! Only the lab's own phones (You, Alice, Bob) are paced. Its load pairs and crowd
//! members always run live, and so does every other lab: a gate belongs to one lab and
//! holds only that lab's delivery tasks. Holding never weakens a guarantee: the message
//! is committed before its first gate, its inbox sequence is fixed, and a device that
//! reconnects while a push waits gets it from its inbox as always.
//!
//! Paces live in memory, like the lab's other controls: a restart runs every lab live.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bluetick_shared::frames::{DeviceId, MessageId, TraceStage};
use bluetick_shared::lab::{HeldHop, LAB_DEVICE_NAMES, LabId, MAX_HELD_HOPS, Pace, PaceView};
use tokio::sync::oneshot;

use crate::clock::Clock;
use crate::store::DeviceIdentity;

#[derive(Debug, Default)]
pub struct Pacing {
    clock: Clock,
    labs: Mutex<HashMap<LabId, LabPace>>,
    /// Labs not running live, so that a gate costs one atomic load when none is paced
    /// (the usual case, and always the case under load).
    paced: AtomicUsize,
}

#[derive(Debug, Default)]
struct LabPace {
    pace: Pace,
    /// Step mode's waiting hops, oldest first, each with the sender that lets it go.
    held: VecDeque<(HeldHop, oneshot::Sender<()>)>,
}

/// What one step of delivery must do before it runs.
#[derive(Debug)]
pub enum Gate {
    /// Go ahead.
    Open,
    /// Slow motion: wait this long.
    Sleep(Duration),
    /// Step mode: wait until the student lets this hop go (or the lab stops stepping).
    Held(oneshot::Receiver<()>),
    /// Step mode with [`MAX_HELD_HOPS`] already waiting: go ahead, and say why.
    Overflow,
}

impl Gate {
    /// What the `paced` trace of a step that waits says, if it waits (or would have);
    /// `step` names the step, as [`HeldHop::step`] does.
    pub fn note(&self, step: &str) -> Option<String> {
        match self {
            Gate::Open => None,
            Gate::Sleep(wait) => Some(format!("slow motion: waits {} ms before {step}", wait.as_millis())),
            Gate::Held(_) => Some(format!("step mode: waits for \"Next hop\" before {step}")),
            Gate::Overflow => Some(format!("step mode: {MAX_HELD_HOPS} hops already wait; {step} goes ahead")),
        }
    }

    /// Waits as the gate says.
    pub async fn pass(self, clock: &Clock) {
        match self {
            Gate::Open | Gate::Overflow => {}
            Gate::Sleep(wait) => clock.sleep(wait).await,
            // Dropped (the lab went live or was deleted) lets it go as well.
            Gate::Held(released) => {
                let _ = released.await;
            }
        }
    }
}

impl Pacing {
    pub fn new(clock: Clock) -> Pacing {
        Pacing { clock, ..Pacing::default() }
    }

    /// The lab whose pace `device`'s messages follow: its lab, if it is one of the lab's
    /// own phones.
    pub fn lab_of(device: &DeviceIdentity) -> Option<LabId> {
        device.lab.filter(|_| LAB_DEVICE_NAMES.contains(&device.name.as_str()))
    }

    /// The gate for message `id`'s next step `stage` in `lab` (`None`: not paced).
    pub fn gate(&self, lab: Option<LabId>, id: MessageId, stage: TraceStage, device: Option<DeviceId>) -> Gate {
        self.gate_hop(lab, || HeldHop { message_id: id, stage, device, batch: None, since: self.clock.unix_millis() })
    }

    /// The gate for group message `id`'s fan-out batch `batch` (from 1) in `lab`: a
    /// group's hop is a batch of members, not each member's push.
    pub fn gate_batch(&self, lab: Option<LabId>, id: MessageId, batch: u32) -> Gate {
        self.gate_hop(lab, || HeldHop {
            message_id: id,
            stage: TraceStage::Pushed,
            device: None,
            batch: Some(batch),
            since: self.clock.unix_millis(),
        })
    }

    fn gate_hop(&self, lab: Option<LabId>, hop: impl FnOnce() -> HeldHop) -> Gate {
        let Some(lab) = lab else { return Gate::Open };
        if self.paced.load(Ordering::Relaxed) == 0 {
            return Gate::Open;
        }
        let mut labs = self.labs.lock().unwrap();
        let Some(paced) = labs.get_mut(&lab) else { return Gate::Open };
        match paced.pace {
            Pace::Live => Gate::Open,
            Pace::Slow { hop_ms } => Gate::Sleep(Duration::from_millis(hop_ms)),
            Pace::Step if paced.held.len() >= MAX_HELD_HOPS => Gate::Overflow,
            Pace::Step => {
                let (release, released) = oneshot::channel();
                paced.held.push_back((hop(), release));
                Gate::Held(released)
            }
        }
    }

    /// Whether `lab` runs at anything but full speed.
    pub fn is_paced(&self, lab: Option<LabId>) -> bool {
        let Some(lab) = lab else { return false };
        self.paced.load(Ordering::Relaxed) > 0
            && self.labs.lock().unwrap().get(&lab).is_some_and(|p| p.pace != Pace::Live)
    }

    pub fn view(&self, lab: LabId) -> PaceView {
        let labs = self.labs.lock().unwrap();
        match labs.get(&lab) {
            Some(paced) => PaceView { pace: paced.pace, held: paced.held.iter().map(|(hop, _)| hop.clone()).collect() },
            None => PaceView { pace: Pace::Live, held: Vec::new() },
        }
    }

    /// Sets `lab`'s pace. Leaving step mode lets every waiting hop go, oldest first.
    pub fn set(&self, lab: LabId, pace: Pace) -> PaceView {
        let mut labs = self.labs.lock().unwrap();
        let was_paced = labs.get(&lab).is_some_and(|p| p.pace != Pace::Live);
        let entry = labs.entry(lab).or_default();
        entry.pace = pace;
        if pace != Pace::Step {
            for (_, release) in entry.held.drain(..) {
                let _ = release.send(());
            }
        }
        match (was_paced, pace != Pace::Live) {
            (false, true) => {
                self.paced.fetch_add(1, Ordering::Relaxed);
            }
            (true, false) => {
                self.paced.fetch_sub(1, Ordering::Relaxed);
            }
            _ => {}
        }
        if pace == Pace::Live {
            labs.remove(&lab);
        }
        drop(labs);
        self.view(lab)
    }

    /// Lets `lab`'s oldest waiting hop go; `None` if none waits.
    pub fn next(&self, lab: LabId) -> Option<HeldHop> {
        let mut labs = self.labs.lock().unwrap();
        let paced = labs.get_mut(&lab)?;
        // A hop whose task is gone (its connection closed) is skipped: letting it go
        // would show nothing.
        while let Some((hop, release)) = paced.held.pop_front() {
            if release.send(()).is_ok() {
                return Some(hop);
            }
        }
        None
    }

    /// A deleted lab: its waiting hops go, its pace is forgotten.
    pub fn forget(&self, lab: LabId) {
        self.set(lab, Pace::Live);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bluetick_shared::lab::paced_step;
    use uuid::Uuid;

    fn id() -> MessageId {
        Uuid::now_v7()
    }

    #[tokio::test]
    async fn step_mode_lets_hops_go_oldest_first_and_only_in_its_own_lab() {
        let pacing = Pacing::default();
        let (mine, other) = (Uuid::now_v7(), Uuid::now_v7());
        pacing.set(mine, Pace::Step);
        let (first, second) = (id(), id());
        let Gate::Held(mut a) = pacing.gate(Some(mine), first, TraceStage::Stored, None) else { panic!("not held") };
        let Gate::Held(mut b) = pacing.gate(Some(mine), second, TraceStage::Stored, None) else { panic!("not held") };
        assert!(matches!(pacing.gate(Some(other), id(), TraceStage::Stored, None), Gate::Open));
        assert!(matches!(pacing.gate(None, id(), TraceStage::Stored, None), Gate::Open));
        assert_eq!(pacing.view(mine).held.len(), 2);

        assert_eq!(pacing.next(mine).map(|h| h.message_id), Some(first));
        assert!(a.try_recv().is_ok());
        assert!(b.try_recv().is_err(), "the second hop still waits");
        assert_eq!(pacing.next(mine).map(|h| h.message_id), Some(second));
        assert!(pacing.next(mine).is_none());
    }

    #[tokio::test]
    async fn going_live_lets_every_waiting_hop_go() {
        let pacing = Pacing::default();
        let lab = Uuid::now_v7();
        pacing.set(lab, Pace::Step);
        let Gate::Held(held) = pacing.gate(Some(lab), id(), TraceStage::Pushed, None) else { panic!("not held") };
        let view = pacing.set(lab, Pace::Live);
        assert!(view.held.is_empty());
        held.await.expect("let go, not dropped");
        assert!(matches!(pacing.gate(Some(lab), id(), TraceStage::Pushed, None), Gate::Open));
        assert!(!pacing.is_paced(Some(lab)));
    }

    #[tokio::test]
    async fn a_full_step_queue_lets_further_hops_through_and_says_so() {
        let pacing = Pacing::default();
        let lab = Uuid::now_v7();
        pacing.set(lab, Pace::Step);
        let held: Vec<_> = (0..MAX_HELD_HOPS).map(|_| pacing.gate(Some(lab), id(), TraceStage::Acked, None)).collect();
        assert!(held.iter().all(|g| matches!(g, Gate::Held(_))));
        let overflow = pacing.gate(Some(lab), id(), TraceStage::Acked, None);
        assert!(overflow.note("the DELIVERED receipt").unwrap().contains("already wait"));
    }

    #[test]
    fn slow_motion_waits_the_set_time() {
        let pacing = Pacing::default();
        let lab = Uuid::now_v7();
        pacing.set(lab, Pace::Slow { hop_ms: 700 });
        let gate = pacing.gate(Some(lab), id(), TraceStage::RecipientLookup, None);
        assert!(matches!(gate, Gate::Sleep(d) if d == Duration::from_millis(700)));
        assert_eq!(
            gate.note(paced_step(TraceStage::RecipientLookup)).unwrap(),
            "slow motion: waits 700 ms before the recipient look-up"
        );
    }
}
