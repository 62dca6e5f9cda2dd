//! The key directory for end-to-end encryption. The server only stores and hands out
//! public keys; it cannot read a message encrypted with them.
//!
//! - `PUT /api/keys` [`KeyUpload`]: the calling device publishes its own keys (there is no
//!   way to name another device). Every one-time and fallback key must carry a valid
//!   signature by the uploaded Ed25519 identity key; identity keys cannot change once
//!   published (`409 identity_mismatch`). Answers [`KeyCount`].
//! - `GET /api/keys/count`: the caller's [`KeyCount`], to replenish one-time keys.
//! - `POST /api/keys/claim` [`KeyClaim`]: one key per named device, see
//!   [`Keys::claim_keys`](crate::store::Keys::claim_keys). Answers [`ClaimedKeys`].
//! - `GET /api/keys/users/{user}`: the user's devices that have keys ([`UserDevices`]).
//!
//! Lab sandboxes do not mix: devices and users of another lab do not exist from here.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use bluetick_shared::e2e::keys::{ClaimedKeys, KeyClaim, KeyCount, KeyUpload, UserDevices};
use bluetick_shared::frames::UserId;

use super::auth::Authenticated;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{PublishKeys, unix_millis};

/// Most one-time keys in one upload.
pub const MAX_ONE_TIME_KEYS_PER_UPLOAD: usize = 100;
/// Most devices in one claim.
pub const MAX_DEVICES_PER_CLAIM: usize = 1024;

pub async fn publish(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    body: Result<Json<KeyUpload>, JsonRejection>,
) -> Result<Json<KeyCount>, AppError> {
    let Json(upload) = body.map_err(|e| AppError::BadRequest(format!("expected a key upload: {}", e.body_text())))?;
    if upload.one_time_keys.len() > MAX_ONE_TIME_KEYS_PER_UPLOAD {
        return Err(AppError::BadRequest(format!("at most {MAX_ONE_TIME_KEYS_PER_UPLOAD} one-time keys per upload")));
    }
    upload.verify(me.device).map_err(|e| AppError::BadRequest(format!("refused keys: {e}")))?;
    match state.store.publish_keys(me.device, &upload, unix_millis()).await? {
        PublishKeys::Published(count) => Ok(Json(count)),
        PublishKeys::IdentityMismatch => Err(AppError::Conflict(
            "identity_mismatch",
            "this device published other identity keys before; they cannot change".into(),
        )),
    }
}

pub async fn count(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
) -> Result<Json<KeyCount>, AppError> {
    Ok(Json(state.store.key_count(me.device).await?))
}

pub async fn claim(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    body: Result<Json<KeyClaim>, JsonRejection>,
) -> Result<Json<ClaimedKeys>, AppError> {
    let Json(claim) =
        body.map_err(|e| AppError::BadRequest(format!("expected {{\"devices\": [\"…\"]}}: {}", e.body_text())))?;
    if claim.devices.len() > MAX_DEVICES_PER_CLAIM {
        return Err(AppError::BadRequest(format!("at most {MAX_DEVICES_PER_CLAIM} devices per claim")));
    }
    let devices = state.store.claim_keys(me.device, &claim.devices, me.lab, unix_millis()).await?;
    Ok(Json(ClaimedKeys { devices }))
}

pub async fn user_devices(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    Path(user): Path<UserId>,
) -> Result<Json<UserDevices>, AppError> {
    if !state.store.user_in_lab(user, me.lab).await? {
        return Err(AppError::NotFound(format!("no user {user}")));
    }
    Ok(Json(state.store.user_device_keys(user).await?))
}
