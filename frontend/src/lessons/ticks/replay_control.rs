//! Replay: scrub back and forth through one message's run, event by recorded event
//! (`bluetick_shared::replay`). The events are the server's own trace frames, with their
//! server times; the stops and the tick are redrawn from the events up to the chosen
//! one, never re-simulated.

use bluetick_shared::replay::event_words;
use leptos::prelude::*;

use crate::components::guide::guide_moments;
use crate::live::device::StageEvent;

#[component]
pub fn ReplayControl(events: Signal<Vec<StageEvent>>, replay: RwSignal<Option<usize>>) -> impl IntoView {
    let count = move || events.with(Vec::len);
    // Any instant replayed tells the guided path this step happened.
    if let Some(moments) = guide_moments() {
        Effect::new(move || {
            if replay.get().is_some() {
                moments.replayed.set(true);
            }
        });
    }
    let last = move || count().saturating_sub(1);
    // Buttons stay enabled (focus never falls to the page); at either end they say so.
    let step = move |by: isize| {
        let at = replay.get_untracked().unwrap_or(last()) as isize + by;
        replay.set(Some(at.clamp(0, last() as isize) as usize));
    };
    let status = move || match replay.get() {
        Some(k) => {
            format!("Replaying {}. The stops and the tick above show that instant.", events.with(|e| event_words(e, k)))
        }
        None => format!("Live. {} events recorded for this message: step or drag back to replay them.", count()),
    };
    view! {
        <Show when=move || { count() > 0 }>
            <div class="replay" role="group" aria-labelledby="replay-title">
                <h4 id="replay-title">"Replay this message"</h4>
                <div class="controls">
                    <button type="button" on:click=move |_| step(-1)>"◀ Earlier event"</button>
                    <input type="range" class="replay-slider" min="0" max=move || last().to_string()
                        aria-label="Recorded event"
                        aria-valuetext=move || events.with(|e| event_words(e, replay.get().unwrap_or(last())))
                        prop:value=move || replay.get().unwrap_or(last()).to_string()
                        on:input=move |e| {
                            if let Ok(k) = event_target_value(&e).parse::<usize>() {
                                replay.set(Some(k.min(last())));
                            }
                        } />
                    <button type="button" on:click=move |_| step(1)>"Later event ▶"</button>
                    <button type="button" on:click=move |_| replay.set(None)>"Back to live"</button>
                </div>
                <p class="replay-line" data-testid="replay-line" role="status">{status}</p>
            </div>
        </Show>
    }
}
