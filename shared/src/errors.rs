//! Error codes carried by `error` frames, and the close codes that end a connection.
//!
//! Every refusal the server makes is typed: the page can explain it to a student and a
//! test can assert it without matching on prose.

use serde::{Deserialize, Serialize};

/// Why the server refused a frame or a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The client's `hello` named a protocol version this server does not speak.
    UnsupportedVersion,
    /// The frame was not valid JSON, or not a frame this protocol knows.
    MalformedFrame,
    /// The first frame on a connection must be `hello`.
    HandshakeRequired,
    /// `hello` was sent twice on one connection.
    AlreadyHandshaken,
    /// The frame exceeded the server's size limit.
    FrameTooLarge,
    /// The connection sent too many bad frames in a row and is being closed.
    TooManyErrors,
    /// The server is shutting down.
    ShuttingDown,
}

impl ErrorCode {
    /// The WebSocket close code (4000–4999 is the application range) used when this
    /// error ends the connection.
    pub fn close_code(self) -> u16 {
        match self {
            ErrorCode::UnsupportedVersion => 4001,
            ErrorCode::MalformedFrame => 4002,
            ErrorCode::HandshakeRequired => 4003,
            ErrorCode::AlreadyHandshaken => 4004,
            ErrorCode::FrameTooLarge => 4005,
            ErrorCode::TooManyErrors => 4006,
            // 1001 "going away" is the standard code for a server shutting down.
            ErrorCode::ShuttingDown => 1001,
        }
    }

    /// Whether a client should give up rather than reconnect after being closed with
    /// this error: retrying cannot help when the client itself is wrong.
    pub fn is_fatal(self) -> bool {
        matches!(self, ErrorCode::UnsupportedVersion)
    }

    /// The code that a close code stands for, if it is one of ours.
    pub fn from_close_code(code: u16) -> Option<ErrorCode> {
        [
            ErrorCode::UnsupportedVersion,
            ErrorCode::MalformedFrame,
            ErrorCode::HandshakeRequired,
            ErrorCode::AlreadyHandshaken,
            ErrorCode::FrameTooLarge,
            ErrorCode::TooManyErrors,
            ErrorCode::ShuttingDown,
        ]
        .into_iter()
        .find(|c| c.close_code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_round_trip_and_are_distinct() {
        let all = [
            ErrorCode::UnsupportedVersion,
            ErrorCode::MalformedFrame,
            ErrorCode::HandshakeRequired,
            ErrorCode::AlreadyHandshaken,
            ErrorCode::FrameTooLarge,
            ErrorCode::TooManyErrors,
            ErrorCode::ShuttingDown,
        ];
        for code in all {
            assert_eq!(ErrorCode::from_close_code(code.close_code()), Some(code));
        }
        assert_eq!(ErrorCode::from_close_code(1000), None);
    }

    #[test]
    fn error_codes_serialize_as_snake_case() {
        let json = serde_json::to_string(&ErrorCode::UnsupportedVersion).unwrap();
        assert_eq!(json, "\"unsupported_version\"");
    }
}
