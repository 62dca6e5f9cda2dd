//! The router: which path goes where.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::http::header::{CONNECTION, CONTENT_LENGTH};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tower_http::trace::TraceLayer;

use crate::error::AppError;
use crate::gateway;
use crate::state::AppState;

pub fn router(state: AppState) -> Router {
    let static_dir = state.config.static_dir.clone();
    let api = Router::new()
        .route("/ws", get(gateway::upgrade))
        .route("/healthz", get(healthz))
        .nest("/api", crate::api::router().layer(axum::middleware::from_fn(read_body_first)))
        .layer(TraceLayer::new_for_http());
    if static_dir.join("index.html").is_file() {
        api.fallback_service(crate::page::service(&static_dir)).with_state(state)
    } else {
        tracing::warn!(dir = %static_dir.display(), "no built page found; `/` explains how to build it");
        api.fallback(page_not_built).with_state(state)
    }
}

/// The most an API request body may hold (axum's own default for JSON bodies).
pub const MAX_BODY_BYTES: usize = 2 * 1024 * 1024;

/// Reads a request's whole body before its handler runs.
///
/// A handler that refuses early (a `401` from the bearer check, a `403`, a `404` from the
/// path) never reads the body. If that body had not fully arrived when the answer went
/// out, hyper could not tell where the next request on the connection starts and closed
/// it, without saying `Connection: close`: a keep-alive client's next request got no
/// answer at all. With the body read first every answer leaves the connection usable. A
/// body that cannot be read (too large, cut short) is refused with `Connection: close`,
/// which is then the truth.
async fn read_body_first(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts.headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    let bytes = match declared {
        Some(n) if n > MAX_BODY_BYTES as u64 => Err(StatusCode::PAYLOAD_TOO_LARGE),
        _ => axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|_| StatusCode::BAD_REQUEST),
    };
    match bytes {
        Ok(bytes) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Err(status) => {
            let body = serde_json::json!({
                "error": if status == StatusCode::PAYLOAD_TOO_LARGE { "payload_too_large" } else { "bad_request" },
                "message": format!("the request body could not be read whole (at most {MAX_BODY_BYTES} bytes)"),
            });
            (status, [(CONNECTION, "close")], Json(body)).into_response()
        }
    }
}

/// Liveness and readiness: answers 200 only if the database answers too.
async fn healthz(State(state): State<AppState>) -> Result<Json<serde_json::Value>, AppError> {
    let boots = state.store.boot_count().await?;
    Ok(Json(serde_json::json!({
        "status": "ok",
        "server": crate::SERVER_NAME,
        "protocol": bluetick_shared::frames::PROTOCOL_VERSION,
        "boots": boots,
    })))
}

async fn page_not_built(State(state): State<AppState>) -> impl IntoResponse {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        format!(
            "The bluetick server is running, but the lesson page has not been built into {}.\n\
             Run `make run` from the repository root: it builds the page and starts the server.\n",
            state.config.static_dir.display()
        ),
    )
}
