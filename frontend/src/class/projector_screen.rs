//! The run the instructor put on the class's projector, on the student's own page: live
//! over the class socket (`/api/class/watch`, signed in with the lab's first device),
//! with the same charts and figures as the student's own load panel, and no control at
//! all: only the instructor starts, stops or clears it.

use bluetick_shared::class::{ClassFrame, WatchHello};
use bluetick_shared::lab_load::{LoadRun, LoadView};
use leptos::prelude::*;

use super::use_class;
use super::watch_socket::{WatchSocket, WatchState};
use crate::lessons::scale::load_chart::LoadChart;
use crate::lessons::scale::load_figures::{LoadFigures, rates_summary, run_status};
use crate::lessons::scale::load_panel::comparison;

const REFUSALS: &[(u16, &str)] =
    &[(4401, "the server did not accept this lab's device"), (4404, "your lab is not in a class")];

#[component]
pub fn ProjectorScreen() -> impl IntoView {
    let Some(link) = use_class() else { return ().into_any() };
    let shown = RwSignal::new(None::<LoadView>);
    let socket = StoredValue::new(None::<WatchSocket>);
    // The open socket's state, for the line that says it is reconnecting or refused.
    let socket_state = RwSignal::new(None::<RwSignal<WatchState>>);
    // (Re)open the class socket whenever the lab joins a class or moves to another.
    Effect::new(move || {
        let class = link.joined.with(|j| j.as_ref().map(|j| j.class_id));
        if let Some(Some(old)) = socket.try_get_value() {
            old.close();
        }
        shown.set(None);
        let (Some(_), Some(lab)) = (class, link.lab()) else { return };
        let you = lab.you();
        let hello = serde_json::to_string(&WatchHello { token: format!("{}:{}", you.device_id, you.token) })
            .expect("serializes");
        let watch = WatchSocket::open("/api/class/watch", hello, REFUSALS, move |text| {
            if let Ok(ClassFrame::Projector { projector }) = serde_json::from_str(text) {
                shown.try_set(projector);
            }
        });
        socket.set_value(Some(watch));
        socket_state.set(Some(watch.state));
    });
    on_cleanup(move || {
        if let Some(Some(watch)) = socket.try_get_value() {
            watch.close();
        }
    });
    let run = Signal::derive(move || shown.with(|v| v.as_ref().and_then(|v| v.run.clone())));
    // While the run goes and the student has scrolled past it, a link back stays in view.
    let section = NodeRef::<leptos::html::Section>::new();
    let scrolled_past = RwSignal::new(false);
    let scroll = window_event_listener(leptos::ev::scroll, move |_| {
        let below = section.get_untracked().is_some_and(|el| {
            let bottom = (el.offset_top() + el.offset_height()) as f64;
            web_sys::window().and_then(|w| w.scroll_y().ok()).is_some_and(|y| y > bottom)
        });
        scrolled_past.try_set(below);
    });
    on_cleanup(move || scroll.remove());
    let live = move || scrolled_past.get() && run.with(|r| r.as_ref().is_some_and(|r| !r.state.is_over()));
    let status = move || {
        shown.with(|v| {
            v.as_ref()
                .and_then(|v| v.run.as_ref().map(|r| (r.state.label(), run_status(r, v.queue_position, v.queued))))
        })
    };
    let summary = Signal::derive(move || run.with(|r| rates_summary(r.as_ref())));
    let connection = move || {
        socket_state.get().map(|s| s.get()).and_then(|state| match state {
            WatchState::Reconnecting => Some("◌ Reconnecting to the projector…".to_string()),
            WatchState::Refused(why) => Some(format!("✕ The projector cannot be shown: {why}.")),
            WatchState::Connecting | WatchState::Live => None,
        })
    };
    let described = |r: &LoadRun| {
        format!(
            "Your instructor started this load run for the whole class: {} pairs of real devices sending for {} s \
             through this server, every message stored, pushed and ticked. You are watching it live; only your \
             instructor can start or stop it.",
            r.request.pairs, r.request.seconds
        )
    };
    view! {
        {move || connection().map(|c| view! { <p class="class-banner" role="status">{c}</p> })}
        {move || live().then(|| view! {
            <a class="projector-toast" href="#projector" data-testid="projector-toast">
                <span aria-hidden="true">"▲ "</span>"Your instructor's run is live: watch it"
            </a>
        })}
        {move || run.with(|r| r.is_some()).then(|| view! {
            <section id="projector" class="projector" aria-labelledby="projector-title" data-testid="projector"
                node_ref=section>
                <h2 id="projector-title">"On your instructor's projector"</h2>
                <p>{move || run.with(|r| r.as_ref().map(described))}</p>
                <p class="load-status" data-testid="projector-status" role="status" aria-live="polite"
                    data-state=move || status().map(|s| s.0)>
                    <span class="load-pulse" aria-hidden="true"></span>
                    {move || status().map(|s| s.1)}
                </p>
                <LoadChart run summary id="projector" />
                <LoadFigures run id="projector" />
                <p class="load-compare">
                    {move || {
                        let cores = shown.with(|v| v.as_ref().map_or(1, |v| v.cores.max(1)));
                        run.with(|r| r.as_ref().and_then(|r| comparison(r, cores)))
                    }}
                </p>
            </section>
        })}
    }
    .into_any()
}
