//! The frames exchanged over `/ws`: JSON text messages, one object each, tagged by
//! `"type"`.
//!
//! ## Handshake
//! The client's first frame must be [`ClientFrame::Hello`] naming the
//! [`PROTOCOL_VERSION`] it speaks. The server answers [`ServerFrame::Welcome`] and the
//! connection is open; or it answers [`ServerFrame::Error`] with
//! [`ErrorCode::UnsupportedVersion`](crate::errors::ErrorCode::UnsupportedVersion) and
//! closes with that code's close code, because no later frame could be understood.
//!
//! ```
//! use bluetick_shared::frames::{ClientFrame, PROTOCOL_VERSION};
//! let hello = ClientFrame::Hello { protocol: PROTOCOL_VERSION, client: "docs".into() };
//! assert_eq!(
//!     hello.to_json(),
//!     format!(r#"{{"type":"hello","protocol":{PROTOCOL_VERSION},"client":"docs"}}"#)
//! );
//! ```

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::errors::ErrorCode;

/// The protocol version this build speaks. Bump it on any incompatible frame change.
pub const PROTOCOL_VERSION: u32 = 1;

/// A frame from a client (browser page, crowd member, test, load generator) to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientFrame {
    /// Opens the conversation: the protocol version and a free-form client name for logs.
    Hello { protocol: u32, client: String },
}

/// A frame from the server to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The handshake succeeded.
    Welcome {
        protocol: u32,
        /// The server's name and version, e.g. `bluetick/0.1.0`.
        server: String,
        /// This connection's id, as it appears in the server's logs.
        connection_id: Uuid,
    },
    /// A frame or the connection was refused.
    Error { code: ErrorCode, message: String },
}

/// A frame that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed frame: {0}")]
pub struct DecodeError(pub String);

impl ClientFrame {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("client frames always serialize")
    }

    pub fn from_json(text: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(text).map_err(|e| DecodeError(e.to_string()))
    }
}

impl ServerFrame {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialize")
    }

    pub fn from_json(text: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(text).map_err(|e| DecodeError(e.to_string()))
    }

    /// Shorthand for an error frame.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error { code, message: message.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welcome_round_trips() {
        let frame = ServerFrame::Welcome {
            protocol: PROTOCOL_VERSION,
            server: "bluetick/test".into(),
            connection_id: Uuid::nil(),
        };
        assert_eq!(ServerFrame::from_json(&frame.to_json()).unwrap(), frame);
    }

    #[test]
    fn unknown_frame_type_is_a_decode_error() {
        let err = ClientFrame::from_json(r#"{"type":"launch_missiles"}"#).unwrap_err();
        assert!(err.0.contains("launch_missiles"), "{err}");
    }

    #[test]
    fn invalid_json_is_a_decode_error() {
        assert!(ClientFrame::from_json("{not json").is_err());
    }

    #[test]
    fn error_frame_carries_code_and_message() {
        let json = ServerFrame::error(ErrorCode::UnsupportedVersion, "speak 1").to_json();
        assert_eq!(json, r#"{"type":"error","code":"unsupported_version","message":"speak 1"}"#);
    }
}
