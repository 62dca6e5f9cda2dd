//! The page.

use leptos::prelude::*;

use crate::components::connection_lab::ConnectionLab;
use crate::components::lesson_header::LessonHeader;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to the lesson"</a>
        <LessonHeader />
        <main id="main">
            <ConnectionLab />
        </main>
        <footer class="page-footer">
            <p>"bluetick · every tick on this page comes from a real server over a real WebSocket."</p>
        </footer>
    }
}
