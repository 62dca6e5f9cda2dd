//! "From sender to blue ticks": the path one message takes between two phones, and what
//! each tick along the way means. The stops are drawn once, live, by the pipeline
//! (`message_journey`); it and the real insert code come in as this section's children,
//! and the tick table is its own component.

use leptos::prelude::*;

use crate::lessons::ticks::tick_table::TickTable;

#[component]
pub fn TickPipeline(#[prop(optional)] children: Option<Children>) -> impl IntoView {
    view! {
        <section id="tick-pipeline" class="lab-section" aria-labelledby="tick-pipeline-title">
            <h2 id="tick-pipeline-title">"From sender to blue ticks"</h2>
            <p class="lede">
                "A message passes through eight stops between two phones, and its read receipt travels back. "
                "The ticks tell the sender how far it has got. Below, the stops light up from the real "
                "server's trace of one message; slow it down, step it, or replay it afterwards."
            </p>
            {children.map(|children| children())}
            <TickTable />
        </section>
    }
}
