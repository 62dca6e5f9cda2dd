//! A raw protocol client for tests: frames in, frames out, nothing hidden.

use std::time::Duration;

use bluetick_shared::frames::{ClientFrame, Credentials, Registration, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a frame before it fails (the server is local; this only
/// turns a hang into a clear failure).
pub const FRAME_TIMEOUT: Duration = Duration::from_secs(10);

pub struct RawClient {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl RawClient {
    pub async fn connect(url: &str) -> RawClient {
        let (ws, _) = tokio_tungstenite::connect_async(url).await.expect("websocket connect");
        RawClient { ws }
    }

    /// Connects and completes the handshake; returns the welcome frame.
    pub async fn connect_and_hello(url: &str) -> (RawClient, ServerFrame) {
        let mut client = RawClient::connect(url).await;
        client.send(&ClientFrame::hello("test")).await;
        let welcome = client.recv().await;
        assert!(matches!(welcome, ServerFrame::Welcome { .. }), "expected welcome, got {welcome:?}");
        (client, welcome)
    }

    /// Connects as a registered device (resuming after `resume_after`) and returns after
    /// its welcome.
    pub async fn connect_as(url: &str, device: &Registration, resume_after: u64) -> RawClient {
        let mut client = RawClient::connect(url).await;
        let credentials = Credentials { device_id: device.device_id, token: device.token.clone() };
        client.send(&ClientFrame::hello_as("raw-test", credentials, resume_after)).await;
        let welcome = client.recv().await;
        assert!(matches!(welcome, ServerFrame::Welcome { .. }), "expected welcome, got {welcome:?}");
        client
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        self.send_text(&frame.to_json()).await;
    }

    /// Sends a frame; false if the connection is gone (for a test that keeps sending
    /// while the server goes away).
    pub async fn try_send(&mut self, frame: &ClientFrame) -> bool {
        self.ws.send(Message::text(frame.to_json())).await.is_ok()
    }

    pub async fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).await.expect("send");
    }

    pub async fn send_message(&mut self, message: Message) {
        self.ws.send(message).await.expect("send");
    }

    /// The next frame from the server; panics on a close, a timeout or a non-frame.
    pub async fn recv(&mut self) -> ServerFrame {
        match self.next_message().await {
            Some(Message::Text(text)) => ServerFrame::from_json(text.as_str())
                .unwrap_or_else(|e| panic!("server sent an undecodable frame {text:?}: {e}")),
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame, or the close frame if the server closes instead.
    pub async fn recv_or_close(&mut self) -> Result<ServerFrame, Option<CloseFrame>> {
        loop {
            match self.next_message().await {
                Some(Message::Text(text)) => {
                    return Ok(ServerFrame::from_json(text.as_str())
                        .unwrap_or_else(|e| panic!("undecodable frame {text:?}: {e}")));
                }
                Some(Message::Close(frame)) => return Err(frame),
                Some(_) => continue,
                None => panic!("connection ended without a close frame"),
            }
        }
    }

    /// The next frame, or `None` once the connection is gone (cut, reset or closed): for
    /// a test that keeps every frame that got out before the server process died.
    pub async fn recv_or_gone(&mut self) -> Option<ServerFrame> {
        loop {
            match tokio::time::timeout(FRAME_TIMEOUT, self.ws.next()).await {
                Err(_) => panic!("no message from the server within {FRAME_TIMEOUT:?}"),
                Ok(None) | Ok(Some(Err(_))) | Ok(Some(Ok(Message::Close(_)))) => return None,
                Ok(Some(Ok(Message::Text(text)))) => {
                    return Some(
                        ServerFrame::from_json(text.as_str())
                            .unwrap_or_else(|e| panic!("undecodable frame {text:?}: {e}")),
                    );
                }
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Reads until the server's close frame and returns it.
    pub async fn expect_close(&mut self) -> Option<CloseFrame> {
        loop {
            match self.next_message().await {
                Some(Message::Close(frame)) => return frame,
                Some(Message::Text(text)) => panic!("expected close, got frame {text}"),
                Some(_) => continue,
                None => panic!("connection ended without a close frame"),
            }
        }
    }

    /// Reads until the connection goes away (skipping frames already on their way) and
    /// asserts it went without a close frame: what a client sees when the network fails.
    pub async fn expect_cut(&mut self) {
        loop {
            match tokio::time::timeout(FRAME_TIMEOUT, self.ws.next()).await {
                Err(_) => panic!("the connection was not cut within {FRAME_TIMEOUT:?}"),
                Ok(None) | Ok(Some(Err(_))) => return,
                Ok(Some(Ok(Message::Close(frame)))) => panic!("expected a cut, got a close frame {frame:?}"),
                Ok(Some(Ok(_))) => continue,
            }
        }
    }

    /// Says hello as `device` and returns the answer: the welcome, or `None` if the
    /// connection was cut instead.
    pub async fn try_hello_as(url: &str, device: &Registration) -> Option<(RawClient, ServerFrame)> {
        let mut client = RawClient::connect(url).await;
        let credentials = Credentials { device_id: device.device_id, token: device.token.clone() };
        client.send(&ClientFrame::hello_as("raw-test", credentials, 0)).await;
        match tokio::time::timeout(FRAME_TIMEOUT, client.ws.next()).await {
            Err(_) => panic!("no answer to hello within {FRAME_TIMEOUT:?}"),
            Ok(None) | Ok(Some(Err(_))) => None,
            Ok(Some(Ok(Message::Text(text)))) => {
                let frame = ServerFrame::from_json(text.as_str()).expect("a frame");
                Some((client, frame))
            }
            Ok(Some(Ok(other))) => panic!("unexpected answer to hello: {other:?}"),
        }
    }

    async fn next_message(&mut self) -> Option<Message> {
        match tokio::time::timeout(FRAME_TIMEOUT, self.ws.next()).await {
            Ok(Some(Ok(message))) => Some(message),
            Ok(Some(Err(e))) => panic!("websocket error: {e}"),
            Ok(None) => None,
            Err(_) => panic!("no message from the server within {FRAME_TIMEOUT:?}"),
        }
    }
}
