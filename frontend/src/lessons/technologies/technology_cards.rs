//! "Why each technology": the four choices of the design, what each buys, the obvious
//! alternative and why it loses, and where the same role lives in bluetick's embedded
//! default. The last part matters: students run bluetick on one machine, so they should
//! see which of its parts stands in for Kafka or Redis, and where to read that code.

use leptos::prelude::*;

struct Technology {
    role: &'static str,
    choice: &'static str,
    /// What the choice buys, one point each.
    because: &'static [&'static str],
    not: &'static str,
    why_not: &'static str,
    /// Where bluetick plays the same role, and how.
    here: &'static str,
    /// The code that does it, or `None` while it is still to come.
    code: Option<&'static str>,
}

const TECHNOLOGIES: [Technology; 4] = [
    Technology {
        role: "Transport",
        choice: "WebSocket",
        because: &[
            "The server pushes the instant something happens.",
            "One persistent connection pays for the TLS handshake once, not on every request.",
            "Its binary frames cost far fewer bytes than a set of HTTP headers.",
        ],
        not: "long-polling",
        why_not: "it keeps returning empty responses every few seconds, and each one costs bandwidth.",
        here: "An axum WebSocket gateway runs each connection from the HTTP upgrade to the close: the \
               handshake, frames in and out, acks and the heartbeat timer.",
        code: Some("backend/src/gateway/"),
    },
    Technology {
        role: "Message queue",
        choice: "Kafka",
        because: &[
            "A durable log that can be replayed: a delivery server that crashes starts again from its last \
             offset.",
            "Partitions spread the log across machines, which is how it keeps up with 58K messages a second.",
            "Each consumer pulls at its own pace.",
        ],
        not: "RabbitMQ",
        why_not: "once a message has been consumed it is gone, so nothing can be replayed and a message lost \
                  after that point is a delivery lost.",
        here: "Each device has an inbox table in SQLite, written by one writer thread that commits in groups. \
               It is a durable, ordered log per device that can be replayed: a device that reconnects \
               resumes right after the last sequence number it acknowledged.",
        code: Some("backend/src/store/"),
    },
    Technology {
        role: "Presence",
        choice: "Redis TTL keys",
        because: &[
            "A key online:{user_id} lives for 30 seconds, and every heartbeat (a ping frame) renews it.",
            "When the key expires, the user is offline: nobody has to notice the phone vanishing.",
            "Reading it is O(1) and takes microseconds.",
        ],
        not: "PostgreSQL",
        why_not: "a database query on every delivery is too slow at 58K messages a second.",
        here: "An in-memory presence table. Every connection must send a heartbeat frame within the TTL, or \
               the server closes it and the device goes offline.",
        code: Some("backend/src/presence.rs"),
    },
    Technology {
        role: "Encryption",
        choice: "the Signal protocol",
        because: &[
            "The Double Ratchet gives forward secrecy: a key stolen today does not unlock yesterday's \
             messages.",
            "Pre-keys published in advance let a sender start an encrypted session with someone who is \
             offline.",
            "It has been attacked in public for years and held up.",
        ],
        not: "home-made crypto",
        why_not: "cryptography fails in ways its own authors cannot see; only proven designs are safe.",
        here: "vodozemac, an audited implementation of the same ideas: Olm for one-to-one chats and Megolm \
               sender keys for groups. The encryption section above runs it in this page's phones.",
        code: Some("shared/src/e2e/mod.rs"),
    },
];

#[component]
pub fn TechnologyCards() -> impl IntoView {
    view! {
        <section id="technologies" class="lab-section" aria-labelledby="technologies-title">
            <h2 id="technologies-title">"Why each technology"</h2>
            <p class="lede">
                "Four roles, the tool the design picks for each, and the part of bluetick that plays the same "
                "role on your machine."
            </p>
            <ul class="cards tech-cards">
                {TECHNOLOGIES
                    .iter()
                    .map(|tech| {
                        view! {
                            <li class="card tech-card">
                                <h3>
                                    <span class="tech-role">{tech.role}</span>
                                    <span class="visually-hidden">": "</span>
                                    <span class="tech-choice">{tech.choice}</span>
                                </h3>
                                <ul class="tech-because">
                                    {tech.because.iter().map(|point| view! { <li>{*point}</li> }).collect_view()}
                                </ul>
                                <p class="tech-not">
                                    <strong>{format!("Not {}: ", tech.not)}</strong>
                                    {tech.why_not}
                                </p>
                                <p class="tech-here">
                                    <strong>"In bluetick: "</strong>
                                    {tech.here}
                                    {tech.code.map(|path| view! { " " <code>{path}</code> })}
                                </p>
                            </li>
                        }
                    })
                    .collect_view()}
            </ul>
        </section>
    }
}
