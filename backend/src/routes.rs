//! The router: which path goes where.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
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
        .nest("/api", crate::api::router())
        .layer(TraceLayer::new_for_http());
    if static_dir.join("index.html").is_file() {
        api.fallback_service(crate::page::service(&static_dir)).with_state(state)
    } else {
        tracing::warn!(dir = %static_dir.display(), "no built page found; `/` explains how to build it");
        api.fallback(page_not_built).with_state(state)
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
