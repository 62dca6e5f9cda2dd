//! A refused frame and the `error` frame that says why.

use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::ServerFrame;
use uuid::Uuid;

/// A frame refused: what the client is told in an `error` frame. Nothing of a refused
/// frame is stored.
#[derive(Debug)]
pub(super) struct Refusal {
    pub(super) code: ErrorCode,
    /// The refused message's id, when the frame was a `send`.
    pub(super) id: Option<Uuid>,
    pub(super) message: String,
}

impl Refusal {
    /// The same refusal, about message `id`.
    pub(super) fn about(self, id: Uuid) -> Refusal {
        Refusal { id: Some(id), ..self }
    }

    pub(super) fn into_frame(self) -> ServerFrame {
        ServerFrame::Error { code: self.code, id: self.id, message: self.message }
    }
}

pub(super) fn refuse(code: ErrorCode, message: impl Into<String>) -> Refusal {
    Refusal { code, id: None, message: message.into() }
}
