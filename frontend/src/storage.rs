//! The browser's `localStorage`, where the page keeps what a reload must find: the lab's
//! credentials, each device's inbox position and keys, quiz answers, predictions and
//! the guided path. `None` where the browser has none or forbids it: the page then works
//! and only forgets on reload.

pub fn local() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}
