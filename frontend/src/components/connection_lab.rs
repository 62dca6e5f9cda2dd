//! "WebSocket state machine": a real connection to the backend that the student drives.

use bluetick_shared::connection::ConnectionState;
use leptos::prelude::*;

use crate::components::event_log::EventLog;
use crate::components::state_machine_diagram::StateMachineDiagram;
use crate::live::connection::LiveConnection;

#[component]
pub fn ConnectionLab() -> impl IntoView {
    let connection = LiveConnection::new(crate::live::ws_url());
    let view_state = connection.signals();
    // The lab starts live: connecting at once shows the whole handshake in the log.
    connection.connect();

    let connect = {
        let connection = connection.clone();
        move |_| connection.connect()
    };
    let disconnect = {
        let connection = connection.clone();
        move |_| connection.disconnect()
    };
    let state = view_state.state;
    let status = move || {
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

    view! {
        <section id="state-machine" class="lab-section" aria-labelledby="state-machine-title">
            <h2 id="state-machine-title">"WebSocket state machine"</h2>
            <p class="lede">
                "This is a real WebSocket from your browser to the bluetick server. "
                "Every state below is where the socket really is."
            </p>
            <StateMachineDiagram state=state />
            <p class="status-line" role="status" data-testid="connection-status"
               data-state=move || state.get().label()>
                {status}
            </p>
            <p class="retry-line" aria-live="polite">{retry}</p>
            <div class="controls" role="group" aria-label="Connection controls">
                <button type="button" on:click=connect
                    disabled=move || state.get() == ConnectionState::Connected>
                    "Connect"
                </button>
                <button type="button" on:click=disconnect
                    disabled=move || state.get() == ConnectionState::Disconnected>
                    "Disconnect"
                </button>
            </div>
            <EventLog lines=view_state.log label="Connection event log" />
        </section>
    }
}
