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
        let (device, token) = credentials.split_once(':').ok_or_else(unauthorized)?;
        let device = device.parse().map_err(|_| unauthorized())?;
        let identity = state
            .store
            .authenticate(device, token)
            .await?
            .ok_or_else(|| AppError::Unauthorized("unknown device or wrong token".into()))?;
        Ok(Authenticated(identity))
    }
}
