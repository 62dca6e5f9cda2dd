//! Replay: scrub back and forth through a finished run, event by recorded event. The
//! events are the server's own trace frames, with their server times; what the lab
//! draws at an instant comes from the events up to it, never re-simulated. The tick
//! lab replays one message (`bluetick_shared::replay`), the offline queue the messages
//! that waited (`bluetick_shared::replay::queue`).

use leptos::prelude::*;

use crate::components::guide::guide_moments;

/// `place` names the lab, so that its ids are its own; `title` heads it; `run` says
/// what was recorded ("for this message"); `count` is how many events there are and
/// `words(k)` says event `k`; `shows` says what the lab redraws at a replayed instant.
#[component]
pub fn ReplayControl<W>(
    place: &'static str,
    title: &'static str,
    run: &'static str,
    shows: &'static str,
    count: Signal<usize>,
    words: W,
    replay: RwSignal<Option<usize>>,
) -> impl IntoView
where
    W: Fn(usize) -> String + Copy + Send + Sync + 'static,
{
    // Any instant replayed tells the guided path this step happened.
    if let Some(moments) = guide_moments() {
        Effect::new(move || {
            if replay.get().is_some() {
                moments.replayed.set(true);
            }
        });
    }
    let last = move || count.get().saturating_sub(1);
    // Buttons stay enabled (focus never falls to the page); at either end they say so.
    let step = move |by: isize| {
        let at = replay.get_untracked().unwrap_or(last()) as isize + by;
        replay.set(Some(at.clamp(0, last() as isize) as usize));
    };
    let status = move || match replay.get() {
        Some(k) => format!("Replaying {}. {shows}", words(k)),
        None => format!("Live. {} events recorded {run}: step or drag back to replay them.", count.get()),
    };
    let title_id = format!("replay-title-{place}");
    let labelled_by = title_id.clone();
    view! {
        <Show when=move || { count.get() > 0 }>
            <div class="replay" role="group" aria-labelledby=labelled_by.clone() data-place=place>
                <h4 id=title_id.clone()>{title}</h4>
                <div class="controls">
                    <button type="button" on:click=move |_| step(-1)>"◀ Earlier event"</button>
                    <input type="range" class="replay-slider" min="0" max=move || last().to_string()
                        aria-label="Recorded event"
                        aria-valuetext=move || words(replay.get().unwrap_or(last()))
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
