//! The student's class, if they follow the lesson with one: joining from the link the
//! instructor shows (`/?class=CODE`) under a display name the student chooses, and
//! reporting what they do (sections seen, predictions, quiz answers, labs run) so the
//! instructor's `/teach` page can show the class live.
//!
//! Without a class nothing here sends anything: [`ClassLink::report`] is a no-op until
//! the lab has joined one.
//!
//! - [`join_banner`]: the join form, then which class the student is in;
//! - [`projector_screen`]: the run the instructor put on the projector, live and
//!   read-only, over a [`watch_socket`] (the instructor's board uses the same socket).

pub mod join_banner;
pub mod projector_screen;
pub mod watch_socket;

use std::collections::HashSet;

use bluetick_shared::class::{JoinClass, Joined, Progress, clean_code};
use leptos::prelude::*;

use crate::components::guide::GuideMoments;
use crate::lab::api::{ApiError, call};
use crate::lab::{Lab, LabStatus};

/// The page's tie to its class, shared through context.
#[derive(Debug, Clone, Copy)]
pub struct ClassLink {
    /// The class the lab is in, once the server said so.
    pub joined: RwSignal<Option<Joined>>,
    lab: RwSignal<Option<Lab>>,
    /// Sections and labs already reported since the page loaded (each is worth one
    /// report; answers are always sent, a changed answer matters).
    sent: StoredValue<HashSet<(String, String)>>,
}

/// The join code in the page's address (`?class=…`), if it holds one.
pub fn code_in_address() -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    let params = web_sys::UrlSearchParams::new_with_str(&search).ok()?;
    clean_code(&params.get("class")?)
}

impl ClassLink {
    /// Joins the class with `code` as `name`; the answer's sentence on refusal.
    pub async fn join(&self, code: &str, name: &str) -> Result<Joined, ApiError> {
        let Some(lab) = self.lab.get_untracked() else {
            return Err(ApiError { status: 0, message: "your lab is not ready yet".into() });
        };
        let body = serde_json::to_string(&JoinClass { code: code.into(), name: name.into() }).expect("serializes");
        let joined: Joined = call("POST", "/api/class/join", Some(lab.you()), Some(body)).await?;
        self.joined.try_set(Some(joined.clone()));
        Ok(joined)
    }

    /// The student's lab, once it is ready.
    pub fn lab(&self) -> Option<Lab> {
        self.lab.get_untracked()
    }

    /// Tells the class about `progress`, if the lab is in one. Best effort: a lost
    /// report costs the instructor one cell, never the student's lab.
    pub fn report(&self, progress: Progress) {
        if self.joined.with_untracked(Option::is_none) {
            return;
        }
        let Some(lab) = self.lab.get_untracked() else { return };
        if matches!(progress, Progress::Section { .. } | Progress::Lab { .. }) {
            let first = self
                .sent
                .try_update_value(|sent| sent.insert((progress.kind().to_string(), progress.key().to_string())));
            if first != Some(true) {
                return;
            }
        }
        let body = serde_json::to_string(&progress).expect("serializes");
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = call::<()>("POST", "/api/class/progress", Some(lab.you()), Some(body)).await {
                web_sys::console::warn_1(&format!("bluetick: a progress report was not kept: {e}").into());
            }
        });
    }
}

/// Provides the page's [`ClassLink`]: once the lab is ready it asks the server whether
/// the lab is in a class, and reports the guided path's lab moments as they happen.
pub fn provide_class(status: RwSignal<LabStatus>, moments: Option<GuideMoments>) -> ClassLink {
    let link =
        ClassLink { joined: RwSignal::new(None), lab: RwSignal::new(None), sent: StoredValue::new(HashSet::new()) };
    provide_context(link);
    Effect::new(move || {
        if let LabStatus::Ready(lab) = status.get()
            && link.lab.with_untracked(Option::is_none)
        {
            link.lab.set(Some(lab.clone()));
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(Some(joined)) = call::<Option<Joined>>("GET", "/api/class", Some(lab.you()), None).await {
                    link.joined.try_set(Some(joined));
                }
            });
        }
    });
    if let Some(moments) = moments {
        for (signal, lab) in [
            (moments.stepped, "step"),
            (moments.replayed, "replay"),
            (moments.fanned_out, "fanout"),
            (moments.presence_expired, "presence"),
            (moments.load_done, "load"),
        ] {
            Effect::new(move || {
                // Joining later still reports what was done before.
                if signal.get() && link.joined.with(Option::is_some) {
                    link.report(Progress::Lab { key: lab.into() });
                }
            });
        }
    }
    link
}

/// The page's class link (from [`provide_class`]), if there is one.
pub fn use_class() -> Option<ClassLink> {
    use_context::<ClassLink>()
}
