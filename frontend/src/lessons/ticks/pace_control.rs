//! The lab's pace: run the real pipeline live, in slow motion, or one hop at a time.
//! The server holds this lab's messages at each hop (see the backend's `lab::pace`); the
//! page only asks for the pace and for the next hop, and shows what waits.

use bluetick_shared::lab::{MAX_SLOW_HOP_MS, MIN_SLOW_HOP_MS, Pace, PaceView, paced_step};
use leptos::prelude::*;

use crate::components::guide::guide_moments;
use crate::live::lab_devices::LabDevices;

/// The slow-motion waits a student can pick, in ms.
const SLOW_CHOICES: [u64; 3] = [300, 1_000, 2_000];

#[component]
pub fn PaceControl(devices: LabDevices) -> impl IntoView {
    let view = RwSignal::new(PaceView { pace: Pace::Live, held: Vec::new() });
    let hop_ms = RwSignal::new(1_000u64);
    let said = RwSignal::new(None::<String>);
    let lab = devices.lab.clone();
    // Answers can come back out of order (a trace's refresh and a press race): only an
    // answer to a later request than the one shown replaces it.
    let requests = StoredValue::new(0u64);
    let shown = StoredValue::new(0u64);
    let ask = move || {
        requests.update_value(|n| *n += 1);
        requests.get_value()
    };
    let show = move |asked: u64, now: PaceView| {
        if asked > shown.get_value() {
            shown.set_value(asked);
            view.set(now);
        }
    };
    let refresh = {
        let lab = lab.clone();
        move || {
            let lab = lab.clone();
            let asked = ask();
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(now) = lab.pace().await {
                    show(asked, now);
                }
            });
        }
    };
    refresh();
    // A hop that starts to wait arrives as a `paced` trace on Alice's phone: look again.
    let sent = devices.alice.signals.sent;
    let paced_traces = Memo::new(move |_| {
        sent.with(|all| {
            all.iter().flat_map(|m| &m.stages).filter(|s| s.stage == bluetick_shared::frames::TraceStage::Paced).count()
        })
    });
    {
        let refresh = refresh.clone();
        Effect::new(move |_| {
            // Read, not only tracked: a memo is lazy and one never read never changes.
            paced_traces.get();
            if view.get_untracked().pace == Pace::Step {
                refresh();
            }
        });
    }
    let set = {
        let lab = lab.clone();
        move |pace: Pace| {
            let lab = lab.clone();
            let asked = ask();
            wasm_bindgen_futures::spawn_local(async move {
                match lab.set_pace(pace).await {
                    Ok(now) => {
                        show(asked, now);
                        said.set(None);
                    }
                    Err(e) => said.set(Some(format!("Could not set the pace: {e}"))),
                }
            });
        }
    };
    let moments = guide_moments();
    let next = move |_| {
        let lab = lab.clone();
        let asked = ask();
        wasm_bindgen_futures::spawn_local(async move {
            // Look before asking: with nothing waiting the server would refuse (409),
            // and the student should hear why rather than see an error.
            if let Ok(now) = lab.pace().await {
                let waiting = !now.held.is_empty();
                show(asked, now);
                if !waiting {
                    said.set(Some(match view.get_untracked().pace {
                        Pace::Step => "No hop is waiting: send a message first.".into(),
                        _ => "Choose \"One hop at a time\" first: this lab is not stepping.".into(),
                    }));
                    return;
                }
            }
            let asked = ask();
            match lab.next_hop().await {
                Ok(done) => {
                    if done.released.stage == bluetick_shared::frames::TraceStage::Acked
                        && let Some(moments) = moments
                    {
                        moments.stepped.set(true);
                    }
                    said.set(Some(format!("Let go: {}.", paced_step(done.released.stage))));
                    show(asked, done.view);
                }
                Err(e) => said.set(Some(e.message)),
            }
        });
    };
    let mode = move || view.with(|v| v.pace);
    let choose = {
        let set = set.clone();
        move |pace: Pace| set(pace)
    };
    let choose_live = choose.clone();
    let choose_slow = choose.clone();
    let choose_step = choose;
    view! {
        <div class="pace" role="group" aria-labelledby="pace-title">
            <h4 id="pace-title">"Pace of this lab's pipeline"</h4>
            <fieldset class="controls pace-modes">
                <legend class="visually-hidden">"Pace"</legend>
                <label>
                    <input type="radio" name="pace" value="live" prop:checked=move || mode() == Pace::Live
                        on:change=move |_| choose_live(Pace::Live) />
                    "Live"
                </label>
                <label>
                    <input type="radio" name="pace" value="slow"
                        prop:checked=move || matches!(mode(), Pace::Slow { .. })
                        on:change=move |_| choose_slow(Pace::Slow { hop_ms: hop_ms.get_untracked() }) />
                    "Slow motion"
                </label>
                <label>
                    <input type="radio" name="pace" value="step" prop:checked=move || mode() == Pace::Step
                        on:change=move |_| choose_step(Pace::Step) />
                    "One hop at a time"
                </label>
            </fieldset>
            <div class="controls">
                <label for="pace-hop-ms">"In slow motion each hop waits"</label>
                <select id="pace-hop-ms" on:change={
                    let set = set.clone();
                    move |e| {
                        let ms = event_target_value(&e).parse().unwrap_or(1_000u64);
                        hop_ms.set(ms.clamp(MIN_SLOW_HOP_MS, MAX_SLOW_HOP_MS));
                        if matches!(mode(), Pace::Slow { .. }) {
                            set(Pace::Slow { hop_ms: hop_ms.get_untracked() });
                        }
                    }
                }>
                    {SLOW_CHOICES
                        .into_iter()
                        .map(|ms| view! {
                            <option value=ms.to_string() selected=move || hop_ms.get() == ms>{wait_words(ms)}</option>
                        })
                        .collect_view()}
                </select>
                // Never disabled, so focus stays here between presses; with nothing
                // waiting the server's answer says so.
                <button type="button" class="next-hop" on:click=next>"Next hop"</button>
            </div>
            <p class="pace-line" data-testid="pace-line" role="status">
                {move || view.with(pace_words)}
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
                paced_step(hop.stage)
            ),
        },
    }
}
