//! A scrolling log of what happened, announced politely to screen readers.

use leptos::prelude::*;

/// One line of a log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub id: u64,
    pub time: String,
    pub text: String,
}

#[component]
pub fn EventLog(#[prop(into)] lines: Signal<Vec<LogLine>>, label: &'static str) -> impl IntoView {
    view! {
        <ol class="event-log" aria-label=label aria-live="polite" aria-relevant="additions">
            <For each=move || lines.get() key=|line| line.id let:line>
                <li>
                    <time class="log-time">{line.time}</time>
                    " "
                    <span class="log-text">{line.text}</span>
                </li>
            </For>
        </ol>
    }
}
