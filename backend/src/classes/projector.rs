//! Projector mode: the instructor starts a load run that every student of the class
//! watches live on their own page, read-only.
//!
//! The run is an ordinary load run (real device pairs on real WebSockets, durable and
//! exactly once) in a lab of the class's own, the projector lab, made the first time and
//! made again if the idle sweep deleted it. It joins the server's one line of runs at
//! the front, since the whole class waits for it, but never stops a run that has
//! started. While it is shown, a broadcaster looks at it every [`EVERY`] and pushes each
//! change to the class's instructor pages and student pages. Students have no call that
//! can start, stop or clear it: the only calls that do take the instructor token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use bluetick_shared::class::{ClassFrame, ClassId, TeachFrame};
use bluetick_shared::lab::LabId;
use bluetick_shared::lab_load::{LoadRequest, LoadView};

use super::hub::Audience;
use crate::api::lab_load::{refused, view_of};
use crate::error::AppError;
use crate::lab::load::Line;
use crate::state::AppState;

/// How often a shown run is looked at for changes (its figures move once a second; its
/// state and place in the line at any time).
pub const EVERY: Duration = Duration::from_millis(250);
/// The projector lab's one device of its own (the load run registers its pairs).
const PROJECTOR_DEVICE: &str = "Projector";

/// Each class's projector: its lab, and whether a run is shown.
#[derive(Default)]
pub struct Projectors {
    inner: Mutex<HashMap<ClassId, Shown>>,
    /// One start at a time, so two clicks cannot make two projector labs.
    starting: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone, Copy)]
struct Shown {
    lab: LabId,
    visible: bool,
    broadcasting: bool,
    /// Bumped by every start, so a broadcaster about to stop sees a run it has not.
    generation: u64,
}

impl Projectors {
    /// The class's shown run, if the instructor put one on the projector.
    pub fn view(&self, state: &AppState, class: ClassId) -> Option<LoadView> {
        let shown = self.inner.lock().unwrap().get(&class).copied()?;
        shown.visible.then(|| view_of(state, shown.lab))
    }

    fn lab(&self, class: ClassId) -> Option<LabId> {
        self.inner.lock().unwrap().get(&class).map(|s| s.lab)
    }

    /// Shows `lab`'s run for `class`; whether a broadcaster must start.
    fn show(&self, class: ClassId, lab: LabId) -> bool {
        let mut inner = self.inner.lock().unwrap();
        let shown = inner.entry(class).or_insert(Shown { lab, visible: true, broadcasting: false, generation: 0 });
        shown.lab = lab;
        shown.visible = true;
        shown.generation += 1;
        !std::mem::replace(&mut shown.broadcasting, true)
    }

    /// The generation the broadcaster has seen.
    fn generation(&self, class: ClassId) -> u64 {
        self.inner.lock().unwrap().get(&class).map_or(0, |s| s.generation)
    }

    /// The broadcaster of `class` stops, unless a start came after `seen`.
    fn stop_broadcasting(&self, class: ClassId, seen: u64) -> bool {
        let mut inner = self.inner.lock().unwrap();
        match inner.get_mut(&class) {
            Some(shown) if shown.generation != seen => false,
            Some(shown) => {
                shown.broadcasting = false;
                true
            }
            None => true,
        }
    }

    /// Stops showing the class's run; its lab, if it had one.
    fn hide(&self, class: ClassId) -> Option<LabId> {
        let mut inner = self.inner.lock().unwrap();
        let shown = inner.get_mut(&class)?;
        shown.visible = false;
        Some(shown.lab)
    }

    /// Forgets a class's projector lab once the idle sweep deleted it.
    pub fn forget_lab(&self, lab: LabId) {
        self.inner.lock().unwrap().retain(|_, shown| shown.lab != lab || shown.broadcasting);
    }
}

/// Puts a run of `request` on `class`'s projector: it starts now, or goes next in the
/// line. Refusals are the load panel's (its run still going or already waiting, the line
/// full), said of the projector.
pub async fn start(state: &AppState, class: ClassId, request: LoadRequest) -> Result<LoadView, AppError> {
    let _one_at_a_time = state.projectors.starting.lock().await;
    let lab = match state.projectors.lab(class) {
        Some(lab) if !state.store.lab_members(lab, 1).await?.is_empty() => lab,
        _ => state.store.create_lab(&[PROJECTOR_DEVICE.into()]).await?.0,
    };
    state.labs.touch(lab);
    state.load.start(state.clone(), lab, request, Line::Front).map_err(|r| refused(r, "the projector's"))?;
    tracing::info!(%class, %lab, pairs = request.pairs, seconds = request.seconds, "projector run asked for");
    let view = view_of(state, lab);
    if state.projectors.show(class, lab) {
        let sockets = state.sockets.clone();
        sockets.spawn(broadcast(state.clone(), class));
    }
    Ok(view)
}

/// Takes the class's run off the projector: every page stops showing it, and a run still
/// waiting in the line leaves it (one that has started ends by itself in its seconds).
pub fn clear(state: &AppState, class: ClassId) {
    if let Some(lab) = state.projectors.hide(class) {
        state.load.leave_queue(lab);
    }
    publish(state, class, None);
}

fn publish(state: &AppState, class: ClassId, projector: Option<LoadView>) {
    let hub = &state.class_hub;
    hub.publish(class, Audience::Instructor, &TeachFrame::Projector { projector: projector.clone() });
    hub.publish(class, Audience::Students, &ClassFrame::Projector { projector });
}

/// Pushes each change of the class's shown run until it is over (or cleared) and no
/// newer run was put up meanwhile.
async fn broadcast(state: AppState, class: ClassId) {
    let mut last: Option<Option<LoadView>> = None;
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = state.shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let seen = state.projectors.generation(class);
        let now = state.projectors.view(&state, class);
        if last.as_ref() != Some(&now) {
            publish(&state, class, now.clone());
        }
        let settled =
            now.as_ref().is_none_or(|v| v.queue_position.is_none() && v.run.as_ref().is_none_or(|r| r.state.is_over()));
        last = Some(now);
        if settled && state.projectors.stop_broadcasting(class, seen) {
            return;
        }
    }
}
