//! The browser side of the protocol.

pub mod connection;
pub mod socket;

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
