//! Helpers for the class tests: a server with an instructor token, classes, students
//! joining them, and the two watch sockets (the instructor's and a student's).

use std::time::Duration;

use bluetick_client::http::request;
use bluetick_shared::class::{ClassFrame, ClassInfo, TeachFrame};
use bluetick_shared::frames::Registration;
use futures_util::{SinkExt, StreamExt};
use serde::de::DeserializeOwned;
use tokio_tungstenite::tungstenite::Message;

use crate::http::{as_device, new_lab};
use crate::server::TestServer;

/// The instructor token of [`server`].
pub const TOKEN: &str = "instructor-secret";
/// Far longer than any frame here takes to arrive.
pub const ARRIVES_WITHIN: Duration = Duration::from_secs(10);

/// A server that takes [`TOKEN`] as its instructor token.
pub async fn server() -> TestServer {
    TestServer::start_with(|config| config.instructor_token = Some(TOKEN.into())).await
}

pub async fn as_instructor(server: &TestServer, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
    request(server.addr, method, path, body, Some(TOKEN)).await.expect("HTTP request")
}

pub async fn create_class(server: &TestServer, name: &str) -> ClassInfo {
    let body = serde_json::json!({ "name": name }).to_string();
    let (status, body) = as_instructor(server, "POST", "/api/classes", Some(&body)).await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_str(&body).expect("a class")
}

/// A new lab's first device (the student's "You").
pub async fn student(server: &TestServer) -> Registration {
    new_lab(server.addr).await.devices[0].clone()
}

pub async fn join(server: &TestServer, me: &Registration, code: &str, name: &str) -> (u16, String) {
    let body = serde_json::json!({ "code": code, "name": name }).to_string();
    as_device(server.addr, me, "POST", "/api/class/join", Some(&body)).await
}

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn open(url: String, token: &str) -> Socket {
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("watch socket");
    ws.send(Message::Text(serde_json::json!({ "token": token }).to_string().into())).await.unwrap();
    ws
}

/// The instructor's socket on `class`, signed in with `token`.
pub async fn watch(server: &TestServer, class: &ClassInfo, token: &str) -> Socket {
    open(format!("ws://{}/api/classes/{}/watch", server.addr, class.class_id), token).await
}

/// A student's class socket, signed in as `me`.
pub async fn follow(server: &TestServer, me: &Registration) -> Socket {
    open(format!("ws://{}/api/class/watch", server.addr), &format!("{}:{}", me.device_id, me.token)).await
}

/// The next text frame as `T`; panics on a close.
pub async fn next_frame<T: DeserializeOwned>(ws: &mut Socket) -> T {
    loop {
        let message = tokio::time::timeout(ARRIVES_WITHIN, ws.next()).await.expect("a frame in time");
        match message.expect("the socket is open").expect("a frame") {
            Message::Text(text) => return serde_json::from_str(&text).expect("a class frame"),
            Message::Close(close) => panic!("closed: {close:?}"),
            _ => continue,
        }
    }
}

/// The instructor's next frame, skipping health updates (they come and go with
/// connections).
pub async fn next_change(ws: &mut Socket) -> TeachFrame {
    loop {
        match next_frame(ws).await {
            TeachFrame::Health { .. } => continue,
            frame => return frame,
        }
    }
}

/// A student's next frame.
pub async fn next_class_frame(ws: &mut Socket) -> ClassFrame {
    next_frame(ws).await
}

/// The close code the server answers with (after the socket's first frame).
pub async fn close_code(ws: &mut Socket) -> u16 {
    match tokio::time::timeout(ARRIVES_WITHIN, ws.next()).await.expect("an answer in time") {
        Some(Ok(Message::Close(Some(close)))) => u16::from(close.code),
        other => panic!("expected a close, got {other:?}"),
    }
}
