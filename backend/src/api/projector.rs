//! The projector over HTTP ([`crate::classes::projector`]). Starting, reading and
//! clearing it take the instructor token; a student's lab device may only read it.
//!
//! - `POST /api/classes/{id}/projector` `{"pairs": N, "seconds": S, "rate": R?}`
//!   (instructor): puts a load run on the class's projector; it starts now or goes next
//!   in the line (202, the run's view). The caps and refusals are the load panel's.
//! - `GET /api/classes/{id}/projector` (instructor): the shown run, or `null`.
//! - `DELETE /api/classes/{id}/projector` (instructor): takes it off every page (204).
//! - `GET /api/class/projector` (a lab device of a joined lab): the same read-only view
//!   a student's page follows live on `GET /api/class/watch`.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bluetick_shared::class::ClassId;
use bluetick_shared::lab_load::{LoadRequest, LoadView};

use super::auth::Authenticated;
use super::instructor::Instructor;
use super::labs::my_lab;
use crate::classes::projector;
use crate::error::AppError;
use crate::lab::load::caps;
use crate::state::AppState;

async fn class_exists(state: &AppState, class: ClassId) -> Result<(), AppError> {
    match state.store.class(class).await? {
        Some(_) => Ok(()),
        None => Err(AppError::NotFound("no such class".into())),
    }
}

pub async fn start(
    State(state): State<AppState>,
    _: Instructor,
    Path(class): Path<ClassId>,
    body: Result<Json<LoadRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<LoadView>), AppError> {
    class_exists(&state, class).await?;
    let Json(request) = body.map_err(|e| {
        AppError::BadRequest(format!(
            "expected {{\"pairs\": N, \"seconds\": N, \"rate\": N or absent}}: {}",
            e.body_text()
        ))
    })?;
    if let Some(why) = request.refusal(&caps(&state.config)) {
        return Err(AppError::BadRequest(why));
    }
    let view = projector::start(&state, class, request).await?;
    Ok((StatusCode::ACCEPTED, Json(view)))
}

pub async fn view(
    State(state): State<AppState>,
    _: Instructor,
    Path(class): Path<ClassId>,
) -> Result<Json<Option<LoadView>>, AppError> {
    class_exists(&state, class).await?;
    Ok(Json(state.projectors.view(&state, class)))
}

pub async fn clear(
    State(state): State<AppState>,
    _: Instructor,
    Path(class): Path<ClassId>,
) -> Result<StatusCode, AppError> {
    class_exists(&state, class).await?;
    projector::clear(&state, class);
    Ok(StatusCode::NO_CONTENT)
}

pub async fn follow(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
) -> Result<Json<Option<LoadView>>, AppError> {
    let lab = my_lab(&state, &me)?;
    let (class, _) = state
        .store
        .lab_class(lab)
        .await?
        .ok_or_else(|| AppError::Conflict("not_in_class", "your lab has not joined a class".into()))?;
    Ok(Json(state.projectors.view(&state, class.class_id)))
}
