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
}

impl Ending {
    pub(super) fn close(code: ErrorCode, reason: impl Into<String>) -> Self {
        Ending::Close { code, reason: reason.into() }
    }

    /// The close frame to send, if any. Close reasons are capped at 123 bytes by the
    /// WebSocket spec; ours are short sentences, cut on a character boundary if not.
    pub(super) fn close_message(&self) -> Option<Message> {
        match self {
            Ending::PeerGone | Ending::Abrupt => None,
            Ending::Close { code, reason } => {
                let mut end = reason.len().min(123);
                while !reason.is_char_boundary(end) {
                    end -= 1;
                }
                Some(Message::Close(Some(CloseFrame { code: code.close_code(), reason: reason[..end].into() })))
            }
        }
    }
}
