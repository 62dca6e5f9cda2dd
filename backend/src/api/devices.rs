//! `POST /api/devices`: a new user with one device. `POST /api/users/{user}/devices`: one
//! more device for a user, authorised by one of the user's existing devices.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use bluetick_shared::frames::{Registration, UserId};
use serde::Deserialize;
use uuid::Uuid;

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

pub async fn add_device(
    State(state): State<AppState>,
    Path(user): Path<UserId>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Registration>), AppError> {
    let (device, token) = bearer(&headers)?;
    let identity = state
        .store
        .authenticate(device, &token)
        .await?
        .ok_or_else(|| AppError::Unauthorized("unknown device or wrong token".into()))?;
    if identity.user != user {
        return Err(AppError::Unauthorized("a device can only add devices to its own user".into()));
    }
    let registration =
        state.store.add_device(user).await?.ok_or_else(|| AppError::NotFound(format!("no user {user}")))?;
    Ok((StatusCode::CREATED, Json(registration)))
}

/// `Authorization: Bearer <device id>:<token>`.
fn bearer(headers: &HeaderMap) -> Result<(Uuid, String), AppError> {
    let unauthorized = || AppError::Unauthorized("send Authorization: Bearer <device id>:<token>".into());
    let value = headers.get("authorization").and_then(|v| v.to_str().ok()).ok_or_else(unauthorized)?;
    let credentials = value.strip_prefix("Bearer ").ok_or_else(unauthorized)?;
    let (device, token) = credentials.split_once(':').ok_or_else(unauthorized)?;
    let device = device.parse().map_err(|_| unauthorized())?;
    Ok((device, token.to_string()))
}
