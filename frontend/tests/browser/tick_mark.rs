//! The tick mark in a real browser: every state is told in words as well as by symbol
//! and colour, and it follows the message's tick as receipts arrive.

use bluetick_frontend::components::tick_mark::TickMark;
use bluetick_frontend::lessons::ticks::idempotent_insert_code::IdempotentInsertCode;
use bluetick_shared::frames::TickState;
use leptos::mount::mount_to;
use leptos::prelude::*;
use leptos::task::tick;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

use crate::mount_root;

#[wasm_bindgen_test]
async fn the_tick_mark_says_each_state_in_words_and_follows_receipts() {
    let root = mount_root();
    let state = RwSignal::new(None::<TickState>);
    let _mounted = mount_to(root.clone().unchecked_into(), move || view! { <TickMark state=state /> });
    let shown = |root: &web_sys::Element| {
        let mark = root.query_selector(".tick-mark").unwrap().unwrap();
        (mark.get_attribute("data-tick").unwrap(), mark.class_name(), mark.text_content().unwrap())
    };
    assert_eq!(shown(&root).0, "sending");
    for (tick_state, word, symbol, colour) in [
        (TickState::Sent, "sent", "✓", "tick-grey"),
        (TickState::Delivered, "delivered", "✓✓", "tick-grey"),
        (TickState::Read, "read", "✓✓", "tick-blue"),
        (TickState::Failed, "failed", "⚠", "tick-red"),
    ] {
        state.set(Some(tick_state));
        tick().await;
        let (data, class, text) = shown(&root);
        assert_eq!(data, word);
        assert!(class.contains(colour), "{class}");
        assert_eq!(text, format!("{symbol} {word}"));
    }
}

#[wasm_bindgen_test]
async fn the_code_panel_shows_the_servers_real_insert() {
    let root = mount_root();
    let _mounted = mount_to(root.clone().unchecked_into(), || view! { <IdempotentInsertCode /> });
    let code = root.query_selector("pre.code").unwrap().unwrap().text_content().unwrap();
    assert!(code.contains("ON CONFLICT (sender_device, client_id) DO NOTHING"), "{code}");
    assert!(code.contains("SendOutcome::Duplicate"), "{code}");
    assert!(!code.contains("bluetick:idempotent-insert"), "markers are not shown");
}
