//! The lab's compressed expiry: messages that wait longer than this undelivered fail
//! (⚠) instead of waiting the real 30 days. It applies to this lab only.

use bluetick_shared::lab::{MAX_LAB_EXPIRY_SECS, MIN_LAB_EXPIRY_SECS};
use leptos::prelude::*;

use crate::live::lab_devices::LabDevices;

/// `in_force` is the compressed expiry the server has for this lab (`None`: the real
/// 30 days); the tick lab's reset sets it too.
#[component]
pub fn ExpiryControl(devices: LabDevices, in_force: RwSignal<Option<u64>>) -> impl IntoView {
    let seconds = RwSignal::new(5u64);
    let problem = RwSignal::new(None::<String>);
    {
        let lab = devices.lab.clone();
        wasm_bindgen_futures::spawn_local(async move {
            if let Ok(view) = lab.view().await {
                in_force.set(view.expiry_secs);
            }
        });
    }
    let set = move |value: Option<u64>| {
        let lab = devices.lab.clone();
        wasm_bindgen_futures::spawn_local(async move {
            match lab.set_expiry(value).await {
                Ok(view) => {
                    in_force.set(view.expiry_secs);
                    problem.set(None);
                }
                Err(e) => problem.set(Some(format!("Could not set the expiry: {e}"))),
            }
        });
    };
    let compress = {
        let set = set.clone();
        move |_| set(Some(seconds.get_untracked()))
    };
    let restore = move |_| set(None);
    view! {
        <div class="controls expiry-controls" role="group" aria-label="Message expiry for this lab">
            <label for="expiry-seconds">"Undelivered messages fail after"</label>
            <input id="expiry-seconds" type="number" inputmode="numeric"
                min=MIN_LAB_EXPIRY_SECS.to_string() max=MAX_LAB_EXPIRY_SECS.to_string()
                prop:value=move || seconds.get().to_string()
                on:change=move |e| {
                    let value = event_target_value(&e).parse().unwrap_or(5u64);
                    seconds.set(value.clamp(MIN_LAB_EXPIRY_SECS, MAX_LAB_EXPIRY_SECS));
                } />
            <span>"s"</span>
            <button type="button" on:click=compress>"Compress expiry"</button>
            <button type="button" on:click=restore disabled=move || in_force.get().is_none()>"Back to 30 days"</button>
        </div>
        <p class="expiry-line" data-testid="expiry-line" aria-live="polite">
            {move || match in_force.get() {
                Some(s) => format!("Compressed: messages sent now fail after {s} s undelivered (this lab only)."),
                None => "Messages fail after the server's 30 days undelivered.".to_string(),
            }}
        </p>
        {move || problem.get().map(|p| view! { <p class="lab-error" role="alert">{p}</p> })}
    }
}
