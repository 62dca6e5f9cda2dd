//! The state diagram in a real browser: it renders the four states and follows the
//! connection's state as it changes.

use bluetick_frontend::lessons::connection::state_machine_diagram::StateMachineDiagram;
use bluetick_shared::connection::ConnectionState;
use leptos::mount::mount_to;
use leptos::prelude::*;
use leptos::task::tick;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

fn current_states(root: &web_sys::Element) -> Vec<String> {
    let found = root.query_selector_all("[aria-current=step]").unwrap();
    (0..found.length())
        .map(|i| {
            let el: web_sys::Element = found.item(i).unwrap().unchecked_into();
            el.get_attribute("data-state").unwrap()
        })
        .collect()
}

#[wasm_bindgen_test]
async fn diagram_marks_exactly_the_current_state_and_follows_it() {
    let document = document();
    let root = document.create_element("section").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let state = RwSignal::new(ConnectionState::Disconnected);
    let _mounted = mount_to(root.clone().unchecked_into(), move || {
        view! { <StateMachineDiagram state=state /> }
    });

    let names: Vec<String> = {
        let items = root.query_selector_all(".state-name").unwrap();
        (0..items.length()).map(|i| items.item(i).unwrap().text_content().unwrap()).collect()
    };
    assert_eq!(names, ["DISCONNECTED", "CONNECTING", "CONNECTED", "RECONNECTING"]);
    assert_eq!(current_states(&root), ["DISCONNECTED"]);

    state.set(ConnectionState::Reconnecting);
    tick().await;
    assert_eq!(current_states(&root), ["RECONNECTING"]);
    let current = root.query_selector("[aria-current=step]").unwrap().unwrap();
    assert!(
        current.text_content().unwrap().contains("(current state)"),
        "the current state is named in text, not only shown by colour"
    );
}
