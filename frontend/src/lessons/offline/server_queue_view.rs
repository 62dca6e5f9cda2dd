//! "Server-side queue for Bob": what waits in Bob's inbox on the server, read from the
//! database through the lab API every half second — count, order and push wake-ups.

use std::cell::Cell;
use std::rc::Rc;

use bluetick_shared::lab::QueueView;
use gloo_timers::callback::Interval;
use leptos::prelude::*;

use crate::clock;
use crate::live::lab_devices::LabDevices;

/// How often the view is read from the server.
const REFRESH_MS: u32 = 500;

#[component]
pub fn ServerQueueView(devices: LabDevices) -> impl IntoView {
    let queue = RwSignal::new(None::<QueueView>);
    let problem = RwSignal::new(None::<String>);
    let (lab, bob) = (devices.lab.clone(), devices.bob.device_id());
    let busy = Rc::new(Cell::new(false));
    let refresh = move || {
        if busy.replace(true) {
            return;
        }
        let (lab, busy) = (lab.clone(), busy.clone());
        wasm_bindgen_futures::spawn_local(async move {
            match lab.queue(bob).await {
                Ok(view) => {
                    queue.set(Some(view));
                    problem.set(None);
                }
                Err(e) => problem.set(Some(format!("Cannot read the queue: {e}"))),
            }
            busy.set(false);
        });
    };
    refresh();
    Interval::new(REFRESH_MS, refresh).forget();
    let now = clock::ticking_now(1000);

    let waiting = move || queue.with(|q| q.as_ref().map(|q| q.waiting).unwrap_or(0));
    let count_text = move || match waiting() {
        0 => "0 waiting".to_string(),
        1 => "1 message waiting".to_string(),
        n => format!("{n} messages waiting"),
    };
    let entries = move || queue.with(|q| q.as_ref().map(|q| q.entries.clone()).unwrap_or_default());
    let wakeups = move || queue.with(|q| q.as_ref().map(|q| (q.wakeups.clone(), q.wakeups_total)).unwrap_or_default());

    view! {
        <div class="queue-panel" data-testid="server-queue">
            <h3>"Server-side queue for Bob"</h3>
            <p class="queue-count" data-testid="queue-count" data-waiting=move || waiting().to_string()>
                <strong>{count_text}</strong>
                " · acked up to #" {move || queue.with(|q| q.as_ref().map(|q| q.acked_seq).unwrap_or(0))}
            </p>
            <Show when=move || waiting() == 0>
                <p class="queue-empty">"queue is empty — take Bob offline, then simulate messages"</p>
            </Show>
            <ol class="queue-entries" aria-label="Waiting in Bob's inbox, oldest first" tabindex="0">
                <For each=entries key=|e| e.seq let:entry>
                    <li class="queue-entry">
                        <span class="queue-seq">"#" {entry.seq}</span>
                        " "
                        <span class="queue-what">
                            {if entry.kind == "message" {
                                format!("{}: \u{201c}{}\u{201d}", entry.from_name, entry.summary)
                            } else {
                                format!("receipt: {}", entry.summary)
                            }}
                        </span>
                        " "
                        <span class="queue-age">
                            {move || format!("{} s", (now.get() as i64 - entry.queued_at).max(0) / 1000)}
                        </span>
                    </li>
                </For>
            </ol>
            <details class="wakeups" data-testid="wakeups">
                <summary>
                    "Push wake-ups sent: " {move || wakeups().1}
                </summary>
                <p class="card-detail">
                    "Each message for an offline device also records a push notification (APNs/FCM in "
                    "production) that would wake the phone so it reconnects and drains its queue."
                </p>
                <ul>
                    <For each=move || wakeups().0.into_iter().take(10).enumerate() key=|(i, w)| (*i, w.message_id)
                        let:item>
                        <li>{format!("wake-up for message …{} at {}", &item.1.message_id.simple().to_string()[26..],
                            clock::time_of_day(item.1.at as u64))}</li>
                    </For>
                </ul>
            </details>
            {move || problem.get().map(|p| view! { <p class="lab-error" role="alert">{p}</p> })}
        </div>
    }
}
