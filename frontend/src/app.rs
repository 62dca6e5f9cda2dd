//! The page, top to bottom, in the order the lesson teaches.

use leptos::prelude::*;

use crate::components::connection_lab::ConnectionLab;
use crate::components::encryption_section::{EncryptionLab, EncryptionSection};
use crate::components::fan_out_facts::FanOutFacts;
use crate::components::fan_out_lab::FanOutLab;
use crate::components::idempotent_insert_code::IdempotentInsertCode;
use crate::components::lab_gate::LabGate;
use crate::components::lesson_header::LessonHeader;
use crate::components::load_panel::LoadPanel;
use crate::components::message_journey::MessageJourney;
use crate::components::offline_queue_lab::OfflineQueueLab;
use crate::components::presence_lab::PresenceLab;
use crate::components::quiz::{Quiz, saved_quiz};
use crate::components::scale_section::ScaleSection;
use crate::components::section_nav::SectionNav;
use crate::components::technology_cards::TechnologyCards;
use crate::components::tick_pipeline::TickPipeline;
use crate::components::why_websocket_callout::WhyWebsocketCallout;
use crate::components::wire_inspector::WireInspector;
use crate::live::lab_devices;

#[component]
pub fn App() -> impl IntoView {
    // The quiz's progress, shared by the quiz and the nav's score.
    let quiz = RwSignal::new(saved_quiz());
    // This browser's lab sandbox on the server, and its live devices once it is ready.
    let status = crate::lab::start();
    let store = lab_devices::new_store();
    // Every frame of the page's devices, for the wire inspector.
    let wire = crate::live::wire::start();
    view! {
        <a class="skip-link" href="#main">"Skip to the lesson"</a>
        <LessonHeader />
        <SectionNav quiz=quiz />
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
        </main>
        <WireInspector log=wire />
        <footer class="page-footer">
            <p>"bluetick · every tick on this page comes from a real server over a real WebSocket."</p>
        </footer>
    }
}
