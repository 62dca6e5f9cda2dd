//! What a phone's chat screen shows: sent messages with their ticks, or received ones.

use leptos::prelude::*;

use crate::components::tick_mark::{TickMark, tick_parts};
use crate::live::device::{Received, SentMessage};

#[component]
pub fn SentList(#[prop(into)] sent: Signal<Vec<SentMessage>>, label: &'static str) -> impl IntoView {
    view! {
        <ol class="chat-list" aria-label=label>
            <For each=move || sent.get().into_iter().rev().take(12) key=|m| (m.id, m.tick, m.acks) let:message>
                <li class="bubble bubble-out" data-tick=tick_parts(message.tick).2>
                    <span class="bubble-text">{message.body.clone()}</span>
                    " "
                    <TickMark state=Signal::derive(move || message.tick) />
                    {message.error.clone().map(|e| view! { <span class="bubble-error">{e}</span> })}
                    {message.failed_reason.clone().map(|e| view! { <span class="bubble-error">{e}</span> })}
                </li>
            </For>
        </ol>
    }
}

#[component]
pub fn ReceivedList(#[prop(into)] received: Signal<Vec<Received>>, label: &'static str) -> impl IntoView {
    view! {
        <ol class="chat-list" aria-label=label data-testid="bob-received">
            <For each=move || received.get() key=|m| (m.seq, m.read) let:message>
                <li class="bubble bubble-in" data-seq=message.seq>
                    <span class="bubble-seq">"#" {message.seq}</span>
                    " "
                    <span class="bubble-text">{message.body.clone()}</span>
                    {message.read.then(|| view! { <span class="bubble-read">" · read"</span> })}
                </li>
            </For>
        </ol>
    }
}
