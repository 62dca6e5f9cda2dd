//! A message's ticks as a phone shows them, with the state in words too: grey and blue
//! ✓✓ differ only by colour, and colour alone is not enough.

use bluetick_shared::frames::TickState;
use leptos::prelude::*;

/// Symbol, class and words for a tick state (`None`: not acknowledged by the server yet).
pub fn tick_parts(state: Option<TickState>) -> (&'static str, &'static str, &'static str) {
    match state {
        None => ("🕓", "tick-grey", "sending"),
        Some(TickState::Sent) => ("✓", "tick-grey", "sent"),
        Some(TickState::Delivered) => ("✓✓", "tick-grey", "delivered"),
        Some(TickState::Read) => ("✓✓", "tick-blue", "read"),
        Some(TickState::Failed) => ("⚠", "tick-red", "failed"),
    }
}

#[component]
pub fn TickMark(#[prop(into)] state: Signal<Option<TickState>>) -> impl IntoView {
    let parts = move || tick_parts(state.get());
    view! {
        <span class=move || format!("tick-mark {}", parts().1) data-tick=move || parts().2>
            <span class="tick-symbol" aria-hidden="true">{move || parts().0}</span>
            " "
            <span class="tick-word">{move || parts().2}</span>
        </span>
    }
}
