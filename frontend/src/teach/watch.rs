//! The instructor page's WebSocket to one class: sends the token first, then applies
//! every [`TeachFrame`] to the class view ([`crate::class::watch_socket`] reopens it
//! after a drop; a refused token or a missing class is said once and not retried).

use bluetick_shared::class::{ClassId, ClassView, TeachFrame, WatchHello};
use leptos::prelude::*;

use crate::class::watch_socket::WatchSocket;

const REFUSALS: &[(u16, &str)] =
    &[(4401, "the server did not accept the instructor token"), (4404, "the server has no such class")];

/// Keeps `view` live until the returned watch is closed.
pub fn watch(class: ClassId, token: String, view: RwSignal<Option<ClassView>>) -> WatchSocket {
    let hello = serde_json::to_string(&WatchHello { token }).expect("serializes");
    WatchSocket::open(&format!("/api/classes/{class}/watch"), hello, REFUSALS, move |text| {
        let Ok(frame) = serde_json::from_str::<TeachFrame>(text) else { return };
        view.try_update(|v| match (v.as_mut(), frame) {
            (_, TeachFrame::Snapshot { view: fresh }) => *v = Some(fresh),
            (Some(v), frame) => v.apply(frame),
            (None, _) => {}
        });
    })
}
