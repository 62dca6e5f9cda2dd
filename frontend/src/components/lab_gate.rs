//! Shows a live lab once the student's sandbox is ready, and says so while it is not.

use leptos::prelude::*;

use crate::lab::LabStatus;
use crate::live::lab_devices::{DeviceStore, LabDevices, devices};

/// Renders `live` with the lab's devices when the lab is ready.
#[component]
pub fn LabGate<F, V>(status: RwSignal<LabStatus>, store: DeviceStore, live: F) -> impl IntoView
where
    F: Fn(LabDevices) -> V + Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || match status.get() {
        LabStatus::Preparing => {
            view! { <p class="lab-waiting" role="status">"Preparing your lab on the server…"</p> }.into_any()
        }
        LabStatus::Failed(message) => view! { <p class="lab-error" role="alert">{message}</p> }.into_any(),
        LabStatus::Ready(lab) => live(devices(store, &lab)).into_any(),
    }
}
