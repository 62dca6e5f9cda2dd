//! The fan-out lab's figures, in the order one group message moves through the system:
//! stored once, a delivery record written per member device, acknowledged by each
//! member's phone, a DELIVERED receipt back at the sender, then read.
//!
//! Why in that order, with the lag said aloud: the figures come from different places
//! (the database, per-member traces, the sender's receipts) and each step can only
//! trail the one before it. Side by side and unlabelled, "255 delivery records" next to
//! "0 recipients have the message" looks like a bug; in order, it is the pipeline.

use bluetick_shared::frames::GroupProgress;
use bluetick_shared::lab::MessageCopies;
use leptos::prelude::*;

use crate::lessons::fanout::member_grid::GridCounts;

#[component]
pub fn FanOutFigures(
    copies: RwSignal<Option<MessageCopies>>,
    #[prop(into)] progress: Signal<Option<GroupProgress>>,
    counts: RwSignal<GridCounts>,
    /// Deliveries per second and the time to the last one (ms), once known.
    #[prop(into)]
    rate: Signal<Option<(f64, f64)>>,
    /// Whether a message has been sent to this group.
    #[prop(into)]
    sent: Signal<bool>,
) -> impl IntoView {
    let recipients = move || counts.get().members.saturating_sub(1);
    let of_recipients = move |n: usize| if sent.get() { format!("{n}/{}", recipients()) } else { "–".into() };
    view! {
        <ol class="fanout-figures fanout-steps" aria-live="polite" data-testid="fanout-figures"
            aria-label="One group message, step by step">
            <li>
                <span class="step-name">"1. Stored messages"</span>
                <span class="step-figure" data-testid="fanout-rows">
                    {move || copies.get().map(|c| c.stored_rows.to_string()).unwrap_or("–".into())}
                </span>
                <span class="step-where">"database"</span>
            </li>
            <li>
                <span class="step-name">"2. Delivery records written"</span>
                <span class="step-figure" data-testid="fanout-records">
                    {move || copies.get().map(|c| c.deliveries.to_string()).unwrap_or("–".into())}
                </span>
                <span class="step-where">"database, one per member device, before any push"</span>
            </li>
            <li>
                <span class="step-name">"3. Acknowledged by members' phones"</span>
                <span class="step-figure" data-testid="fanout-acked">{move || of_recipients(counts.get().delivered)}</span>
                <span class="step-where">"per-member traces; the grid shows these"</span>
            </li>
            <li>
                <span class="step-name">"4. DELIVERED receipts back at Alice"</span>
                <span class="step-figure" data-testid="fanout-delivered">
                    {move || progress.get().map(|p| format!("{}/{}", p.delivered, p.total)).unwrap_or("–".into())}
                </span>
                <span class="step-where">"Alice's phone, as receipts arrive"</span>
            </li>
            <li>
                <span class="step-name">"5. Read"</span>
                <span class="step-figure" data-testid="fanout-read">
                    {move || progress.get().map(|p| format!("{}/{}", p.read, p.total)).unwrap_or("–".into())}
                </span>
                <span class="step-where">"READ receipts at Alice"</span>
            </li>
            <li>
                <span class="step-name">"Time to last delivery"</span>
                <span class="step-figure">{move || rate.get().map(|(_, ms)| format!("{ms:.0} ms")).unwrap_or("–".into())}</span>
            </li>
            <li>
                <span class="step-name">"Deliveries per second"</span>
                <span class="step-figure">{move || rate.get().map(|(r, _)| format!("{r:.0}")).unwrap_or("–".into())}</span>
            </li>
        </ol>
        <p class="fanout-lag">
            "Mid-run these numbers differ, and that is the pipeline, not a miscount: each step can only trail the one \
             before it. The server writes every delivery record (2) before pushing; a phone acknowledges (3) only once \
             the push reaches it; Alice's receipt (4) travels back after that; and a member reads (5) a few seconds \
             later still. Steps 1 and 2 are read from the database every half second, so they can trail the live \
             steps by that much."
        </p>
    }
}
