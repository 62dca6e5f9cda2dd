//! Keeps keyboard focus where the student is when a control they just pressed disables
//! itself (Connect, once the connection is up). Left alone, the browser drops focus to
//! `<body>` and the next Tab starts again from the top of a long page.
//!
//! One listener for the whole page: when focus leaves a control for nowhere because
//! that control became disabled, it moves to the control the disabled one names in
//! `data-focus-next` (ids, space-separated; the first one enabled wins), which is
//! usually the control that undoes what was pressed; without one, to the first enabled
//! control in the same group or section.

use gloo_timers::callback::Timeout;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Document, Element, FocusEvent, HtmlElement};

/// The controls focus may fall back to, within the disabled control's group.
const ENABLED_CONTROL: &str =
    "button:not(:disabled), input:not(:disabled), select:not(:disabled), textarea:not(:disabled), a[href]";

fn is_disabled(element: &Element) -> bool {
    js_sys::Reflect::get(element, &"disabled".into()).ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

/// Where focus should go instead of `<body>` now that `lost` is disabled.
fn successor(document: &Document, lost: &Element) -> Option<HtmlElement> {
    let named = lost.get_attribute("data-focus-next").unwrap_or_default();
    let named = named.split_whitespace().filter_map(|id| document.get_element_by_id(id)).find(|e| !is_disabled(e));
    let nearby = || {
        let group = lost.closest("[role=group], .controls, section").ok().flatten()?;
        group.query_selector(ENABLED_CONTROL).ok().flatten()
    };
    named.or_else(nearby).and_then(|e| e.dyn_into::<HtmlElement>().ok())
}

/// Starts watching; call once for the page.
pub fn install() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else { return };
    let watcher = {
        let document = document.clone();
        Closure::<dyn Fn(FocusEvent)>::new(move |event: FocusEvent| {
            // Focus moving to another element on purpose is not our business.
            if event.related_target().is_some() {
                return;
            }
            let Some(lost) = event.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
            if !is_disabled(&lost) {
                return;
            }
            // After the browser has finished moving focus to <body>, and only if nothing
            // else took it meanwhile.
            let document = document.clone();
            Timeout::new(0, move || {
                let dropped =
                    document.active_element().is_none_or(|active| Some(&active) == document.body().as_deref());
                if dropped && let Some(next) = successor(&document, &lost) {
                    let _ = next.focus();
                }
            })
            .forget();
        })
    };
    let _ = document.add_event_listener_with_callback("focusout", watcher.as_ref().unchecked_ref());
    // The listener lives as long as the page.
    watcher.forget();
}
