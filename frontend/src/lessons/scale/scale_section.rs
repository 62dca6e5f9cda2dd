//! "58,000 messages per second": the numbers that make this a design problem, and the
//! four ideas the rest of the page builds on. It comes first because every later choice
//! (WebSocket, the offline queue, dedup, fan-out) is justified by these figures. The
//! live load panel (`load_panel`) comes in as its children, after the four ideas.

use leptos::prelude::*;

/// The arithmetic, as figure and meaning.
const FIGURES: [(&str, &str); 3] =
    [("2B", "people using it"), ("5B", "messages sent a day"), ("≈ 58K", "messages every second (5B ÷ 86,400 s)")];

/// The four concepts: title, the idea, and the detail that makes it work.
const CONCEPTS: [(&str, &str, &str); 4] = [
    (
        "Persistent connections",
        "Every phone keeps one WebSocket open rather than asking over HTTP, so the server can push a new \
         message the moment it has one, with no polling.",
        "A single server keeps around 100,000 of these long-lived connections open at the same time.",
    ),
    (
        "Exactly-once delivery",
        "Each message carries a message_id chosen by its sender, and the server never delivers the same id \
         twice.",
        "The insert is idempotent (ON CONFLICT DO NOTHING): when a nervous sender retries, the second copy \
         changes nothing.",
    ),
    (
        "Offline queue",
        "While the recipient is offline, their messages wait in a queue on the server; when the phone comes \
         back, the queue drains first in, first out.",
        "A push notification through APNs (iPhone) or FCM (Android) wakes the app so that it reconnects.",
    ),
    (
        "End-to-end encryption",
        "With the Signal protocol a message is encrypted on the sending phone and decrypted only on the \
         receiving one; the server stores and forwards ciphertext.",
        "So the operator cannot read it either, and neither can anyone who serves the operator with a court \
         order.",
    ),
];

#[component]
pub fn ScaleSection(#[prop(optional)] children: Option<Children>) -> impl IntoView {
    view! {
        <section id="scale" class="lab-section" aria-labelledby="scale-title">
            <h2 id="scale-title">"58,000 messages per second"</h2>
            <ul class="figure-row" aria-label="The scale in numbers">
                {FIGURES
                    .into_iter()
                    .map(|(figure, meaning)| {
                        view! {
                            <li class="figure">
                                <span class="figure-number">{figure}</span>
                                <span class="figure-meaning">{meaning}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <p>
                "Two billion people send five billion messages a day. Spread over the 86,400 seconds of a day, "
                "that averages out at about 58,000 messages a second, day and night."
            </p>
            <p class="key-point">
                "Volume is only half of it. Every one of those messages has to reach its recipient "
                <strong>"exactly once"</strong>
                ", even if their phone is switched off when it is sent: never twice, never skipped, never lost."
            </p>
            <ul class="cards" aria-label="Four ideas this lesson builds on">
                {CONCEPTS
                    .into_iter()
                    .map(|(title, idea, detail)| {
                        view! {
                            <li class="card">
                                <h3>{title}</h3>
                                <p>{idea}</p>
                                <p class="card-detail">{detail}</p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            {children.map(|children| children())}
        </section>
    }
}
