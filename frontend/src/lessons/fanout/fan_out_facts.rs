//! "The fan-out problem": why groups are the expensive part of messaging, the four
//! ideas that tame them, and how three platforms chose differently. The facts and numbers
//! are the lesson's; the live fan-out lab (`fan_out_lab`) comes in as its children.

use leptos::prelude::*;

const CARDS: [(&str, &str); 4] = [
    (
        "Store once",
        "The message content is written a single time. Each recipient gets only a small delivery record that \
         points at it.",
    ),
    (
        "Kafka fan-out",
        "A group message goes onto a Kafka topic. The delivery server responsible for each recipient consumes \
         it and hands it to the users connected to that server.",
    ),
    (
        "Participant list",
        "Membership lives in a table of its own. Fan-out reads the members and emits one delivery event for \
         each. The limit of 1,024 members is checked when someone joins, at write time, never while a \
         message is on its way.",
    ),
    (
        "Async delivery",
        "The sender sees SENT straight away. Delivered and read receipts then come back one recipient at a \
         time, as each device catches up.",
    ),
];

/// Platform, largest group, architecture, trade-off.
const PLATFORMS: [(&str, &str, &str, &str); 3] = [
    (
        "WhatsApp",
        "1,024",
        "Fan-out for every message, delivered through Kafka",
        "Groups stay smaller; delivery guarantees are strong",
    ),
    (
        "Telegram",
        "200,000",
        "Channel model; group chats are not end-to-end encrypted",
        "Huge groups, at the cost of privacy",
    ),
    (
        "Signal",
        "1,000",
        "End-to-end encrypted groups; the sender's phone does the fan-out",
        "Privacy comes first; the sender uses more bandwidth",
    ),
];

#[component]
pub fn FanOutFacts(#[prop(optional)] children: Option<Children>) -> impl IntoView {
    view! {
        <section id="fan-out" class="lab-section" aria-labelledby="fan-out-title">
            <h2 id="fan-out-title">"The fan-out problem"</h2>
            <p class="lede">
                "In a group, one message becomes one delivery per member. Send to a 1,000-member group and the "
                "servers have 1,000 deliveries to make."
            </p>
            <p class="equation">
                <span>"58K messages/s"</span>
                <span class="op">"×"</span>
                <span>"1K recipients"</span>
                <span class="op">"="</span>
                <strong>"58M operations/s"</strong>
            </p>
            {children.map(|children| children())}
            <p>
                "That is the load of large-group delivery. Broadcasting each message naively to every member "
                "would melt a cluster, so the work is split up:"
            </p>
            <ul class="cards" aria-label="How fan-out is kept affordable">
                {CARDS
                    .into_iter()
                    .map(|(title, text)| {
                        view! {
                            <li class="card">
                                <h3>{title}</h3>
                                <p>{text}</p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
            <div class="table-scroll" role="region" aria-labelledby="platform-table-caption" tabindex="0">
                <table class="platform-table">
                    <caption id="platform-table-caption">"How three platforms handle groups"</caption>
                    <thead>
                        <tr>
                            <th scope="col">"Platform"</th>
                            <th scope="col">"Largest group"</th>
                            <th scope="col">"Architecture"</th>
                            <th scope="col">"Trade-off"</th>
                        </tr>
                    </thead>
                    <tbody>
                        {PLATFORMS
                            .into_iter()
                            .map(|(platform, size, architecture, trade_off)| {
                                view! {
                                    <tr>
                                        <th scope="row">{platform}</th>
                                        <td class="numeric">{size}</td>
                                        <td>{architecture}</td>
                                        <td>{trade_off}</td>
                                    </tr>
                                }
                            })
                            .collect_view()}
                    </tbody>
                </table>
            </div>
        </section>
    }
}
