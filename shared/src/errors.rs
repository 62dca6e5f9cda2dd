//! Error codes carried by `error` frames, and the close codes that end a connection.
//!
//! Every refusal the server makes is typed: the page can explain it to a student and a
//! test can assert it without matching on prose.
//!
//! Most codes refuse one frame: the connection stays open, and nothing in the frame was
//! stored. The codes marked **closes** below end the connection: after an `error` frame
//! with the code, a close frame with its [`ErrorCode::close_code`]. A frame refused for
//! any reason counts toward `too_many_errors` (8 in a row close the connection; an
//! accepted frame resets the count). [`crate::frames`] has the whole rule.

use serde::{Deserialize, Serialize};

/// Why the server refused a frame or a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The client's `hello` named a protocol version this server does not speak.
    /// **Closes.**
    UnsupportedVersion,
    /// The frame was not valid JSON, or not a frame this protocol knows (binary frames
    /// included: the protocol is JSON text).
    MalformedFrame,
    /// The first frame on a connection must be `hello`. A frame before it is refused;
    /// no hello within the handshake timeout **closes**.
    HandshakeRequired,
    /// `hello` was sent twice on one connection.
    AlreadyHandshaken,
    /// The frame exceeded the server's size limit (`--max-frame-bytes`).
    FrameTooLarge,
    /// The connection sent 8 refused frames in a row. **Closes**, as a close frame only:
    /// the error frame before it is the eighth refusal's.
    TooManyErrors,
    /// The server is shutting down. **Closes** with 1001 (going away), no error frame.
    ShuttingDown,
    /// The hello's device id and token do not match a registered device. **Closes.**
    BadCredentials,
    /// This frame needs a device: send `hello` with credentials first.
    NotAuthenticated,
    /// The user or group named (a `send` or `observe` recipient, a watched user) does
    /// not exist, or not in the caller's lab sandbox. Recipients are users and groups,
    /// never devices.
    UnknownRecipient,
    /// A message id must be a UUID version 7.
    InvalidMessageId,
    /// The frame's fields are out of range (an ack beyond what was pushed, a read naming
    /// a sequence that is not a message pushed to this device, an empty list…).
    InvalidField,
    /// Sending to or observing a group you are not a member of.
    NotAParticipant,
    /// The same device connected again; this older connection **closes**. Sends it had
    /// not answered are never answered: resend them with the same ids.
    Replaced,
    /// The client did not read its frames fast enough; its messages wait in its inbox.
    /// **Closes.**
    SlowConsumer,
    /// Nothing received (no frame of any kind) within the presence TTL: the connection
    /// is presumed dead. **Closes.**
    PresenceExpired,
    /// The database could not take the write; nothing was stored, retry with the same id.
    /// **Closes** when it happens while checking the hello's credentials.
    StorageUnavailable,
}

/// Every code, for tables and exhaustive tests.
pub const ALL_ERROR_CODES: [ErrorCode; 17] = [
    ErrorCode::UnsupportedVersion,
    ErrorCode::MalformedFrame,
    ErrorCode::HandshakeRequired,
    ErrorCode::AlreadyHandshaken,
    ErrorCode::FrameTooLarge,
    ErrorCode::TooManyErrors,
    ErrorCode::ShuttingDown,
    ErrorCode::BadCredentials,
    ErrorCode::NotAuthenticated,
    ErrorCode::UnknownRecipient,
    ErrorCode::InvalidMessageId,
    ErrorCode::InvalidField,
    ErrorCode::NotAParticipant,
    ErrorCode::Replaced,
    ErrorCode::SlowConsumer,
    ErrorCode::PresenceExpired,
    ErrorCode::StorageUnavailable,
];

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
            ErrorCode::BadCredentials => 4007,
            ErrorCode::NotAuthenticated => 4008,
            ErrorCode::UnknownRecipient => 4009,
            ErrorCode::InvalidMessageId => 4010,
            ErrorCode::InvalidField => 4011,
            ErrorCode::NotAParticipant => 4012,
            ErrorCode::Replaced => 4013,
            ErrorCode::SlowConsumer => 4014,
            ErrorCode::PresenceExpired => 4015,
            ErrorCode::StorageUnavailable => 4016,
            // 1001 "going away" is the standard code for a server shutting down.
            ErrorCode::ShuttingDown => 1001,
        }
    }

    /// Whether a client should give up rather than reconnect after being closed with
    /// this error: retrying cannot help when the client itself is wrong.
    pub fn is_fatal(self) -> bool {
        matches!(self, ErrorCode::UnsupportedVersion | ErrorCode::BadCredentials | ErrorCode::Replaced)
    }

    /// The code that a close code stands for, if it is one of ours.
    pub fn from_close_code(code: u16) -> Option<ErrorCode> {
        ALL_ERROR_CODES.into_iter().find(|c| c.close_code() == code)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn close_codes_round_trip_and_are_distinct() {
        for code in ALL_ERROR_CODES {
            assert_eq!(ErrorCode::from_close_code(code.close_code()), Some(code));
        }
        assert_eq!(ErrorCode::from_close_code(1000), None);
        let mut codes: Vec<u16> = ALL_ERROR_CODES.iter().map(|c| c.close_code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), ALL_ERROR_CODES.len());
    }

    #[test]
    fn error_codes_serialize_as_snake_case() {
        let json = serde_json::to_string(&ErrorCode::UnsupportedVersion).unwrap();
        assert_eq!(json, "\"unsupported_version\"");
    }
}
