//! Why a connection ends.

use axum::extract::ws::{CloseFrame, Message};
use bluetick_shared::errors::ErrorCode;

/// How the reader loop ended.
#[derive(Debug)]
pub(super) enum Ending {
    /// The peer sent a close frame or the TCP connection went away: nothing to send.
    PeerGone,
    /// The server cuts the connection without a close frame, as a network failure
    /// would: the lab's "drop network" and injected outages.
    Abrupt,
    /// The server ends the connection and tells the client why.
    Close { code: ErrorCode, reason: String },
    /// The client broke the WebSocket protocol itself (RFC 6455 §7.4.1): closed with the
    /// standard code, e.g. 1007 for a text frame that is not UTF-8. No error frame: the
    /// client's framing is what failed, not one of our frames.
    Violation { code: u16, reason: String },
}

impl Ending {
    pub(super) fn close(code: ErrorCode, reason: impl Into<String>) -> Self {
        Ending::Close { code, reason: reason.into() }
    }

    /// The close frame to send, if any.
    pub(super) fn close_message(&self) -> Option<Message> {
        match self {
            Ending::PeerGone | Ending::Abrupt => None,
            Ending::Close { code, reason } => Some(close_frame(code.close_code(), reason)),
            Ending::Violation { code, reason } => Some(close_frame(*code, reason)),
        }
    }

    /// How a failed read ends the connection: a protocol violation the client should
    /// hear about by its standard close code, or a connection that is simply gone.
    pub(super) fn after_read_error(error: axum::Error) -> Self {
        use tokio_tungstenite::tungstenite::Error as WsError;
        use tokio_tungstenite::tungstenite::error::CapacityError;
        let inner = error.into_inner();
        match inner.downcast_ref::<WsError>() {
            // 1007: "data within a message that was not consistent with the type of the
            // message", i.e. a text frame that is not valid UTF-8.
            Some(WsError::Utf8(_)) => {
                Ending::Violation { code: 1007, reason: "text frames must be valid UTF-8".into() }
            }
            // 1009: a message above the hard limit (ours is `frame_too_large`, far below).
            Some(WsError::Capacity(CapacityError::MessageTooLong { .. })) => {
                Ending::Violation { code: 1009, reason: "message too big".into() }
            }
            // 1002: any other breach of the framing rules (unmasked frames, bad opcodes…).
            Some(WsError::Protocol(e)) => Ending::Violation { code: 1002, reason: e.to_string() },
            _ => Ending::PeerGone,
        }
    }
}

/// Close reasons are capped at 123 bytes by the WebSocket spec; ours are short
/// sentences, cut on a character boundary if not.
fn close_frame(code: u16, reason: &str) -> Message {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    Message::Close(Some(CloseFrame { code, reason: reason[..end].into() }))
}
