//! "From sender to blue ticks": the path one message takes between two phones, and what
//! each tick along the way means. The tick table is its own component; the live
//! pipeline (`message_journey`) and the real insert code come in as this section's
//! children.

use leptos::prelude::*;

use crate::lessons::ticks::tick_table::TickTable;

/// The hops, in order: where the message is, and what happens there.
const HOPS: [(&str, &str); 8] = [
    ("Sender's device", "encrypts the message"),
    ("WebSocket", "carries it up to the server"),
    ("Chat server", "stores the ciphertext"),
    ("Redis check", "is the recipient online?"),
    ("Dedup layer", "is this msg_id new?"),
    ("Recipient's server", "finds the recipient's open connection"),
    ("WebSocket push", "carries it down to the phone"),
    ("Recipient's device", "decrypts it locally"),
];

#[component]
pub fn TickPipeline(#[prop(optional)] children: Option<Children>) -> impl IntoView {
    view! {
        <section id="tick-pipeline" class="lab-section" aria-labelledby="tick-pipeline-title">
            <h2 id="tick-pipeline-title">"From sender to blue ticks"</h2>
            <p class="lede">
                "A message passes through eight stops between two phones. The ticks tell the sender how far it "
                "has got."
            </p>
            <ol class="hop-list" aria-label="The path of one message">
                {HOPS
                    .into_iter()
                    .map(|(stop, what)| {
                        view! {
                            <li class="hop">
                                <span class="hop-stop">{stop}</span>
                                <span class="hop-what">{what}</span>
                            </li>
                        }
                    })
                    .collect_view()}
            </ol>
            {children.map(|children| children())}
            <TickTable />
        </section>
    }
}
