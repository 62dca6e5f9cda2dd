//! Time and randomness from the browser, in the shapes the shared logic wants.

/// Milliseconds since the Unix epoch.
pub fn now_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// A uniform draw in [0, 1), for backoff jitter.
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// `HH:MM:SS.mmm` in local time, for event logs.
pub fn time_of_day(ms: u64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds(),
        date.get_milliseconds()
    )
}

/// The time as a signal, refreshed every `every_ms` for as long as the page lives (for
/// countdowns and ages on screen).
pub fn ticking_now(every_ms: u32) -> leptos::prelude::RwSignal<u64> {
    use leptos::prelude::Set;
    let now = leptos::prelude::RwSignal::new(now_ms());
    gloo_timers::callback::Interval::new(every_ms, move || now.set(now_ms())).forget();
    now
}
