//! The state diagram in a real browser: it draws the four states, marks the current one
//! by word as well as colour, and says the last transition under the drawing.

use bluetick_frontend::lessons::connection::state_machine_diagram::StateMachineDiagram;
use bluetick_shared::connection::ConnectionState;
use bluetick_shared::connection_diagram::{Arrow, Cause, Step};
use leptos::mount::mount_to;
use leptos::prelude::*;
use leptos::task::tick;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

fn current_states(root: &web_sys::Element) -> Vec<String> {
    let found = root.query_selector_all("[data-current=true]").unwrap();
    (0..found.length())
        .map(|i| {
            let el: web_sys::Element = found.item(i).unwrap().unchecked_into();
            el.get_attribute("data-state").unwrap()
        })
        .collect()
}

fn text_of(root: &web_sys::Element, selector: &str) -> String {
    root.query_selector(selector).unwrap().unwrap().text_content().unwrap()
}

#[wasm_bindgen_test]
async fn diagram_marks_exactly_the_current_state_and_says_the_last_transition() {
    let document = document();
    let root = document.create_element("section").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let state = RwSignal::new(ConnectionState::Disconnected);
    let last = RwSignal::new(None::<Step>);
    let _mounted = mount_to(root.clone().unchecked_into(), move || {
        view! { <StateMachineDiagram state=state last=last /> }
    });

    let names: Vec<String> = {
        let items = root.query_selector_all(".state-name").unwrap();
        (0..items.length()).map(|i| items.item(i).unwrap().text_content().unwrap()).collect()
    };
    assert_eq!(names.len(), 4);
    for (name, state) in names.iter().zip(["DISCONNECTED", "CONNECTING", "CONNECTED", "RECONNECTING"]) {
        assert!(name.ends_with(state), "{name} names {state} in words");
    }
    assert_eq!(current_states(&root), ["DISCONNECTED"]);
    assert!(text_of(&root, "[data-testid=last-transition]").contains("none yet"));

    state.set(ConnectionState::Connected);
    last.set(Some(Step {
        from: ConnectionState::Connecting,
        to: ConnectionState::Connected,
        arrow: Arrow::Welcome,
        cause: Cause::Welcome,
    }));
    tick().await;
    assert_eq!(current_states(&root), ["CONNECTED"]);
    assert!(text_of(&root, "[data-testid=last-transition]").contains("CONNECTING → CONNECTED"));
}
