//! A scrolling log of what happened, newest line first so that the latest event is in
//! view without scrolling, announced politely to screen readers. It is focusable (and
//! named) so that a keyboard can scroll it once it overflows.

use std::sync::atomic::{AtomicU64, Ordering};

use leptos::prelude::*;

use crate::clock;

/// The lines a log keeps: the newest this many.
pub const LOG_LIMIT: usize = 200;

/// One line of a log.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    pub id: u64,
    pub time: String,
    pub text: String,
}

/// Appends a line stamped with the time of day, dropping the oldest past [`LOG_LIMIT`].
pub fn append(log: RwSignal<Vec<LogLine>>, text: String) {
    // One counter for every log on the page: a line's id only has to be unique in its list.
    static NEXT_ID: AtomicU64 = AtomicU64::new(0);
    let line = LogLine { id: NEXT_ID.fetch_add(1, Ordering::Relaxed), time: clock::time_of_day(clock::now_ms()), text };
    log.update(|log| {
        log.push(line);
        let over = log.len().saturating_sub(LOG_LIMIT);
        log.drain(..over);
    });
}

#[component]
pub fn EventLog(#[prop(into)] lines: Signal<Vec<LogLine>>, label: &'static str) -> impl IntoView {
    view! {
        <ol class="event-log" aria-label=format!("{label}, newest first") aria-live="polite"
            aria-relevant="additions" tabindex="0" data-order="newest-first">
            <For each=move || lines.get().into_iter().rev() key=|line| line.id let:line>
                <li>
                    <time class="log-time">{line.time}</time>
                    " "
                    <span class="log-text">{line.text}</span>
                </li>
            </For>
        </ol>
    }
}
