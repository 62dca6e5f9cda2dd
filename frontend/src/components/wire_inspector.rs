//! The wire inspector: the actual frames the page's devices send and receive, decoded,
//! with direction, time and size. It is how a student sees that ticks are frames the
//! apps send on purpose (`ack`, `read`, `receipt`), not something TCP does.
//!
//! It is docked, never laid over the lesson: on a wide screen a side panel that the
//! page's column makes room for, on a phone a section of its own at the end of the page
//! (style/main.css). Its button sits in the section nav; opening moves focus into the
//! panel, and Close or Escape closes it and gives focus back to that button (and, on a
//! phone, the scroll position the student left).

use leptos::prelude::*;

use crate::clock;

/// The button that opens the inspector, where focus returns when it closes.
const TOGGLE_ID: &str = "inspector-toggle";

/// The nav's button that opens and closes the inspector.
#[component]
pub fn InspectorToggle(open: RwSignal<bool>) -> impl IntoView {
    view! {
        <button type="button" id=TOGGLE_ID class="inspector-toggle" aria-expanded=move || open.get().to_string()
            aria-controls="wire-inspector" on:click=move |_| open.update(|o| *o = !*o)>
            "Wire inspector"
        </button>
    }
}
use crate::live::wire::{WireFrame, WireLog};
use wasm_bindgen::JsCast;

/// Frames listed at once (the newest).
const SHOWN: usize = 120;

#[component]
pub fn WireInspector(log: WireLog, open: RwSignal<bool>) -> impl IntoView {
    let heading = NodeRef::<leptos::html::H2>::new();
    // Where the page was scrolled when the inspector opened (on a phone, opening scrolls
    // down to it).
    let scrolled = StoredValue::new(0.0f64);
    Effect::new(move |was_open: Option<bool>| {
        let is_open = open.get();
        let window = web_sys::window().expect("a window");
        if is_open && was_open != Some(true) {
            scrolled.set_value(window.scroll_y().unwrap_or(0.0));
            if let Some(heading) = heading.get() {
                let _ = heading.focus();
            }
        } else if !is_open && was_open == Some(true) {
            window.scroll_to_with_x_and_y(0.0, scrolled.get_value());
            if let Some(toggle) = window.document().and_then(|d| d.get_element_by_id(TOGGLE_ID)) {
                let _ = toggle.unchecked_into::<web_sys::HtmlElement>().focus();
            }
        }
        is_open
    });
    let close_on_escape = move |e: web_sys::KeyboardEvent| {
        if e.key() == "Escape" {
            e.prevent_default();
            open.set(false);
        }
    };
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
        <aside id="wire-inspector" class="inspector" aria-labelledby="inspector-title" hidden=move || !open.get()
            on:keydown=close_on_escape>
            <header class="inspector-header">
                <h2 id="inspector-title" tabindex="-1" node_ref=heading>"Wire inspector: on the wire"</h2>
                <button type="button" class="secondary inspector-close" on:click=move |_| open.set(false)>
                    "Close" <span class="visually-hidden">" (Escape)"</span>
                </button>
            </header>
            <div class="inspector-body" tabindex="0" role="region" aria-label="Recorded frames">
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
            </div>
        </aside>
    }
}

fn pretty(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| serde_json::to_string_pretty(&v).ok())
        .unwrap_or_else(|| text.to_string())
}
