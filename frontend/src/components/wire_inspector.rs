//! The wire inspector: the actual frames the page's devices send and receive, decoded,
//! with direction, time and size. It is how a student sees that ticks are frames the
//! apps send on purpose (`ack`, `read`, `receipt`), not something TCP does.

use leptos::prelude::*;

use crate::clock;
use crate::live::wire::{WireFrame, WireLog};

/// Frames listed at once (the newest).
const SHOWN: usize = 120;

#[component]
pub fn WireInspector(log: WireLog) -> impl IntoView {
    let open = RwSignal::new(false);
    let device = RwSignal::new(String::from("all"));
    let hide_heartbeats = RwSignal::new(true);
    let shown = move || -> Vec<WireFrame> {
        // Nothing to keep up to date while the panel is closed.
        if !open.get() {
            return Vec::new();
        }
        let device = device.get();
        let hide = hide_heartbeats.get();
        log.frames.with(|frames| {
            frames
                .iter()
                .rev()
                .filter(|f| device == "all" || f.device == device)
                .filter(|f| !hide || f.kind != "heartbeat")
                .take(SHOWN)
                .cloned()
                .collect()
        })
    };
    let count = move || if open.get() { log.frames.with(|f| f.len()) } else { 0 };
    view! {
        <button type="button" class="inspector-toggle" aria-expanded=move || open.get().to_string()
            aria-controls="wire-inspector" on:click=move |_| open.update(|o| *o = !*o)>
            {move || if open.get() { "Close the wire inspector" } else { "Wire inspector" }}
        </button>
        <aside id="wire-inspector" class="inspector" aria-label="Wire inspector" hidden=move || !open.get()>
            <h2>"On the wire"</h2>
            <p class="card-detail">
                "Every frame this page's devices (You, Alice, Bob) send → and receive ←, as JSON text on their "
                "WebSockets. Ticks are frames too: an " <code>"ack"</code> " from Bob becomes a "
                <code>"receipt"</code> " for Alice."
            </p>
            <div class="controls" role="group" aria-label="Inspector filters">
                <label for="inspector-device">"Device"</label>
                <select id="inspector-device" on:change=move |e| device.set(event_target_value(&e))>
                    <option value="all">"All"</option>
                    <option value="You">"You"</option>
                    <option value="Alice">"Alice"</option>
                    <option value="Bob">"Bob"</option>
                </select>
                <label>
                    <input type="checkbox" prop:checked=move || hide_heartbeats.get()
                        on:change=move |e| hide_heartbeats.set(event_target_checked(&e)) />
                    " Hide heartbeats"
                </label>
                <label>
                    <input type="checkbox" prop:checked=move || log.paused.get()
                        on:change=move |e| log.paused.set(event_target_checked(&e)) />
                    " Pause"
                </label>
                <button type="button" class="secondary" on:click=move |_| log.frames.set(Vec::new())>"Clear"</button>
            </div>
            <p class="card-detail">{move || format!("{} frames recorded; newest first.", count())}</p>
            <ol class="wire-frames" data-testid="wire-frames">
                <For each=shown key=|f| f.id let:frame>
                    <li class=if frame.outgoing { "wire-frame out" } else { "wire-frame in" }
                        data-kind=frame.kind.clone() data-device=frame.device.clone()>
                        <details>
                            <summary>
                                <span class="wire-dir">{if frame.outgoing { "→" } else { "←" }}</span>
                                " " <span class="wire-device">{frame.device.clone()}</span>
                                " " <strong class="wire-kind">{frame.kind.clone()}</strong>
                                " " <span class="wire-meta">
                                    {format!("{} B · {}", frame.bytes, clock::time_of_day(frame.at_ms))}
                                </span>
                            </summary>
                            <pre class="code" tabindex="0" aria-label="The frame as JSON">{pretty(&frame.text)}</pre>
                        </details>
                    </li>
                </For>
            </ol>
        </aside>
    }
}

fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}
