//! HTTP errors: one enum, one place that decides status codes and bodies. Every error
//! body is JSON: `{"error": "<code>", "message": "<sentence>"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::store::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("storage unavailable: {0}")]
    Storage(#[from] StorageError),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    /// The request conflicts with the current state; the code names how.
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("{0}")]
    TooMany(String),
}

impl AppError {
    fn code(&self) -> (StatusCode, &'static str) {
        match self {
            AppError::Storage(_) => (StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable"),
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            AppError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            AppError::Conflict(code, _) => (StatusCode::CONFLICT, code),
            AppError::TooMany(_) => (StatusCode::TOO_MANY_REQUESTS, "too_many"),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code) = self.code();
        if status.is_server_error() {
            tracing::warn!(%status, error = %self, "request failed");
        }
        (status, Json(serde_json::json!({ "error": code, "message": self.to_string() }))).into_response()
    }
}
