//! "WebSocket state machine": a real connection to the backend that the student drives,
//! including failures the backend injects for this browser's device only: a dropped
//! network (no close handshake) and an outage that refuses it for N seconds.
//!
//! The lab's device ("You") starts DISCONNECTED: the first transition is the student's.
//! What the connection does is drawn twice: the state machine with the arrow it last
//! took, and, while it is being won back, the backoff timeline of its attempts.

use bluetick_shared::connection::ConnectionState;
use bluetick_shared::lab::MAX_OUTAGE_SECS;
use leptos::prelude::*;

use crate::clock;
use crate::components::event_log::EventLog;
use crate::components::lab_reset::LabReset;
use crate::lab::LabStatus;
use crate::lessons::connection::backoff_timeline_view::BackoffTimelineView;
use crate::lessons::connection::state_machine_diagram::StateMachineDiagram;
use crate::live::lab_devices::{DeviceStore, LabDevices};

#[component]
pub fn ConnectionLab(status: RwSignal<LabStatus>, store: DeviceStore) -> impl IntoView {
    view! {
        <section id="state-machine" class="lab-section" aria-labelledby="state-machine-title">
            <h2 id="state-machine-title">"WebSocket state machine"</h2>
            <p class="lede">
                "This is a real WebSocket from your browser to the bluetick server. "
                "Every state below is where the socket really is."
            </p>
            <crate::components::lab_gate::LabGate status store live=|devices| view! { <ConnectionLive devices /> } />
        </section>
    }
}

/// An outage the student started: how long, and when the server lets this device in again.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Outage {
    seconds: u64,
    until_ms: u64,
}

#[component]
fn ConnectionLive(devices: LabDevices) -> impl IntoView {
    let connection = devices.you.connection.clone();
    let view_state = connection.signals();
    let state = view_state.state;

    let connect = {
        let connection = connection.clone();
        move |_| connection.connect()
    };
    let disconnect = {
        let connection = connection.clone();
        move |_| connection.disconnect()
    };
    // What the last dropped network did, for the line under the controls.
    let notice = RwSignal::new(String::new());
    let outage = RwSignal::new(None::<Outage>);
    let outage_secs = RwSignal::new(8u64);
    let device_id = devices.you.device_id();
    let drop_network = {
        let lab = devices.lab.clone();
        move |_| {
            let lab = lab.clone();
            outage.set(None);
            notice.set("Asking the server to cut this connection…".into());
            wasm_bindgen_futures::spawn_local(async move {
                notice.set(lab.drop_network_told(device_id).await.map(str::to_string).unwrap_or_else(|e| e));
            });
        }
    };
    let start_outage = {
        let lab = devices.lab.clone();
        move |_| {
            let lab = lab.clone();
            let seconds = outage_secs.get_untracked();
            wasm_bindgen_futures::spawn_local(async move {
                match lab.outage(device_id, seconds).await {
                    Ok(done) => {
                        notice.set(String::new());
                        outage.set(done.until.map(|ms| Outage { seconds, until_ms: ms as u64 }));
                    }
                    Err(e) => notice.set(format!("Could not start the outage: {e}")),
                }
            });
        }
    };

    let status_text = move || {
        let s = state.get();
        format!("{} — {}", s.label(), s.explanation())
    };
    let retry = move || {
        let attempt = view_state.attempt.get();
        match (view_state.retry_at.get(), attempt) {
            (Some(at), n) => {
                let left = at.saturating_sub(view_state.now.get());
                format!("Reconnect attempt {n} in {:.1} s", left as f64 / 1000.0)
            }
            (None, n) if n > 0 => format!("Reconnect attempt {n} in progress…"),
            _ => String::new(),
        }
    };
    let now = clock::ticking_now(200);
    // While the outage lasts, what it does; once it is over, that it is over: a refusal
    // that no longer holds must not stay on screen.
    let fault_text = move || {
        let Some(o) = outage.get() else { return notice.get() };
        let left = o.until_ms.saturating_sub(now.get());
        if left > 0 {
            return format!(
                "The server refuses this device for {} s: every attempt until then fails. \
                 Server unreachable for this device: {:.1} s left.",
                o.seconds,
                left as f64 / 1000.0
            );
        }
        match state.get() {
            ConnectionState::Connected => "The outage is over: the server let this device in again.",
            ConnectionState::Disconnected => "The outage is over: press Connect to connect.",
            _ => "The outage is over: the next attempt can connect.",
        }
        .to_string()
    };

    let reset = {
        let (lab, connection) = (devices.lab.clone(), connection.clone());
        move || {
            let (lab, connection) = (lab.clone(), connection.clone());
            async move {
                lab.end_outage(device_id).await.map_err(|e| format!("Could not end the outage: {e}"))?;
                connection.reset();
                outage.set(None);
                outage_secs.set(8);
                notice.set(String::new());
                Ok("Reset: You is DISCONNECTED, no outage runs (the next lasts 8 s), and the log and the backoff timeline are empty. \
                    Press Connect to start again."
                    .to_string())
            }
        }
    };

    view! {
        <LabReset lab="the state-machine lab" first="connection-connect" reset />
        <div class="connection-board">
            <StateMachineDiagram state=state last=view_state.last />
            <div class="connection-panel">
                <p class="status-line" role="status" data-testid="connection-status"
                    data-state=move || state.get().label()>
                    {status_text}
                </p>
                <p class="retry-line" data-testid="retry-line" aria-live="polite">{retry}</p>
                // Each button names where focus goes when pressing it disables it (see
                // components::focus_keeper): to the control that undoes what it did.
                <div class="controls" role="group" aria-label="Connection controls">
                    <button type="button" id="connection-connect" data-focus-next="connection-disconnect"
                        on:click=connect disabled=move || state.get() == ConnectionState::Connected>
                        "Connect"
                    </button>
                    <button type="button" id="connection-disconnect" data-focus-next="connection-connect"
                        on:click=disconnect disabled=move || state.get() == ConnectionState::Disconnected>
                        "Disconnect"
                    </button>
                    <button type="button" id="connection-drop" data-focus-next="connection-disconnect connection-connect"
                        on:click=drop_network disabled=move || state.get() != ConnectionState::Connected>
                        "Drop network"
                    </button>
                </div>
                <div class="controls outage-controls" role="group" aria-label="Inject a server outage">
                    <label for="outage-seconds">"Server unreachable for"</label>
                    <input id="outage-seconds" type="number" min="1" max=MAX_OUTAGE_SECS.to_string()
                        inputmode="numeric" prop:value=move || outage_secs.get().to_string()
                        on:change=move |e| {
                            let value = event_target_value(&e).parse().unwrap_or(8u64).clamp(1, MAX_OUTAGE_SECS);
                            outage_secs.set(value);
                        } />
                    <span>"s"</span>
                    <button type="button" on:click=start_outage>"Start outage"</button>
                </div>
                <p class="fault-line" data-testid="fault-line" aria-live="polite">{fault_text}</p>
            </div>
        </div>
        <BackoffTimelineView timeline=view_state.timeline now=now />
        <EventLog lines=view_state.log label="Connection event log" />
    }
}
