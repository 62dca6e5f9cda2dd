//! `Authorization: Bearer <instructor token>` as an extractor: a handler that takes
//! [`Instructor`] runs only for whoever holds the token the server printed at start (or
//! was given with `--instructor-token`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use subtle::ConstantTimeEq;

use crate::error::AppError;
use crate::state::AppState;

pub struct Instructor;

impl FromRequestParts<AppState> for Instructor {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let Some(expected) = state.config.instructor_token.as_deref() else {
            return Err(AppError::Forbidden(
                "this server has no instructor token: start it with --instructor-token (or BLUETICK_INSTRUCTOR_TOKEN)"
                    .into(),
            ));
        };
        let given = parts
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| AppError::Unauthorized("send Authorization: Bearer <instructor token>".into()))?;
        if is_instructor(expected, given) {
            Ok(Instructor)
        } else {
            Err(AppError::Unauthorized("that is not this server's instructor token".into()))
        }
    }
}

/// Whether `given` is the instructor token, compared in constant time.
pub fn is_instructor(expected: &str, given: &str) -> bool {
    bool::from(expected.as_bytes().ct_eq(given.as_bytes()))
}
