//! `POST /api/devices`: a new user with one device. `POST /api/users/{user}/devices`: one
//! more device for a user, authorised by one of the user's existing devices.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bluetick_shared::frames::{Registration, UserId};
use serde::Deserialize;

use super::auth::Authenticated;
use crate::error::AppError;
use crate::state::AppState;

/// Longest display name, in characters.
pub const MAX_NAME_CHARS: usize = 64;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
}

pub async fn register(
    State(state): State<AppState>,
    body: Result<Json<NewUser>, JsonRejection>,
) -> Result<(StatusCode, Json<Registration>), AppError> {
    let Json(body) =
        body.map_err(|e| AppError::BadRequest(format!("expected {{\"name\": \"…\"}}: {}", e.body_text())))?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::BadRequest(format!("name must be 1 to {MAX_NAME_CHARS} characters")));
    }
    let registration = state.store.register_user(name).await?;
    tracing::info!(user = %registration.user_id, device = %registration.device_id, "registered");
    Ok((StatusCode::CREATED, Json(registration)))
}

/// `POST /api/users/{user}/devices`, no body: `201` with the new device's
/// [`Registration`]. `401` without valid credentials; `403` when the (valid) caller is a
/// device of another user: the credentials are fine, the request is not allowed, so a
/// client must not take it as a reason to register again.
pub async fn add_device(
    State(state): State<AppState>,
    Path(user): Path<UserId>,
    Authenticated(me): Authenticated,
) -> Result<(StatusCode, Json<Registration>), AppError> {
    if me.user != user {
        return Err(AppError::Forbidden("a device can only add devices to its own user".into()));
    }
    let registration =
        state.store.add_device(user).await?.ok_or_else(|| AppError::NotFound(format!("no user {user}")))?;
    Ok((StatusCode::CREATED, Json(registration)))
}
