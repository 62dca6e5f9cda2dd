//! The bar at the top of the lesson: a link to every section, a mark on each section
//! the student has reached, the quiz score, and the page's tools (the wire inspector's
//! button). It exists so a long page can be read in any order without losing track of
//! what is left. It is one line on a laptop: short link names, and links that do not
//! fit scroll sideways, with a shadow at the edge that has more.
//!
//! A section counts as visited once any part of it has crossed the upper half of the
//! viewport (an `IntersectionObserver`, so nothing runs on every scroll event). Each
//! section counts once; sections not on the page yet are linked but not counted.

use bluetick_shared::quiz::{QuizState, TOTAL};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit};

/// Every section of the lesson, in page order: its element id and the link's text.
/// A new section needs one line here (and an element with that id on the page).
pub const SECTIONS: &[(&str, &str)] = &[
    ("scale", "Scale"),
    ("state-machine", "Connection"),
    ("offline-queue", "Offline"),
    ("tick-pipeline", "Ticks"),
    ("fan-out", "Fan-out"),
    ("presence", "Presence"),
    ("encryption", "Encryption"),
    ("technologies", "Tech"),
    ("quiz", "Quiz"),
];

/// The band of the viewport a section must reach to count: from 15% below the top to
/// half way down.
const READING_BAND: &str = "-15% 0px -50% 0px";

type ObserverCallback = Closure<dyn FnMut(js_sys::Array, IntersectionObserver)>;

/// Watches the listed sections that are on the page; calls `on_reach` with each id as
/// it enters the reading band. Returns the observer, its callback and how many sections
/// it watches.
fn watch_sections(
    on_reach: impl Fn(&'static str) + 'static,
) -> Option<(IntersectionObserver, ObserverCallback, usize)> {
    let document = web_sys::window()?.document()?;
    let callback: ObserverCallback = Closure::new(move |entries: js_sys::Array, _: IntersectionObserver| {
        for entry in entries.iter() {
            let entry: IntersectionObserverEntry = entry.unchecked_into();
            if !entry.is_intersecting() {
                continue;
            }
            let id = entry.target().id();
            if let Some(&(id, _)) = SECTIONS.iter().find(|(known, _)| *known == id) {
                on_reach(id);
            }
        }
    });
    let options = IntersectionObserverInit::new();
    options.set_root_margin(READING_BAND);
    let observer = IntersectionObserver::new_with_options(callback.as_ref().unchecked_ref(), &options).ok()?;
    let mut watched = 0;
    for (id, _) in SECTIONS {
        if let Some(section) = document.get_element_by_id(id) {
            observer.observe(&section);
            watched += 1;
        }
    }
    Some((observer, callback, watched))
}

fn quiz_progress(quiz: &QuizState) -> String {
    match (quiz.answered(), quiz.is_finished()) {
        (0, _) => "Quiz not started".to_string(),
        (_, true) => format!("Quiz score {}/{TOTAL}", quiz.score()),
        (answered, false) => format!("Quiz {}/{answered} correct", quiz.score()),
    }
}

#[component]
pub fn SectionNav(#[prop(into)] quiz: Signal<QuizState>, children: Children) -> impl IntoView {
    let visited = RwSignal::new(Vec::<&'static str>::new());
    let current = RwSignal::new(None::<&'static str>);
    let watched = RwSignal::new(0usize);
    let observer = StoredValue::new_local(None::<(IntersectionObserver, ObserverCallback)>);

    // After the page is mounted, so that the sections exist.
    Effect::new(move || {
        let reached = move |id: &'static str| {
            current.try_set(Some(id));
            visited.try_update(|seen| {
                if !seen.contains(&id) {
                    seen.push(id);
                }
            });
        };
        if let Some((found, callback, count)) = watch_sections(reached) {
            watched.set(count);
            observer.set_value(Some((found, callback)));
        }
    });
    // The class, if any, hears of each section once (also those seen before joining).
    if let Some(class) = crate::class::use_class() {
        Effect::new(move || {
            if class.joined.with(Option::is_some) {
                for id in visited.get() {
                    class.report(bluetick_shared::class::Progress::Section { key: id.into() });
                }
            }
        });
    }
    // On a phone the links scroll sideways: keep the section being read in view there.
    let links = NodeRef::<leptos::html::Ol>::new();
    Effect::new(move || {
        let (Some(id), Some(list)) = (current.get(), links.get()) else { return };
        let selector = format!("a[data-section=\"{id}\"]");
        if let Some(link) = list.query_selector(&selector).ok().flatten() {
            let link: web_sys::HtmlElement = link.unchecked_into();
            let middle = link.offset_left() - list.offset_left() + link.offset_width() / 2;
            list.set_scroll_left(middle - list.client_width() / 2);
        }
    });
    on_cleanup(move || {
        observer.try_update_value(|held| {
            if let Some((found, _)) = held.take() {
                found.disconnect();
            }
        });
    });

    let progress = move || {
        let (seen, of) = (visited.with(Vec::len), watched.get());
        format!("{seen}/{of} sections visited")
    };

    view! {
        <nav class="section-nav" aria-label="Lesson sections">
            <div class="section-nav-inner">
                <ol class="section-links" node_ref=links>
                    {SECTIONS
                        .iter()
                        .map(|&(id, title)| {
                            let seen = move || visited.with(|v| v.contains(&id));
                            view! {
                                <li>
                                    <a
                                        href=format!("#{id}")
                                        class:visited=seen
                                        data-section=id
                                        aria-current=move || (current.get() == Some(id)).then_some("location")
                                    >
                                        <span class="visit-mark" aria-hidden="true">
                                            {move || if seen() { "✓" } else { "○" }}
                                        </span>
                                        {title}
                                        <span class="visually-hidden">
                                            {move || if seen() { " (visited)" } else { "" }}
                                        </span>
                                    </a>
                                </li>
                            }
                        })
                        .collect_view()}
                </ol>
                <p class="nav-progress">
                    <span data-testid="sections-visited">{progress}</span>
                    <span aria-hidden="true">" · "</span>
                    <span data-testid="quiz-progress">{move || quiz.with(quiz_progress)}</span>
                </p>
                <div class="nav-tools">{children()}</div>
            </div>
        </nav>
    }
}
