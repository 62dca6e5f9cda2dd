//! The lab's pace: run the real pipeline live, in slow motion, or one hop at a time.
//! The server holds this lab's messages at each hop (see the backend's `lab::pace`); the
//! page only asks for the pace and for the next hop, and shows what waits. The tick lab,
//! the offline queue and the fan-out each draw this control over the one
//! [`LabPace`] of the page, so all three show the same pace.

use bluetick_shared::lab::{MAX_SLOW_HOP_MS, MIN_SLOW_HOP_MS, Pace, PaceView};
use leptos::prelude::*;

use crate::components::guide::guide_moments;
use crate::lab::pace::{LabPace, delivers};

/// The slow-motion waits a student can pick, in ms.
const SLOW_CHOICES: [u64; 3] = [300, 1_000, 2_000];

/// `place` names the section it is drawn in, so that its ids and radio group are its
/// own; `stepping` says what one "next hop" does in this section.
#[component]
pub fn PaceControl(pace: LabPace, place: &'static str, stepping: &'static str) -> impl IntoView {
    let said = RwSignal::new(None::<String>);
    let moments = guide_moments();
    let set = move |to: Pace| {
        wasm_bindgen_futures::spawn_local(async move {
            said.set(pace.set(to).await.err());
        });
    };
    let next = move |_| {
        wasm_bindgen_futures::spawn_local(async move {
            match pace.next().await {
                Ok(released) => {
                    if delivers(&released)
                        && let Some(moments) = moments
                    {
                        moments.stepped.set(true);
                    }
                    said.set(Some(format!("Let go: {}.", released.step())));
                }
                Err(why) => said.set(Some(why)),
            }
        });
    };
    let mode = move || pace.view.with(|v| v.pace);
    let title = format!("pace-title-{place}");
    let labelled_by = title.clone();
    let hop_ms_id = format!("pace-hop-ms-{place}");
    let group = format!("pace-{place}");
    view! {
        <div class="pace" role="group" aria-labelledby=labelled_by data-place=place>
            <h4 id=title>"Pace of this lab's pipeline"</h4>
            <p class="pace-scope">{stepping}</p>
            <fieldset class="controls pace-modes">
                <legend class="visually-hidden">"Pace"</legend>
                <label>
                    <input type="radio" name=group.clone() value="live" prop:checked=move || mode() == Pace::Live
                        on:change=move |_| set(Pace::Live) />
                    "Live"
                </label>
                <label>
                    <input type="radio" name=group.clone() value="slow"
                        prop:checked=move || matches!(mode(), Pace::Slow { .. })
                        on:change=move |_| set(Pace::Slow { hop_ms: pace.hop_ms.get_untracked() }) />
                    "Slow motion"
                </label>
                <label>
                    <input type="radio" name=group value="step" prop:checked=move || mode() == Pace::Step
                        on:change=move |_| set(Pace::Step) />
                    "One hop at a time"
                </label>
            </fieldset>
            <div class="controls">
                <label for=hop_ms_id.clone()>"In slow motion each hop waits"</label>
                <select id=hop_ms_id on:change=move |e| {
                    let ms = event_target_value(&e).parse().unwrap_or(1_000u64);
                    pace.hop_ms.set(ms.clamp(MIN_SLOW_HOP_MS, MAX_SLOW_HOP_MS));
                    if matches!(mode(), Pace::Slow { .. }) {
                        set(Pace::Slow { hop_ms: pace.hop_ms.get_untracked() });
                    }
                }>
                    {SLOW_CHOICES
                        .into_iter()
                        .map(|ms| view! {
                            <option value=ms.to_string() selected=move || pace.hop_ms.get() == ms>{wait_words(ms)}</option>
                        })
                        .collect_view()}
                </select>
                // Never disabled, so focus stays here between presses; with nothing
                // waiting the server's answer says so.
                <button type="button" class="next-hop" on:click=next>"Next hop"</button>
            </div>
            <p class="pace-line" data-testid="pace-line" role="status">
                {move || pace.view.with(pace_words)}
            </p>
            {move || said.get().map(|s| view! { <p class="pace-said" data-testid="pace-said">{s}</p> })}
        </div>
    }
}

fn wait_words(ms: u64) -> String {
    if ms < 1_000 { format!("{ms} ms") } else { format!("{} s", ms / 1_000) }
}

/// The pace in force and, in step mode, what waits: said, not only drawn.
fn pace_words(view: &PaceView) -> String {
    match view.pace {
        Pace::Live => "Live: every hop runs at the server's full speed (a few milliseconds).".into(),
        Pace::Slow { hop_ms } => {
            format!("Slow motion: each hop of this lab's messages waits {} first.", wait_words(hop_ms))
        }
        Pace::Step => match view.held.first() {
            None => "One hop at a time: send a message, then press \"Next hop\" for each step.".into(),
            Some(hop) => format!(
                "One hop at a time: {} waiting{}. Next: {}.",
                view.held.len(),
                if view.held.len() == 1 { "" } else { ", oldest first" },
                hop.step()
            ),
        },
    }
}
