//! `Authorization: Bearer <device id>:<token>` as an extractor: a handler that takes
//! [`Authenticated`] runs only for a registered device, and knows which.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::error::AppError;
use crate::state::AppState;
use crate::store::DeviceIdentity;

pub struct Authenticated(pub DeviceIdentity);

impl FromRequestParts<AppState> for Authenticated {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let unauthorized = || AppError::Unauthorized("send Authorization: Bearer <device id>:<token>".into());
        let value = parts.headers.get("authorization").and_then(|v| v.to_str().ok()).ok_or_else(unauthorized)?;
        let credentials = value.strip_prefix("Bearer ").ok_or_else(unauthorized)?;
        match device_of(state, credentials).await? {
            Credentials::Malformed => Err(unauthorized()),
            Credentials::Unknown => Err(AppError::Unauthorized("unknown device or wrong token".into())),
            Credentials::Device(identity) => Ok(Authenticated(identity)),
        }
    }
}

/// What a device's credentials named.
pub enum Credentials {
    /// Not `<device id>:<token>`.
    Malformed,
    /// No such device, or the wrong token.
    Unknown,
    Device(DeviceIdentity),
}

/// The device `credentials` (`<device id>:<token>`, as in the bearer header or a watch
/// socket's first frame) name.
pub async fn device_of(state: &AppState, credentials: &str) -> Result<Credentials, crate::store::StorageError> {
    let Some((device, token)) = credentials.split_once(':') else { return Ok(Credentials::Malformed) };
    let Ok(device) = device.parse() else { return Ok(Credentials::Malformed) };
    Ok(match state.store.authenticate(device, token).await? {
        Some(identity) => Credentials::Device(identity),
        None => Credentials::Unknown,
    })
}
