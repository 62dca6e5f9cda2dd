//! The connection state machine drawn as a diagram: four states, the arrows between
//! them with what makes each happen, the current state marked by a symbol, the word
//! "now", a thick border and colour, and the arrow the last transition took drawn thick
//! and solid, with the same transition written out under the drawing ("last:
//! CONNECTING → CONNECTED (welcome)"). Colour is never the only signal.
//!
//! The drawing is one SVG laid out on a 360-unit-wide grid that stays legible when it
//! shrinks to a 375 px phone; the arrows and their meaning come from
//! `bluetick_shared::connection_diagram`, so the page cannot draw an arrow the machine
//! does not take.

use bluetick_shared::connection::ConnectionState;
use bluetick_shared::connection_diagram::{Arrow, Step};
use leptos::prelude::*;

/// A state's box in the drawing's units: left, top, width, height.
fn state_box(state: ConnectionState) -> (f64, f64, f64, f64) {
    match state {
        ConnectionState::Disconnected => (110.0, 8.0, 140.0, 40.0),
        ConnectionState::Connecting => (110.0, 118.0, 140.0, 40.0),
        ConnectionState::Reconnecting => (8.0, 250.0, 132.0, 40.0),
        ConnectionState::Connected => (220.0, 250.0, 132.0, 40.0),
    }
}

/// A symbol per state, so the states differ by shape as well as by name.
fn state_symbol(state: ConnectionState) -> &'static str {
    match state {
        ConnectionState::Disconnected => "○",
        ConnectionState::Connecting => "◔",
        ConnectionState::Connected => "●",
        ConnectionState::Reconnecting => "↻",
    }
}

/// An arrow's path, and where its words go (x, first line's y, text-anchor).
fn arrow_geometry(arrow: Arrow) -> (&'static str, (f64, f64, &'static str)) {
    match arrow {
        Arrow::Connect => ("M160 48 L160 116", (152.0, 76.0, "end")),
        Arrow::Leave => ("M205 84 L205 50", (213.0, 64.0, "start")),
        Arrow::Welcome => ("M234 158 L284 248", (266.0, 196.0, "start")),
        Arrow::SocketFailed => ("M126 158 L76 248", (94.0, 196.0, "end")),
        Arrow::SocketClosed => ("M220 264 L142 264", (181.0, 244.0, "middle")),
        Arrow::Resumed => ("M140 280 L218 280", (179.0, 297.0, "middle")),
        Arrow::Retry => ("M44 290 C30 340, 112 340, 98 292", (116.0, 320.0, "start")),
    }
}

#[component]
pub fn StateMachineDiagram(
    #[prop(into)] state: Signal<ConnectionState>,
    #[prop(into)] last: Signal<Option<Step>>,
) -> impl IntoView {
    let summary = move || {
        let now = state.get().label();
        match last.get() {
            Some(step) => format!("Connection state machine. Now {now}. Last transition: {}.", step.describe()),
            None => format!("Connection state machine. Now {now}. No transition yet."),
        }
    };
    let last_line = move || match last.get() {
        Some(step) => step.describe(),
        None => "none yet: press Connect".to_string(),
    };
    view! {
        <figure class="state-diagram" data-testid="state-diagram">
            <svg class="machine" viewBox="0 -14 360 374" role="img" aria-label=summary>
                <defs>
                    <marker id="machine-head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7"
                        orient="auto-start-reverse">
                        <path class="head" d="M0 0 L10 5 L0 10 z" />
                    </marker>
                    <marker id="machine-head-last" viewBox="0 0 10 10" refX="8" refY="5" markerWidth="3"
                        markerHeight="3" orient="auto-start-reverse">
                        <path class="head-last" d="M0 0 L10 5 L0 10 z" />
                    </marker>
                </defs>
                <rect class="online-box" x="2" y="84" width="356" height="272" rx="12" />
                <text class="box-caption" x="12" y="102">"wants a connection"</text>
                {Arrow::ALL.into_iter().map(|arrow| view! { <MachineArrow arrow last /> }).collect_view()}
                {ConnectionState::ALL.into_iter().map(|s| view! { <StateBox s state /> }).collect_view()}
            </svg>
            <figcaption class="last-transition" data-testid="last-transition">
                <strong>"last: "</strong>
                {last_line}
            </figcaption>
        </figure>
    }
}

#[component]
fn MachineArrow(arrow: Arrow, #[prop(into)] last: Signal<Option<Step>>) -> impl IntoView {
    let (path, (x, y, anchor)) = arrow_geometry(arrow);
    let is_last = move || last.get().is_some_and(|step| step.arrow == arrow);
    let head = move || if is_last() { "url(#machine-head-last)" } else { "url(#machine-head)" };
    view! {
        <g class="machine-arrow" class:last=is_last data-arrow=arrow.id() data-last=move || is_last().to_string()>
            <path class="arrow-line" d=path marker-end=head />
            <text class="arrow-label" x=x y=y text-anchor=anchor>
                {arrow
                    .label()
                    .iter()
                    .enumerate()
                    .map(|(i, line)| {
                        view! {
                            <tspan x=x dy=if i == 0 { "0" } else { "1.15em" }>{*line}</tspan>
                        }
                    })
                    .collect_view()}
            </text>
        </g>
    }
}

#[component]
fn StateBox(s: ConnectionState, #[prop(into)] state: Signal<ConnectionState>) -> impl IntoView {
    let (x, y, width, height) = state_box(s);
    let current = move || state.get() == s;
    view! {
        <g class="state" class:current=current data-state=s.label() data-current=move || current().to_string()>
            <rect class="state-box" x=x y=y width=width height=height rx="8" />
            <text class="state-name" x=x + width / 2.0 y=y + height / 2.0 + 5.0 text-anchor="middle">
                {format!("{} {}", state_symbol(s), s.label())}
            </text>
            <text class="state-now" x=x + 4.0 y=y - 4.0 visibility=move || if current() { "visible" } else { "hidden" }>
                "▼ now"
            </text>
        </g>
    }
}
