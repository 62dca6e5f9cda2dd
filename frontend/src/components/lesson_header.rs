//! The lesson's header: title, kicker, subtitle, stat tiles and topic tags.

use leptos::prelude::*;

const STATS: [(&str, &str); 4] =
    [("5B", "messages a day"), ("3.5h", "study time"), ("2", "live simulations"), ("5", "quiz questions")];

const TOPICS: [&str; 5] = ["WebSocket", "End-to-End Encryption", "Offline Queuing", "Group Messaging", "Presence"];

#[component]
pub fn LessonHeader() -> impl IntoView {
    view! {
        <header class="lesson-header">
            <p class="kicker">"Day 25 · Week 4"</p>
            <h1>"Design WhatsApp"</h1>
            <p class="subtitle">
                "Keeping WebSocket connections alive, delivering every message exactly once, "
                "queuing for phones that are offline, fanning out to groups and encrypting end "
                "to end, for two billion people."
            </p>
            <ul class="stat-tiles" aria-label="This lesson in numbers">
                {STATS
                    .into_iter()
                    .map(|(figure, label)| {
                        view! {
                            <li class="stat-tile">
                                <span class="stat-figure">{figure}</span>
                                <span class="stat-label">{label}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <ul class="topic-tags" aria-label="Topics">
                {TOPICS.into_iter().map(|t| view! { <li class="tag">{t}</li> }).collect_view()}
            </ul>
        </header>
    }
}
