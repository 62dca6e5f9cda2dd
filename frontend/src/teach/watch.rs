//! The instructor page's WebSocket to one class: sends the token first, then applies
//! every [`TeachFrame`] to the class view. A socket that drops is reopened (a fresh
//! snapshot makes up for anything missed); a refused token or a missing class is said
//! once and not retried.

use bluetick_shared::class::{ClassId, ClassView, TeachFrame, WatchHello};
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

fn url(class: ClassId) -> Option<String> {
    let location = web_sys::window()?.location();
    let scheme = if location.protocol().ok()? == "https:" { "wss" } else { "ws" };
    Some(format!("{scheme}://{}/api/classes/{class}/watch", location.host().ok()?))
}

/// The socket a board holds, so that it can close it when it goes away.
pub type Current = StoredValue<Option<WebSocket>, LocalStorage>;

/// Keeps `view` live until `stop` is set (the board then closes `current`).
pub fn watch(
    class: ClassId,
    token: String,
    view: RwSignal<Option<ClassView>>,
    state: RwSignal<WatchState>,
    stop: StoredValue<bool>,
    current: Current,
) {
    let Some(url) = url(class) else { return };
    let Ok(socket) = WebSocket::new(&url) else {
        state.try_set(WatchState::Refused("this browser could not open a WebSocket".into()));
        return;
    };
    let hello = serde_json::to_string(&WatchHello { token: token.clone() }).expect("serializes");
    let on_open = {
        let socket = socket.clone();
        Closure::<dyn FnMut()>::new(move || {
            let _ = socket.send_with_str(&hello);
        })
    };
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
        let Some(text) = e.data().as_string() else { return };
        let Ok(frame) = serde_json::from_str::<TeachFrame>(&text) else { return };
        state.try_set(WatchState::Live);
        view.try_update(|v| match (v.as_mut(), frame) {
            (_, TeachFrame::Snapshot { view: fresh }) => *v = Some(fresh),
            (Some(v), frame) => v.apply(frame),
            (None, _) => {}
        });
    });
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
        if stop.try_get_value() != Some(false) {
            return;
        }
        match e.code() {
            4401 => {
                state.try_set(WatchState::Refused("the server did not accept the instructor token".into()));
            }
            4404 => {
                state.try_set(WatchState::Refused("the server has no such class".into()));
            }
            _ => {
                state.try_set(WatchState::Reconnecting);
                let token = token.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    TimeoutFuture::new(REOPEN_MS).await;
                    if stop.try_get_value() == Some(false) {
                        watch(class, token, view, state, stop, current);
                    }
                });
            }
        }
    });
    socket.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    socket.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    socket.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    // The socket owns its handlers for as long as it lives.
    on_open.forget();
    on_message.forget();
    on_close.forget();
    current.try_set_value(Some(socket));
}
