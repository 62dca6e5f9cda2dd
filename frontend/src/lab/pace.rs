//! The lab's pace as the page knows it. The server paces the whole lab (its three
//! phones), not one section, so the page keeps one [`LabPace`] and every section that
//! shows a pace control (the tick lab, the offline queue, the fan-out) shows the same
//! pace and the same waiting hops.

use bluetick_shared::frames::TraceStage;
use bluetick_shared::lab::{HeldHop, Pace, PaceView};
use bluetick_shared::phone::SentMessage;
use leptos::prelude::*;

use super::Lab;

/// The pace in force, what waits, and the slow-motion wait the student picked.
#[derive(Debug, Clone, Copy)]
pub struct LabPace {
    pub view: RwSignal<PaceView>,
    /// The wait per hop a switch to slow motion asks for, in ms.
    pub hop_ms: RwSignal<u64>,
    lab: StoredValue<Lab>,
    // Answers can come back out of order (a trace's refresh and a press race): only an
    // answer to a later request than the one shown replaces it.
    requests: StoredValue<u64>,
    shown: StoredValue<u64>,
}

impl LabPace {
    /// The lab's pace, asked of the server now and again whenever one of Alice's
    /// messages starts to wait at a hop (a `paced` trace: every paced hop of the lab is
    /// traced to its sender, Alice, whichever section sent it).
    pub fn new(lab: &Lab, alice_sent: RwSignal<Vec<SentMessage>>) -> LabPace {
        let pace = LabPace {
            view: RwSignal::new(PaceView { pace: Pace::Live, held: Vec::new() }),
            hop_ms: RwSignal::new(1_000),
            lab: StoredValue::new(lab.clone()),
            requests: StoredValue::new(0),
            shown: StoredValue::new(0),
        };
        pace.refresh();
        let paced_traces = Memo::new(move |_| {
            alice_sent.with(|all| all.iter().flat_map(|m| &m.stages).filter(|s| s.stage == TraceStage::Paced).count())
        });
        Effect::new(move |_| {
            // Read, not only tracked: a memo is lazy and one never read never changes.
            paced_traces.get();
            if pace.view.get_untracked().pace == Pace::Step {
                pace.refresh();
            }
        });
        pace
    }

    fn ask(self) -> u64 {
        self.requests.update_value(|n| *n += 1);
        self.requests.get_value()
    }

    fn show(self, asked: u64, now: PaceView) {
        if asked > self.shown.get_value() {
            self.shown.set_value(asked);
            self.view.set(now);
        }
    }

    /// Asks the server again what the pace is and what waits.
    pub fn refresh(self) {
        let asked = self.ask();
        let lab = self.lab.get_value();
        wasm_bindgen_futures::spawn_local(async move {
            if let Ok(now) = lab.pace().await {
                self.show(asked, now);
            }
        });
    }

    /// Runs the lab live, in slow motion or one hop at a time; the error is said.
    pub async fn set(self, pace: Pace) -> Result<(), String> {
        let asked = self.ask();
        match self.lab.get_value().set_pace(pace).await {
            Ok(now) => {
                self.show(asked, now);
                Ok(())
            }
            Err(e) => Err(format!("Could not set the pace: {e}")),
        }
    }

    /// In step mode, lets the oldest waiting hop go and returns it; otherwise says why
    /// nothing moved.
    pub async fn next(self) -> Result<HeldHop, String> {
        let lab = self.lab.get_value();
        // Look before asking: with nothing waiting the server would refuse (409), and
        // the student should hear why rather than see an error.
        let asked = self.ask();
        if let Ok(now) = lab.pace().await {
            let waiting = !now.held.is_empty();
            let stepping = now.pace == Pace::Step;
            self.show(asked, now);
            if !waiting {
                return Err(if stepping {
                    "No hop is waiting: send a message first.".into()
                } else {
                    "Choose \"One hop at a time\" first: this lab is not stepping.".into()
                });
            }
        }
        let asked = self.ask();
        match lab.next_hop().await {
            Ok(done) => {
                self.show(asked, done.view);
                Ok(done.released)
            }
            Err(e) => Err(e.message),
        }
    }
}

/// Whether a released hop is the one that turns a message DELIVERED.
pub fn delivers(hop: &HeldHop) -> bool {
    hop.stage == TraceStage::Acked && hop.batch.is_none()
}
