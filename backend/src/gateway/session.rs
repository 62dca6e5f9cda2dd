//! One WebSocket connection, from `hello` to the close frame.
//!
//! The socket is split: a writer task owns the sending half and drains a bounded queue;
//! the reader loop (this task) owns the receiving half. Anything that wants to send to
//! this client puts a frame on the queue, so a slow client can never make the server
//! buffer without bound.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{ClientFrame, PROTOCOL_VERSION, ServerFrame};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tracing::Instrument;
use uuid::Uuid;

use super::close::Ending;
use crate::state::AppState;

/// Frames waiting for this client's writer. Small on purpose: it is a buffer for bursts,
/// not a store; the durable inbox is where undelivered messages wait.
const OUTBOX_CAPACITY: usize = 256;
/// Bad frames in a row before the connection is closed.
const MAX_CONSECUTIVE_ERRORS: u32 = 8;
/// How long to wait for the client's close reply after sending our close frame.
const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) async fn run(socket: WebSocket, state: AppState, peer: SocketAddr) {
    let connection_id = Uuid::now_v7();
    let span = tracing::info_span!("ws", %connection_id, %peer);
    async move {
        tracing::debug!("connected");
        let (sink, mut stream) = socket.split();
        let (outbox, queue) = mpsc::channel(OUTBOX_CAPACITY);
        let writer = tokio::spawn(write_loop(sink, queue).in_current_span());

        let mut session = Session { state, connection_id, outbox, handshaken: false, errors_in_a_row: 0 };
        let ending = session.read_loop(&mut stream).await;
        tracing::debug!(?ending, "ending");

        if let Some(close) = ending.close_message() {
            if session.outbox.send(close).await.is_ok() {
                // Read until the client answers our close frame (or gives up), so the
                // close handshake completes and the browser reports a clean close.
                let _ = tokio::time::timeout(CLOSE_REPLY_TIMEOUT, async {
                    while let Some(Ok(_)) = stream.next().await {}
                })
                .await;
            }
        }
        drop(session);
        let _ = writer.await;
    }
    .instrument(span)
    .await
}

/// Sends queued messages until the queue closes or a close frame has been sent.
async fn write_loop(mut sink: SplitSink<WebSocket, Message>, mut queue: mpsc::Receiver<Message>) {
    while let Some(message) = queue.recv().await {
        let is_close = matches!(message, Message::Close(_));
        if let Err(e) = sink.send(message).await {
            tracing::debug!(error = %e, "write failed");
            return;
        }
        if is_close {
            return;
        }
    }
    let _ = sink.close().await;
}

struct Session {
    state: AppState,
    connection_id: Uuid,
    outbox: mpsc::Sender<Message>,
    handshaken: bool,
    errors_in_a_row: u32,
}

impl Session {
    async fn read_loop(&mut self, stream: &mut SplitStream<WebSocket>) -> Ending {
        let handshake_deadline =
            tokio::time::sleep(Duration::from_secs(self.state.config.handshake_timeout_secs));
        tokio::pin!(handshake_deadline);
        loop {
            let message = tokio::select! {
                _ = self.state.shutdown.cancelled() => {
                    return Ending::close(ErrorCode::ShuttingDown, "server shutting down");
                }
                _ = &mut handshake_deadline, if !self.handshaken => {
                    let reason = "no hello received in time";
                    self.send(ServerFrame::error(ErrorCode::HandshakeRequired, reason)).await;
                    return Ending::close(ErrorCode::HandshakeRequired, reason);
                }
                message = stream.next() => message,
            };
            let outcome = match message {
                None | Some(Ok(Message::Close(_))) => return Ending::PeerGone,
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "read failed");
                    return Ending::PeerGone;
                }
                Some(Ok(Message::Text(text))) => self.on_text(text.as_str()).await,
                Some(Ok(Message::Binary(_))) => Err((
                    ErrorCode::MalformedFrame,
                    "binary frames are not part of this protocol; send JSON text".to_string(),
                )),
                // tungstenite answers pings itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(None),
            };
            match outcome {
                Ok(None) => {}
                Ok(Some(ending)) => return ending,
                Err((code, message)) => {
                    self.errors_in_a_row += 1;
                    tracing::debug!(?code, %message, "bad frame");
                    if !self.send(ServerFrame::error(code, message)).await {
                        return Ending::PeerGone;
                    }
                    if self.errors_in_a_row >= MAX_CONSECUTIVE_ERRORS {
                        return Ending::close(
                            ErrorCode::TooManyErrors,
                            format!("{MAX_CONSECUTIVE_ERRORS} bad frames in a row"),
                        );
                    }
                }
            }
        }
    }

    /// Handles one text frame. `Ok(Some(_))` ends the connection; `Err` is a bad frame
    /// to answer with an error.
    async fn on_text(&mut self, text: &str) -> Result<Option<Ending>, (ErrorCode, String)> {
        let limit = self.state.config.max_frame_bytes;
        if text.len() > limit {
            return Err((
                ErrorCode::FrameTooLarge,
                format!("frame of {} bytes exceeds the limit of {limit} bytes", text.len()),
            ));
        }
        let frame = ClientFrame::from_json(text).map_err(|e| (ErrorCode::MalformedFrame, e.0))?;
        self.errors_in_a_row = 0;
        match frame {
            ClientFrame::Hello { protocol, client } => {
                if self.handshaken {
                    return Err((ErrorCode::AlreadyHandshaken, "hello was already received".into()));
                }
                if protocol != PROTOCOL_VERSION {
                    let reason = format!(
                        "this server speaks protocol {PROTOCOL_VERSION}; the client sent {protocol}"
                    );
                    self.send(ServerFrame::error(ErrorCode::UnsupportedVersion, reason.clone())).await;
                    return Ok(Some(Ending::close(ErrorCode::UnsupportedVersion, reason)));
                }
                self.handshaken = true;
                tracing::info!(%client, "handshake complete");
                let welcome = ServerFrame::Welcome {
                    protocol: PROTOCOL_VERSION,
                    server: crate::SERVER_NAME.to_string(),
                    connection_id: self.connection_id,
                };
                if !self.send(welcome).await {
                    return Ok(Some(Ending::PeerGone));
                }
                Ok(None)
            }
        }
    }

    /// Queues a frame for the writer; false if the writer is gone.
    async fn send(&self, frame: ServerFrame) -> bool {
        self.outbox.send(Message::Text(frame.to_json().into())).await.is_ok()
    }
}
