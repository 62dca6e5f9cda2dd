//! The lesson's header: title, kicker, subtitle, stat tiles, topic tags, and the tally
//! of the labs' predictions.

use leptos::prelude::*;

use crate::components::prediction::PredictionTally;

/// The sections that hold a live lab on the real server, by anchor: the stat tile counts
/// these, so it stays true when a lab is added.
pub const LIVE_LABS: [&str; 7] =
    ["scale", "state-machine", "offline-queue", "tick-pipeline", "fan-out", "presence", "encryption"];

const TOPICS: [&str; 5] = ["WebSocket", "End-to-End Encryption", "Offline Queuing", "Group Messaging", "Presence"];

#[component]
pub fn LessonHeader() -> impl IntoView {
    let labs = LIVE_LABS.len().to_string();
    let stats =
        [("5B", "messages a day"), ("3.5h", "study time"), (labs.as_str(), "live labs"), ("5", "quiz questions")]
            .map(|(figure, label)| (figure.to_string(), label));
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
                {stats
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
            <PredictionTally />
        </header>
    }
}
