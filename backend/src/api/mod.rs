//! The HTTP API under `/api`.

pub mod devices;

use axum::Router;
use axum::routing::post;

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/devices", post(devices::register)).route("/users/{user}/devices", post(devices::add_device))
}
