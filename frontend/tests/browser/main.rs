//! The page's pieces in a real browser (headless Chromium through chromedriver), run by
//! `cargo test -p bluetick-frontend --target wasm32-unknown-unknown`. One test binary, one
//! file per piece: the wasm is linked, bound and loaded into Chromium once, not per file.

use leptos::prelude::document;
use wasm_bindgen_test::wasm_bindgen_test_configure;

wasm_bindgen_test_configure!(run_in_browser);

mod olm_round_trip;
mod quiz;
mod state_machine_diagram;
mod tick_mark;

/// A fresh element on the page to mount one component into.
fn mount_root() -> web_sys::Element {
    let root = document().create_element("div").unwrap();
    document().body().unwrap().append_child(&root).unwrap();
    root
}
