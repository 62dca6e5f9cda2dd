//! "Start here": the guided path through the labs (`bluetick_shared::guide`). The panel
//! narrates the step at hand from what the page's devices and labs really did, and moves
//! on when the real system shows the step happened. The student may skip a step, leave
//! the path and explore freely, or come back to it; where they were is kept in
//! `localStorage`, synced in an Effect.

use bluetick_shared::connection::ConnectionState;
use bluetick_shared::guide::{Guide, Moments};
use bluetick_shared::prediction::PredictionId;
use bluetick_shared::quiz::QuizState;
use leptos::prelude::*;

use crate::components::prediction::use_predictions;
use crate::live::lab_devices::LabDevices;

const STORAGE_KEY: &str = "bluetick.guide.v1";

/// What only a lab's own controls can tell the path: the pace and replay controls
/// report here when the student stepped a message to DELIVERED or replayed a run, the
/// fan-out when a group message reached every member, presence when Bob's expired, the
/// load panel when a run finished.
#[derive(Debug, Clone, Copy)]
pub struct GuideMoments {
    pub stepped: RwSignal<bool>,
    pub replayed: RwSignal<bool>,
    pub fanned_out: RwSignal<bool>,
    pub presence_expired: RwSignal<bool>,
    pub load_done: RwSignal<bool>,
}

pub fn provide_guide_moments() {
    provide_context(GuideMoments {
        stepped: RwSignal::new(false),
        replayed: RwSignal::new(false),
        fanned_out: RwSignal::new(false),
        presence_expired: RwSignal::new(false),
        load_done: RwSignal::new(false),
    });
}

/// The path's moments, if a path is on this page (take them while a component is made:
/// context is not there inside a spawned task).
pub fn guide_moments() -> Option<GuideMoments> {
    use_context::<GuideMoments>()
}

#[component]
pub fn GuidePanel(devices: LabDevices, quiz: RwSignal<QuizState>) -> impl IntoView {
    let saved = crate::storage::local().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    let guide = RwSignal::new(saved.map(|s| Guide::from_saved(&s)).unwrap_or_default());
    Effect::new(move || {
        let saved = guide.with(Guide::to_saved);
        if let Some(storage) = crate::storage::local() {
            let _ = storage.set_item(STORAGE_KEY, &saved);
        }
    });
    let moments = use_context::<GuideMoments>().expect("provide_guide_moments above the guide");
    let predictions = use_predictions();
    let you = devices.you.connection.signals().state;
    // RECONNECTING seen, then CONNECTED again: the phone found its way back.
    let saw_reconnecting = RwSignal::new(false);
    let reconnected = RwSignal::new(false);
    Effect::new(move || match you.get() {
        ConnectionState::Reconnecting => saw_reconnecting.set(true),
        ConnectionState::Connected if saw_reconnecting.get_untracked() => reconnected.set(true),
        _ => {}
    });
    let revealed = move |id| predictions.0.with(|book| book.record(id).and_then(|r| r.held()).is_some());
    let seen = Memo::new(move |_| Moments {
        you: you.get(),
        reconnected: reconnected.get(),
        offline_revealed: revealed(PredictionId::OfflineOrder),
        storm_revealed: revealed(PredictionId::RetryRows),
        stepped: moments.stepped.get(),
        replayed: moments.replayed.get(),
        fanned_out: moments.fanned_out.get(),
        presence_expired: moments.presence_expired.get(),
        secrecy_revealed: revealed(PredictionId::ForwardSecrecy),
        load_done: moments.load_done.get(),
        quiz_done: quiz.with(QuizState::is_finished),
    });
    Effect::new(move || {
        let seen = seen.get();
        if guide.with_untracked(|g| g.on) {
            guide.update(|g| {
                g.update(&seen);
            });
        }
    });
    let step = move || guide.with(Guide::current);
    view! {
        <aside class="guide" aria-labelledby="guide-title" data-testid="guide">
            <h2 id="guide-title" class="guide-title">"Start here"</h2>
            {move || match step() {
                None => view! {
                    <p class="guide-line">
                        {move || if guide.with(Guide::finished) && guide.with(|g| g.on) {
                            "You walked the whole path. Explore freely, or walk it again."
                        } else {
                            "A guided path through every lab, one step at a time, advancing when the real system shows it happened. Or explore freely."
                        }}
                    </p>
                    <div class="controls">
                        <button type="button" on:click=move |_| {
                            guide.update(Guide::start);
                            guide.update(|g| {
                                g.update(&seen.get_untracked());
                            });
                        }>
                            {move || if guide.with(|g| g.at > 0 && !g.finished()) { "Continue the guided path" } else { "Start the guided path" }}
                        </button>
                    </div>
                }
                .into_any(),
                Some(now) => view! {
                    <p class="guide-progress" data-testid="guide-progress">
                        {move || guide.with(Guide::progress)} ": " <strong>{now.title()}</strong>
                    </p>
                    <p class="guide-line" role="status" data-testid="guide-narration">
                        {move || now.narration(&seen.get())}
                    </p>
                    <div class="controls">
                        <a class="button-link" href=format!("#{}", now.section())>"Go to this lab"</a>
                        <button type="button" on:click=move |_| guide.update(Guide::skip)>"Skip this step"</button>
                        <button type="button" on:click=move |_| guide.update(Guide::leave)>"Leave the guide"</button>
                    </div>
                }
                .into_any(),
            }}
        </aside>
    }
}
