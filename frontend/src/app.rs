//! The page, top to bottom, in the order the lesson teaches.

use leptos::prelude::*;

use crate::components::connection_lab::ConnectionLab;
use crate::components::fan_out_facts::FanOutFacts;
use crate::components::lesson_header::LessonHeader;
use crate::components::quiz::{Quiz, saved_quiz};
use crate::components::scale_section::ScaleSection;
use crate::components::section_nav::SectionNav;
use crate::components::technology_cards::TechnologyCards;
use crate::components::tick_pipeline::TickPipeline;
use crate::components::why_websocket_callout::WhyWebsocketCallout;

#[component]
pub fn App() -> impl IntoView {
    // The quiz's progress, shared by the quiz and the nav's score.
    let quiz = RwSignal::new(saved_quiz());
    view! {
        <a class="skip-link" href="#main">"Skip to the lesson"</a>
        <LessonHeader />
        <SectionNav quiz=quiz />
        <main id="main">
            <ScaleSection />
            <WhyWebsocketCallout />
            <ConnectionLab />
            // The offline queue (#offline-queue) comes here.
            <TickPipeline />
            <FanOutFacts />
            <TechnologyCards />
            <Quiz state=quiz />
        </main>
        <footer class="page-footer">
            <p>"bluetick · every tick on this page comes from a real server over a real WebSocket."</p>
        </footer>
    }
}
