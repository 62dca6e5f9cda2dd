//! The browser side of the protocol.
//!
//! [`socket`] wraps the browser's WebSocket; [`connection`] drives the shared connection
//! state machine with it; [`device`] binds the shared phone model (inbox cursor, outbox,
//! ticks, what the phone shows) to signals; [`e2e`] keeps a phone's encryption keys and
//! sessions; [`lab_devices`] makes the lab's three devices once per page; [`wire`]
//! records every frame for the wire inspector.

pub mod connection;
pub mod device;
pub mod e2e;
pub mod lab_devices;
pub mod socket;
pub mod wire;

/// `ws://<this page's host>/ws` (or `wss://` on https): the backend that served the
/// page, or `trunk serve`'s proxy to it.
pub fn ws_url() -> String {
    let location = web_sys::window().expect("a window").location();
    let scheme = match location.protocol().as_deref() {
        Ok("https:") => "wss",
        _ => "ws",
    };
    let host = location.host().unwrap_or_else(|_| "127.0.0.1:8080".into());
    format!("{scheme}://{host}/ws")
}
