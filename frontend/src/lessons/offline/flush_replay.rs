//! "The flush, recorded": Alice's messages that waited for Bob, from the server's trace
//! frames, and a replay of their run (`bluetick_shared::replay::queue`): scrub back to
//! watch the inbox fill while Bob is offline and empty, oldest first, when he is back.

use bluetick_shared::replay::queue::{QueueRun, Spot};
use leptos::prelude::*;

use crate::components::replay_control::ReplayControl;
use crate::live::lab_devices::LabDevices;

#[component]
pub fn FlushReplay(devices: LabDevices) -> impl IntoView {
    let sent = devices.alice.signals.sent;
    let run = Memo::new(move |_| sent.with(|s| QueueRun::of(s)));
    let replay = RwSignal::new(None::<usize>);
    let count = Signal::derive(move || run.with(|r| r.events.len()));
    let at = move || {
        run.with(|r| {
            let k = replay.get().unwrap_or(r.events.len().saturating_sub(1));
            (r.bodies.iter().cloned().zip(r.at(k)).collect::<Vec<_>>(), r.waiting_at(k), r.pushed_at(k))
        })
    };
    view! {
        <div class="flush-replay" role="group" aria-labelledby="flush-replay-title">
            <h3 id="flush-replay-title">"The flush, recorded"</h3>
            <Show when=move || { count.get() > 0 }
                fallback=|| view! {
                    <p class="queue-empty">"No message has waited for Bob yet: take him offline, then send."</p>
                }>
                <p class="flush-note">
                    "Each row follows the trace frames Alice's phone receives. A message turns delivered when its \
                     DELIVERED receipt leaves the server: a moment after Bob's ack clears it from the server-side \
                     queue above, and in step mode one step after that."
                </p>
                <p class="flush-waiting" data-testid="flush-waiting">
                    {move || {
                        let (_, waiting, pushed) = at();
                        let when = if replay.get().is_some() { "At this instant" } else { "Now" };
                        format!("{when}: {waiting} still in Bob's inbox, {pushed} pushed and not yet acknowledged.")
                    }}
                </p>
                <ol class="flush-rows" aria-label="Alice's messages that waited for Bob, oldest first"
                    data-testid="flush-rows">
                    {move || at().0.into_iter().map(|(body, spot)| view! {
                        <li class=format!("flush-row spot-{}", spot_class(spot)) data-spot=spot_class(spot)>
                            <span class="flush-body">{format!("\u{201c}{body}\u{201d}")}</span>
                            " "
                            <span class="flush-spot">{spot.words()}</span>
                        </li>
                    }).collect_view()}
                </ol>
            </Show>
            <ReplayControl place="offline" title="Replay the flush" run="for the messages that waited"
                shows="The list above shows that instant."
                count words=move |k| run.with(|r| r.words(k)) replay />
        </div>
    }
}

fn spot_class(spot: Spot) -> &'static str {
    match spot {
        Spot::NotYet => "not-yet",
        Spot::Sending => "sending",
        Spot::InInbox => "in-inbox",
        Spot::Pushed => "pushed",
        Spot::Delivered => "delivered",
        Spot::Read => "read",
        Spot::Failed => "failed",
    }
}
