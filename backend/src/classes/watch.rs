//! The instructor page's WebSocket: `GET /api/classes/{class}/watch`.
//!
//! A browser cannot put a header on a WebSocket, so the page's first frame carries the
//! instructor token (`{"token": "…"}`, within [`HELLO_TIMEOUT`]). Then the socket gets a
//! snapshot of the class and, from then on, each student's row when it changes (pushed
//! by the API as it happens) and who is connected and the server's health when they
//! change (looked at every [`HEALTH_EVERY`]: connections come and go without the class
//! knowing).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use bluetick_shared::class::{ClassId, TeachFrame, WatchHello};

use super::hub::Audience;
use super::{health, students, view};
use crate::api::instructor::is_instructor;
use crate::state::AppState;

/// How long the page has to send its token.
pub const HELLO_TIMEOUT: Duration = Duration::from_secs(10);
/// How often connections and health are looked at.
pub const HEALTH_EVERY: Duration = Duration::from_secs(1);

/// Close codes the page tells apart (4000–4999 are the application's own).
pub const CLOSE_UNAUTHORIZED: u16 = 4401;
pub const CLOSE_NO_CLASS: u16 = 4404;
pub const CLOSE_FELL_BEHIND: u16 = 4408;

pub async fn upgrade(ws: WebSocketUpgrade, State(state): State<AppState>, Path(class): Path<ClassId>) -> Response {
    ws.on_upgrade(move |socket| {
        let sockets = state.sockets.clone();
        sockets.track_future(run(socket, state, class))
    })
}

/// The token of the page's first frame (`{"token": "…"}`), if it came in time and was
/// one.
pub async fn hello_token(socket: &mut WebSocket) -> Option<String> {
    match tokio::time::timeout(HELLO_TIMEOUT, socket.recv()).await {
        Ok(Some(Ok(Message::Text(text)))) => serde_json::from_str::<WatchHello>(&text).ok().map(|h| h.token),
        _ => None,
    }
}

/// A close frame with an application code and a reason the page can show.
pub fn close(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code, reason: reason.into() }))
}

async fn run(mut socket: WebSocket, state: AppState, class: ClassId) {
    let token = hello_token(&mut socket).await;
    let allowed = match (token, state.config.instructor_token.as_deref()) {
        (Some(given), Some(expected)) => is_instructor(expected, &given),
        _ => false,
    };
    if !allowed {
        let _ = socket.send(close(CLOSE_UNAUTHORIZED, "send {\"token\": <instructor token>} first")).await;
        return;
    }
    // Subscribe before the snapshot: a change in between arrives twice, never not at all.
    let frames = state.class_hub.subscribe(class, Audience::Instructor);
    let snapshot = match view(&state, class).await {
        Ok(Some(view)) => view,
        Ok(None) => {
            let _ = socket.send(close(CLOSE_NO_CLASS, "no such class")).await;
            state.class_hub.prune(class, Audience::Instructor);
            return;
        }
        Err(e) => {
            let _ = socket.send(close(1011, &format!("{e}"))).await;
            state.class_hub.prune(class, Audience::Instructor);
            return;
        }
    };
    let mut last_health = (snapshot.health, online_of(&snapshot.students));
    if send(&mut socket, &TeachFrame::Snapshot { view: snapshot }).await.is_err() {
        state.class_hub.prune(class, Audience::Instructor);
        return;
    }
    let mut tick = tokio::time::interval(HEALTH_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        match next(&mut socket, &state, &frames, Some(&mut tick)).await {
            Next::Frame(text) => {
                if socket.send(Message::Text(text.as_ref().into())).await.is_err() {
                    break;
                }
            }
            Next::Tick => {
                let Ok(students) = students(&state, class).await else { continue };
                let now = (health(&state, &students), online_of(&students));
                if now != last_health {
                    last_health = now.clone();
                    let frame = TeachFrame::Health { health: now.0, online: now.1 };
                    if send(&mut socket, &frame).await.is_err() {
                        break;
                    }
                }
            }
            Next::Done => break,
        }
    }
    drop(frames);
    state.class_hub.prune(class, Audience::Instructor);
}

/// What a watch socket does next.
pub enum Next {
    /// Forward this frame from the hub.
    Frame(Arc<str>),
    /// The socket's own timer fired.
    Tick,
    /// The socket is over: the page closed it, or it was sent the close it deserves
    /// (the server shutting down, the page falling behind).
    Done,
}

/// Waits for the next thing a watch socket must do: a frame from the hub, its timer
/// (`tick`, if it has one), or its end. Whatever else the page sends is ignored.
pub async fn next(
    socket: &mut WebSocket,
    state: &AppState,
    frames: &flume::Receiver<Arc<str>>,
    mut tick: Option<&mut tokio::time::Interval>,
) -> Next {
    loop {
        let ticked = async {
            match tick.as_mut() {
                Some(tick) => {
                    tick.tick().await;
                }
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = state.shutdown.cancelled() => {
                let _ = socket.send(close(1001, "the server is shutting down")).await;
                return Next::Done;
            }
            frame = frames.recv_async() => return match frame {
                Ok(text) => Next::Frame(text),
                Err(_) => {
                    let _ = socket.send(close(CLOSE_FELL_BEHIND, "fell behind; reconnect to start afresh")).await;
                    Next::Done
                }
            },
            _ = ticked => return Next::Tick,
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Next::Done,
                Some(Ok(_)) => {}
            },
        }
    }
}

fn online_of(students: &[bluetick_shared::class::StudentView]) -> Vec<bluetick_shared::lab::LabId> {
    students.iter().filter(|s| s.online).map(|s| s.student).collect()
}

async fn send(socket: &mut WebSocket, frame: &TeachFrame) -> Result<(), axum::Error> {
    socket.send(Message::Text(serde_json::to_string(frame).expect("a teach frame serialises").into())).await
}
