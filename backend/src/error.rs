//! HTTP errors: one enum, one place that decides status codes and bodies.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;

use crate::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("storage unavailable: {0}")]
    Storage(#[from] StorageError),
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status = match &self {
            AppError::Storage(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        tracing::warn!(%status, error = %self, "request failed");
        (status, Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}
