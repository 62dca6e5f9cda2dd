//! The lab's load run over HTTP, authorised like every lab control by one of the lab's
//! devices.
//!
//! - `POST /api/lab/load` `{"pairs": N, "seconds": S, "rate": R?}`: starts a bounded run
//!   in the caller's lab (202), or, while another lab's run holds the server, puts it in
//!   the line (202, its state `queued` and its `queue_position` in the view); it starts
//!   by itself when its turn comes. Outside the caps: 400 with the limit in a sentence.
//!   While this lab's own run goes or waits: 409 `load_running` / `load_queued`; with
//!   the line full: 429.
//! - `GET /api/lab/load`: the caps, whether another lab's run holds the server, this
//!   lab's place in the line, and its current or latest run (samples, ledger, state).
//! - `DELETE /api/lab/load`: leaves the line (a lab's reset); a run that has started
//!   finishes on its own, within its few seconds.

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use bluetick_shared::lab::LabId;
use bluetick_shared::lab_load::{LoadRequest, LoadView};

use super::auth::Authenticated;
use super::labs::my_lab;
use crate::error::AppError;
use crate::lab::load::{Line, MAX_QUEUE, Refusal, caps};
use crate::state::AppState;

pub async fn start(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    body: Result<Json<LoadRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<LoadView>), AppError> {
    let lab = my_lab(&state, &me)?;
    let Json(request) = body.map_err(|e| {
        AppError::BadRequest(format!(
            "expected {{\"pairs\": N, \"seconds\": N, \"rate\": N or absent}}: {}",
            e.body_text()
        ))
    })?;
    let caps = caps(&state.config);
    if let Some(why) = request.refusal(&caps) {
        return Err(AppError::BadRequest(why));
    }
    state.load.start(state.clone(), lab, request, Line::Back).map_err(|r| refused(r, "your lab's"))?;
    Ok((StatusCode::ACCEPTED, Json(view_of(&state, lab))))
}

/// A refused run as the answer to whoever asked; `whose` names the run ("your lab's").
pub(crate) fn refused(refusal: Refusal, whose: &str) -> AppError {
    match refusal {
        Refusal::Running => AppError::Conflict(
            "load_running",
            format!("{whose} load run is still going; wait for it to finish before starting another"),
        ),
        Refusal::AlreadyQueued(place) => AppError::Conflict(
            "load_queued",
            format!("{whose} load run is already in the line, at place {place}; it starts by itself"),
        ),
        Refusal::QueueFull => AppError::TooMany(format!(
            "{MAX_QUEUE} load runs are already waiting for this server; try again once the line is shorter"
        )),
        Refusal::Stopping => AppError::Conflict("shutting_down", "the server is shutting down".into()),
    }
}

pub async fn leave_queue(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
) -> Result<Json<LoadView>, AppError> {
    let lab = my_lab(&state, &me)?;
    if !state.load.leave_queue(lab) {
        return Err(AppError::Conflict("not_queued", "your lab has no load run waiting in the line".into()));
    }
    Ok(Json(view_of(&state, lab)))
}

pub async fn view(State(state): State<AppState>, Authenticated(me): Authenticated) -> Result<Json<LoadView>, AppError> {
    let lab = my_lab(&state, &me)?;
    Ok(Json(view_of(&state, lab)))
}

/// `lab`'s load view: the caps, the line, and its current or latest run.
pub(crate) fn view_of(state: &AppState, lab: LabId) -> LoadView {
    let runs = state.load.view(lab);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    LoadView {
        caps: caps(&state.config),
        busy_elsewhere: runs.busy_elsewhere,
        queue_position: runs.place,
        queued: runs.queued,
        cores,
        run: runs.latest.map(|m| m.snapshot()),
    }
}
