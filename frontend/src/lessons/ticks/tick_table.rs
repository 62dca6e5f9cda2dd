//! The four ticks as a real table: what each one looks like, when it appears and what
//! the server does at that moment. Each tick is shown by its symbol and named in words,
//! so nobody has to tell grey from blue to read it.

use leptos::prelude::*;

/// One row: state, symbol, the symbol in words, the CSS modifier, when, server action.
struct TickRow {
    state: &'static str,
    symbol: &'static str,
    words: &'static str,
    tone: &'static str,
    when: &'static str,
    server: &'static str,
}

const ROWS: [TickRow; 4] = [
    TickRow {
        state: "SENT",
        symbol: "✓",
        words: "one grey tick",
        tone: "grey",
        when: "The server has acknowledged the message coming from the sender's device.",
        server: "Stores it in the database and forwards it to the recipient's server.",
    },
    TickRow {
        state: "DELIVERED",
        symbol: "✓✓",
        words: "two grey ticks",
        tone: "grey",
        when: "The recipient's device has acknowledged the copy the server pushed to it.",
        server: "Records delivered_at.",
    },
    TickRow {
        state: "READ",
        symbol: "✓✓",
        words: "two blue ticks",
        tone: "blue",
        when: "The recipient opened the chat and their app sent a read receipt.",
        server: "Records read_at and pushes the receipt on to the sender.",
    },
    TickRow {
        state: "FAILED",
        symbol: "⚠",
        words: "red warning sign",
        tone: "red",
        when: "Still undelivered after 30 days: the delivery timed out.",
        server: "Moves it to the dead-letter queue and tells the sender.",
    },
];

#[component]
pub fn TickTable() -> impl IntoView {
    view! {
        <div class="table-scroll" role="region" aria-labelledby="tick-table-caption" tabindex="0">
            <table class="tick-table">
                <caption id="tick-table-caption">"The four ticks a message can show"</caption>
                <thead>
                    <tr>
                        <th scope="col">"State"</th>
                        <th scope="col">"Tick"</th>
                        <th scope="col">"When"</th>
                        <th scope="col">"Server action"</th>
                    </tr>
                </thead>
                <tbody>
                    {ROWS
                        .iter()
                        .map(|row| {
                            view! {
                                <tr data-tick=row.state>
                                    <th scope="row" class="tick-state">{row.state}</th>
                                    <td>
                                        <span class=format!("tick-symbol tick-{}", row.tone) aria-hidden="true">
                                            {row.symbol}
                                        </span>
                                        " "
                                        <span class="tick-words">{row.words}</span>
                                    </td>
                                    <td>{row.when}</td>
                                    <td>{row.server}</td>
                                </tr>
                            }
                        })
                        .collect_view()}
                </tbody>
            </table>
        </div>
        <p class="key-point">
            "Every tick is an acknowledgment at the application level, sent by the apps and the server on "
            "purpose. It is not something TCP promises: TCP only says the bytes reached the other machine, "
            "not that a message was stored, handed to the right phone or read by a person."
        </p>
    }
}
