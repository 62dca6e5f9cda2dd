//! The four connection states in a row, the current one marked by colour, weight, an
//! arrow and the words "current state" (for screen readers and for anyone who cannot
//! tell the colours apart).

use bluetick_shared::connection::ConnectionState;
use leptos::prelude::*;

#[component]
pub fn StateMachineDiagram(#[prop(into)] state: Signal<ConnectionState>) -> impl IntoView {
    view! {
        <ol class="state-diagram" aria-label="Connection states">
            {ConnectionState::ALL
                .into_iter()
                .map(|s| {
                    let current = move || state.get() == s;
                    view! {
                        <li
                            class="state"
                            class:current=current
                            data-state=s.label()
                            aria-current=move || current().then_some("step")
                        >
                            <span class="state-marker" aria-hidden="true">
                                {move || if current() { "▶" } else { "" }}
                            </span>
                            <span class="state-name">{s.label()}</span>
                            <span class="visually-hidden">
                                {move || if current() { " (current state)" } else { "" }}
                            </span>
                        </li>
                    }
                })
                .collect_view()}
        </ol>
    }
}
