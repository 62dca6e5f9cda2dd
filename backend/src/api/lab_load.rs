//! The lab's load run over HTTP, authorised like every lab control by one of the lab's
//! devices.
//!
//! - `POST /api/lab/load` `{"pairs": N, "seconds": S, "rate": R?}`: starts a bounded run
//!   in the caller's lab (202). Outside the caps: 400 with the limit in a sentence. While
//!   any run is going on this server: 409 `load_running`.
//! - `GET /api/lab/load`: the caps, whether another lab's run holds the server, and this
//!   lab's current or latest run (samples, ledger, state).

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::JsonRejection;
use axum::http::StatusCode;
use bluetick_shared::lab::LabId;
use bluetick_shared::lab_load::{LoadRequest, LoadView};

use super::auth::Authenticated;
use super::labs::my_lab;
use crate::error::AppError;
use crate::lab::load::{Busy, caps};
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
    state.load.start(state.clone(), lab, request).map_err(|Busy { mine }| {
        AppError::Conflict(
            "load_running",
            if mine {
                "your lab's load run is still going; wait for it to finish before starting another".into()
            } else {
                "another lab's load run is using this server; one run at a time keeps it fair, so try again in a \
                 few seconds"
                    .into()
            },
        )
    })?;
    Ok((StatusCode::ACCEPTED, Json(view_of(&state, lab))))
}

pub async fn view(State(state): State<AppState>, Authenticated(me): Authenticated) -> Result<Json<LoadView>, AppError> {
    let lab = my_lab(&state, &me)?;
    Ok(Json(view_of(&state, lab)))
}

fn view_of(state: &AppState, lab: LabId) -> LoadView {
    let (busy_elsewhere, meter) = state.load.view(lab);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
    LoadView { caps: caps(&state.config), busy_elsewhere, cores, run: meter.map(|m| m.snapshot()) }
}
