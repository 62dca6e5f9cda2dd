//! The page, top to bottom, in the order the lesson teaches.

use leptos::prelude::*;

use crate::class::join_banner::JoinBanner;
use crate::class::projector_screen::ProjectorScreen;
use crate::components::guide::{GuidePanel, provide_guide_moments};
use crate::components::lab_gate::LabGate;
use crate::components::lesson_header::LessonHeader;
use crate::components::prediction::provide_predictions;
use crate::components::section_nav::SectionNav;
use crate::components::wire_inspector::{InspectorToggle, WireInspector};
use crate::lessons::connection::connection_lab::ConnectionLab;
use crate::lessons::connection::why_websocket_callout::WhyWebsocketCallout;
use crate::lessons::encryption::encryption_section::{EncryptionLab, EncryptionSection};
use crate::lessons::fanout::fan_out_facts::FanOutFacts;
use crate::lessons::fanout::fan_out_lab::FanOutLab;
use crate::lessons::offline::offline_queue_lab::OfflineQueueLab;
use crate::lessons::presence::presence_lab::PresenceLab;
use crate::lessons::quiz::quiz::{Quiz, saved_quiz};
use crate::lessons::scale::load_panel::LoadPanel;
use crate::lessons::scale::scale_section::ScaleSection;
use crate::lessons::technologies::technology_cards::TechnologyCards;
use crate::lessons::ticks::idempotent_insert_code::IdempotentInsertCode;
use crate::lessons::ticks::message_journey::MessageJourney;
use crate::lessons::ticks::tick_pipeline::TickPipeline;
use crate::live::lab_devices;

#[component]
pub fn App() -> impl IntoView {
    // The quiz's progress, shared by the quiz and the nav's score.
    let quiz = RwSignal::new(saved_quiz());
    // The labs' predictions, for the header's tally and every lab that asks one.
    provide_predictions();
    // This browser's lab sandbox on the server, and its live devices once it is ready.
    let status = crate::lab::start();
    let store = lab_devices::new_store();
    // Every frame of the page's devices, for the wire inspector.
    let wire = crate::live::wire::start();
    provide_guide_moments();
    // The student's class, if they came by an instructor's link or joined before.
    crate::class::provide_class(status, crate::components::guide::guide_moments());
    let inspector_open = RwSignal::new(false);
    crate::components::focus_keeper::install();
    view! {
        <a class="skip-link" href="#main">"Skip to the lesson"</a>
        // First on the page: a student who came by the instructor's link sees it at once.
        <JoinBanner />
        // The instructor's run, when one is on the projector: right under the banner.
        <ProjectorScreen />
        <LessonHeader />
        <SectionNav quiz=quiz>
            <InspectorToggle open=inspector_open />
        </SectionNav>
        <main id="main">
            <ScaleSection>
                <LabGate status store live=|devices| view! { <LoadPanel lab=devices.lab /> } />
            </ScaleSection>
            <WhyWebsocketCallout />
            <ConnectionLab status store />
            <OfflineQueueLab status store />
            <TickPipeline>
                <LabGate status store live=|devices| view! { <MessageJourney devices /> } />
                <IdempotentInsertCode />
            </TickPipeline>
            <FanOutFacts>
                <LabGate status store live=|devices| view! { <FanOutLab devices /> } />
            </FanOutFacts>
            <PresenceLab status store />
            <EncryptionSection>
                <LabGate status store live=|devices| view! { <EncryptionLab devices /> } />
            </EncryptionSection>
            <TechnologyCards />
            <Quiz state=quiz />
            // Last in the lesson, so that it sticks to the bottom of the screen while the
            // lesson scrolls (style/main.css) and settles here at the end.
            <LabGate status store live=move |devices| view! { <GuidePanel devices quiz /> } />
        </main>
        <WireInspector log=wire open=inspector_open />
        <footer class="page-footer">
            <p>"bluetick · every tick on this page comes from a real server over a real WebSocket."</p>
        </footer>
    }
}
