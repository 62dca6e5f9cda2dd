//! A student's class socket: `GET /api/class/watch`, where a student's page follows the
//! run the instructor put on the projector.
//!
//! The page's first frame names one of its lab's devices, `{"token": "<device id>:<token>"}`
//! (a browser cannot put a header on a WebSocket), within [`super::watch::HELLO_TIMEOUT`]. The socket
//! then gets the projector as it is now, and each change from then on
//! ([`ClassFrame::Projector`]). It only ever listens: whatever else the page sends is
//! ignored, and nothing on it can start, stop or change the run.

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use bluetick_shared::class::{ClassFrame, ClassId};

use super::hub::Audience;
use super::watch::{CLOSE_NO_CLASS, CLOSE_UNAUTHORIZED, Next, close, hello_token, next};
use crate::api::auth::{Credentials, device_of};
use crate::state::AppState;

pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>) -> Response {
    ws.on_upgrade(move |socket| {
        let sockets = state.sockets.clone();
        sockets.track_future(run(socket, state))
    })
}

/// The class of the lab whose device `token` (`<device id>:<token>`) names; the close
/// frame to send otherwise.
async fn class_of(state: &AppState, token: Option<String>) -> Result<ClassId, Message> {
    let unauthorized = || close(CLOSE_UNAUTHORIZED, "send {\"token\": \"<device id>:<token>\"} first");
    let token = token.ok_or_else(unauthorized)?;
    let me = match device_of(state, &token).await {
        Ok(Credentials::Device(me)) => me,
        Ok(_) => return Err(unauthorized()),
        Err(e) => return Err(close(1011, &format!("{e}"))),
    };
    let lab = me.lab.ok_or_else(|| close(CLOSE_NO_CLASS, "this device is not in a lab sandbox"))?;
    match state.store.lab_class(lab).await {
        Ok(Some((class, _))) => Ok(class.class_id),
        Ok(None) => Err(close(CLOSE_NO_CLASS, "your lab has not joined a class")),
        Err(e) => Err(close(1011, &format!("{e}"))),
    }
}

async fn run(mut socket: WebSocket, state: AppState) {
    let token = hello_token(&mut socket).await;
    let class = match class_of(&state, token).await {
        Ok(class) => class,
        Err(refusal) => {
            let _ = socket.send(refusal).await;
            return;
        }
    };
    // Subscribe before reading the projector: a change in between arrives twice, never
    // not at all.
    let frames = state.class_hub.subscribe(class, Audience::Students);
    let now = ClassFrame::Projector { projector: state.projectors.view(&state, class) };
    let text = serde_json::to_string(&now).expect("a class frame serialises");
    if socket.send(Message::Text(text.into())).await.is_ok() {
        while let Next::Frame(text) = next(&mut socket, &state, &frames, None).await {
            if socket.send(Message::Text(text.as_ref().into())).await.is_err() {
                break;
            }
        }
    }
    drop(frames);
    state.class_hub.prune(class, Audience::Students);
}
