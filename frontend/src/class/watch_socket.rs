//! A class's watch socket, the same for the instructor's board and a student's
//! projector: it opens a WebSocket, sends its hello first (a browser cannot put a header
//! on a WebSocket), hands every text frame to the owner, and reopens a socket that
//! dropped (the server starts each socket with the whole state, which makes up for
//! anything missed). A refusal the server states with a close code is said once and not
//! retried.
//!
//! The socket's handlers live beside it and go with it: a reopened socket replaces the
//! old one and its handlers, and [`WatchSocket::close`] lets go of both.

use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

/// Wait before reopening a dropped socket.
const REOPEN_MS: u32 = 1_000;

/// Where the watch is, in words for the page (never colour alone).
#[derive(Debug, Clone, PartialEq)]
pub enum WatchState {
    Connecting,
    Live,
    Reconnecting,
    Refused(String),
}

/// `ws://host/path` for this page's server.
pub fn url(path: &str) -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}{path}", location.host().ok()?))
}

/// What a watch needs to open (and reopen) its socket.
struct Plan {
    url: String,
    hello: String,
    /// Close codes that mean "do not come back", with what to tell the person.
    refusals: &'static [(u16, &'static str)],
    on_frame: Rc<dyn Fn(&str)>,
}

/// The open socket and the handlers it calls.
struct Open {
    socket: WebSocket,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Open {
    fn drop(&mut self) {
        // The socket may still fire an event; it must not call handlers that are gone.
        self.socket.set_onopen(None);
        self.socket.set_onmessage(None);
        self.socket.set_onclose(None);
        let _ = self.socket.close();
    }
}

/// A watch that stays open, reopening after drops, until [`WatchSocket::close`].
#[derive(Clone, Copy)]
pub struct WatchSocket {
    pub state: RwSignal<WatchState>,
    current: StoredValue<Option<Open>, LocalStorage>,
    stopped: StoredValue<bool>,
}

impl WatchSocket {
    /// Opens a watch on `path`, sending `hello` first and each text frame to `on_frame`.
    pub fn open(
        path: &str,
        hello: String,
        refusals: &'static [(u16, &'static str)],
        on_frame: impl Fn(&str) + 'static,
    ) -> WatchSocket {
        let watch = WatchSocket {
            state: RwSignal::new(WatchState::Connecting),
            current: StoredValue::new_local(None),
            stopped: StoredValue::new(false),
        };
        match url(path) {
            Some(url) => watch.connect(Rc::new(Plan { url, hello, refusals, on_frame: Rc::new(on_frame) })),
            None => watch.state.set(WatchState::Refused("this page has no address to connect to".into())),
        }
        watch
    }

    /// Closes the socket for good.
    pub fn close(&self) {
        self.stopped.try_set_value(true);
        self.current.try_set_value(None);
    }

    fn is_stopped(&self) -> bool {
        self.stopped.try_get_value() != Some(false)
    }

    fn connect(self, plan: Rc<Plan>) {
        let Ok(socket) = WebSocket::new(&plan.url) else {
            self.state.try_set(WatchState::Refused("this browser could not open a WebSocket".into()));
            return;
        };
        let on_open = {
            let (socket, hello) = (socket.clone(), plan.hello.clone());
            Closure::<dyn FnMut()>::new(move || {
                let _ = socket.send_with_str(&hello);
            })
        };
        let on_message = {
            let on_frame = plan.on_frame.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
                let Some(text) = e.data().as_string() else { return };
                self.state.try_set(WatchState::Live);
                on_frame(&text);
            })
        };
        let on_close = {
            let plan = plan.clone();
            Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
                if self.is_stopped() {
                    return;
                }
                if let Some((_, why)) = plan.refusals.iter().find(|(code, _)| *code == e.code()) {
                    self.state.try_set(WatchState::Refused((*why).into()));
                    return;
                }
                self.state.try_set(WatchState::Reconnecting);
                let plan = plan.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    TimeoutFuture::new(REOPEN_MS).await;
                    if !self.is_stopped() {
                        self.connect(plan);
                    }
                });
            })
        };
        socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        let open = Open { socket, _on_open: on_open, _on_message: on_message, _on_close: on_close };
        // Replacing the socket that dropped lets go of it and its handlers; if the page
        // went away meanwhile, the new one is handed back and closes as it drops.
        let _ = self.current.try_set_value(Some(open));
    }
}
