//! The instructor's projector: put a load run on every student's page at once, watch it
//! here with the same charts and figures, and take it off again. The run joins the
//! server's line at the front (the whole class waits for it); students can only watch.

use bluetick_shared::class::ClassId;
use bluetick_shared::lab_load::{LoadCaps, LoadRequest, LoadView, MAX_LOAD_RATE};
use leptos::prelude::*;

use crate::lab::api::call_with;
use crate::lessons::scale::load_chart::LoadChart;
use crate::lessons::scale::load_figures::{LoadFigures, rates_summary, run_status};

/// Until the server says otherwise (its answer carries its caps).
const DEFAULT_CAPS: LoadCaps = LoadCaps { max_pairs: 50, max_seconds: 20, max_rate: MAX_LOAD_RATE };

#[component]
pub fn ProjectorCard(class: ClassId, token: String, #[prop(into)] shown: Signal<Option<LoadView>>) -> impl IntoView {
    let pairs = RwSignal::new(20u32);
    let seconds = RwSignal::new(10u32);
    let problem = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let caps = RwSignal::new(DEFAULT_CAPS);
    Effect::new(move || {
        if let Some(c) = shown.with(|v| v.as_ref().map(|v| v.caps)) {
            caps.set(c);
        }
    });
    let path = format!("/api/classes/{class}/projector");
    let run = Signal::derive(move || shown.with(|v| v.as_ref().and_then(|v| v.run.clone())));
    let going = move || run.with(|r| r.as_ref().is_some_and(|r| !r.state.is_over()));
    let start = {
        let (path, token) = (path.clone(), token.clone());
        move |e: leptos::ev::SubmitEvent| {
            e.prevent_default();
            let request = LoadRequest { pairs: pairs.get_untracked(), seconds: seconds.get_untracked(), rate: None };
            let body = serde_json::to_string(&request).expect("serializes");
            let (path, token) = (path.clone(), token.clone());
            busy.set(true);
            problem.set(None);
            wasm_bindgen_futures::spawn_local(async move {
                // The run's progress arrives over the watch socket; the answer only says
                // whether it was taken.
                if let Err(e) = call_with::<LoadView>("POST", &path, Some(&token), Some(body)).await {
                    problem.try_set(Some(format!("The server refused: {e}")));
                }
                busy.try_set(false);
            });
        }
    };
    let clear = move |_| {
        let (path, token) = (path.clone(), token.clone());
        problem.set(None);
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = call_with::<()>("DELETE", &path, Some(&token), None).await {
                problem.try_set(Some(format!("Could not clear the projector: {e}")));
            }
        });
    };
    let field = move |e: &web_sys::Event, cap: u32, default: u32| {
        event_target_value(e).trim().parse::<u32>().unwrap_or(default).clamp(1, cap)
    };
    let status = move || {
        shown.with(|v| match v.as_ref().and_then(|v| v.run.as_ref().map(|r| (v, r))) {
            Some((v, r)) => (r.state.label(), run_status(r, v.queue_position, v.queued)),
            None => (
                "idle",
                "Nothing on the projector. Start a run and every student's page shows it live, read-only.".into(),
            ),
        })
    };
    let summary = Signal::derive(move || run.with(|r| rates_summary(r.as_ref())));
    view! {
        <section class="teach-projector" aria-labelledby="teach-projector-title" data-testid="teach-projector">
            <h3 id="teach-projector-title">"On the projector"</h3>
            <p>
                "A load run of real device pairs on this server, shown on every student's page at once. It goes \
                 next in the server's line of runs; a student's run that has started finishes first."
            </p>
            <form class="load-controls" on:submit=start>
                <div class="field">
                    <label for="projector-pairs">{move || format!("Pairs (1–{})", caps.get().max_pairs)}</label>
                    <input id="projector-pairs" type="number" min="1" inputmode="numeric"
                        max=move || caps.get().max_pairs.to_string()
                        prop:value=move || pairs.get().to_string()
                        on:change=move |e| pairs.set(field(&e, caps.get_untracked().max_pairs, 20)) />
                </div>
                <div class="field">
                    <label for="projector-seconds">{move || format!("Seconds (1–{})", caps.get().max_seconds)}</label>
                    <input id="projector-seconds" type="number" min="1" inputmode="numeric"
                        max=move || caps.get().max_seconds.to_string()
                        prop:value=move || seconds.get().to_string()
                        on:change=move |e| seconds.set(field(&e, caps.get_untracked().max_seconds, 10)) />
                </div>
                <button type="submit" disabled=move || going() || busy.get()>"Show a load run to the class"</button>
                <button type="button" on:click=clear disabled=move || shown.with(Option::is_none)>
                    "Take it off the projector"
                </button>
            </form>
            {move || problem.get().map(|p| view! { <p class="lab-error" role="alert">{p}</p> })}
            <p class="load-status" data-testid="teach-projector-status" role="status" aria-live="polite"
                data-state=move || status().0>
                <span class="load-pulse" aria-hidden="true"></span>
                {move || status().1}
            </p>
            {move || run.with(|r| r.is_some()).then(|| view! {
                <LoadChart run summary id="teach-projector" />
                <LoadFigures run id="teach-projector" />
            })}
        </section>
    }
}
