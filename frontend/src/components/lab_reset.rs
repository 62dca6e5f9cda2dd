//! A lab's reset: one button per lab that puts back what the lab changed, on the server
//! and on the page, as a newcomer finds it; says what it did; and hands focus to the
//! lab's first control, where a fresh run starts. What the student has learned stays:
//! predictions, the guided path and the quiz are not a lab's to undo.

use std::future::Future;

use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// `lab` names it for the button ("Reset the offline queue"); `first` is the id of the
/// control focus goes to once it is done; `reset` does the work and answers what it
/// did, or what it could not do.
#[component]
pub fn LabReset<F, Fut>(lab: &'static str, first: &'static str, reset: F) -> impl IntoView
where
    F: Fn() -> Fut + 'static,
    Fut: Future<Output = Result<String, String>> + 'static,
{
    let said = RwSignal::new(None::<Result<String, String>>);
    let press = move |_| {
        said.set(Some(Ok("Resetting…".into())));
        let work = reset();
        wasm_bindgen_futures::spawn_local(async move {
            let done = work.await;
            let worked = done.is_ok();
            said.set(Some(done));
            if worked {
                // After the page has redrawn: the control may only now be enabled.
                gloo_timers::future::TimeoutFuture::new(0).await;
                focus(first);
            }
        });
    };
    view! {
        <div class="lab-reset">
            <button type="button" class="secondary reset-button" on:click=press>{format!("↺ Reset {lab}")}</button>
            <p class="reset-line" data-testid="reset-line" role="status">
                {move || match said.get() {
                    Some(Ok(words)) => words,
                    Some(Err(why)) => format!("⚠ {why}"),
                    None => String::new(),
                }}
            </p>
        </div>
    }
}

fn focus(id: &str) {
    let element = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(id));
    if let Some(element) = element.and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
        let _ = element.focus();
    }
}
