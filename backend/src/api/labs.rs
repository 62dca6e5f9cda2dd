//! The lab sandbox API: each browser creates a lab once (`POST /api/labs`) and keeps its
//! devices' credentials; every control below is authorised by one of those devices and
//! reaches only devices of the same lab, so one student cannot disturb another's run.
//!
//! - `GET /api/lab`: the caller's lab, its devices, who is online, outages, expiry.
//! - `POST /api/lab/devices/{device}/drop`: cut the device's connection without a close
//!   frame, as a failing network would.
//! - `POST /api/lab/devices/{device}/outage` `{"seconds": N}`: cut it and refuse its
//!   hellos for N seconds ("server unreachable"); `DELETE` on the same path ends it now
//!   (a lab's reset), leaving the connection as it is.
//! - `PUT /api/lab/expiry` `{"seconds": N | null}`: messages sent in this lab from now on
//!   fail after N seconds undelivered (the FAILED tick without waiting 30 days).
//! - `GET`/`PUT /api/lab/pace` `{"mode": "live" | "step"}` or `{"mode": "slow",
//!   "hop_ms": N}`: how this lab's phones' messages move through the pipeline
//!   ([`crate::lab::pace`]); `POST /api/lab/pace/next` lets the oldest held hop go.
//! - `GET /api/lab/devices/{device}/queue`: the device's server-side offline queue.
//! - `GET /api/lab/messages/{id}`: how many rows and deliveries one message id has.

use std::time::Duration;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bluetick_shared::frames::{DeviceId, MessageId};
use bluetick_shared::lab::{
    ControlDone, ExpiryRequest, LAB_DEVICE_NAMES, LabCreated, LabDevice, LabId, LabView, MAX_LAB_EXPIRY_SECS,
    MAX_OUTAGE_SECS, MIN_LAB_EXPIRY_SECS, MessageCopies, NextHop, OutageRequest, Pace, PaceView, QueueView,
};

use super::auth::Authenticated;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::DeviceIdentity;

/// Devices a lab view lists at most (the student's three come first).
const LAB_VIEW_DEVICES: i64 = 16;

pub async fn create(State(state): State<AppState>) -> Result<(StatusCode, Json<LabCreated>), AppError> {
    let names: Vec<String> = LAB_DEVICE_NAMES.iter().map(|n| n.to_string()).collect();
    let (lab_id, devices) = state.store.create_lab(&names).await?;
    tracing::info!(lab = %lab_id, "lab created");
    Ok((StatusCode::CREATED, Json(LabCreated { lab_id, devices })))
}

pub async fn view(State(state): State<AppState>, Authenticated(me): Authenticated) -> Result<Json<LabView>, AppError> {
    let lab = my_lab(&state, &me)?;
    let members = state.store.lab_members(lab, LAB_VIEW_DEVICES).await?;
    let devices = members
        .into_iter()
        .map(|m| LabDevice {
            online: state.connections.is_online(m.device),
            outage_until: state.labs.outage_until(lab, m.device),
            device_id: m.device,
            user_id: m.user,
            name: m.name,
        })
        .collect();
    let expiry_secs = state.labs.expiry_ms(lab).map(|ms| (ms / 1000) as u64);
    Ok(Json(LabView { lab_id: lab, expiry_secs, devices }))
}

pub async fn drop_network(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    Path(device): Path<DeviceId>,
) -> Result<Json<ControlDone>, AppError> {
    my_device(&state, &me, device).await?;
    let dropped = cut(&state, device, "lab: network dropped");
    Ok(Json(ControlDone { dropped, until: None }))
}

pub async fn outage(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    Path(device): Path<DeviceId>,
    body: Result<Json<OutageRequest>, JsonRejection>,
) -> Result<Json<ControlDone>, AppError> {
    // Authorise before looking at the body: the answer to an outsider never depends on it.
    let lab = my_device(&state, &me, device).await?;
    let Json(body) =
        body.map_err(|e| AppError::BadRequest(format!("expected {{\"seconds\": N}}: {}", e.body_text())))?;
    if body.seconds == 0 || body.seconds > MAX_OUTAGE_SECS {
        return Err(AppError::BadRequest(format!("seconds must be 1 to {MAX_OUTAGE_SECS}")));
    }
    let until = state.labs.start_outage(lab, device, Duration::from_secs(body.seconds));
    let dropped = cut(&state, device, "lab: server unreachable");
    Ok(Json(ControlDone { dropped, until: Some(until) }))
}

pub async fn end_outage(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    Path(device): Path<DeviceId>,
) -> Result<Json<ControlDone>, AppError> {
    let lab = my_device(&state, &me, device).await?;
    state.labs.end_outage(lab, device);
    Ok(Json(ControlDone { dropped: 0, until: None }))
}

pub async fn set_expiry(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    body: Result<Json<ExpiryRequest>, JsonRejection>,
) -> Result<Json<LabView>, AppError> {
    let lab = my_lab(&state, &me)?;
    let Json(body) =
        body.map_err(|e| AppError::BadRequest(format!("expected {{\"seconds\": N or null}}: {}", e.body_text())))?;
    if let Some(seconds) = body.seconds
        && !(MIN_LAB_EXPIRY_SECS..=MAX_LAB_EXPIRY_SECS).contains(&seconds)
    {
        return Err(AppError::BadRequest(format!(
            "seconds must be {MIN_LAB_EXPIRY_SECS} to {MAX_LAB_EXPIRY_SECS}, or null for the server's default"
        )));
    }
    state.labs.set_expiry_ms(lab, body.seconds.map(|s| s as i64 * 1000));
    tracing::info!(%lab, seconds = ?body.seconds, "lab expiry set");
    view(State(state), Authenticated(me)).await
}

pub async fn pace(State(state): State<AppState>, Authenticated(me): Authenticated) -> Result<Json<PaceView>, AppError> {
    let lab = my_lab(&state, &me)?;
    Ok(Json(state.pacing.view(lab)))
}

pub async fn set_pace(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    body: Result<Json<Pace>, JsonRejection>,
) -> Result<Json<PaceView>, AppError> {
    let lab = my_lab(&state, &me)?;
    let Json(pace) = body.map_err(|e| {
        AppError::BadRequest(format!(
            "expected {{\"mode\": \"live\" | \"step\"}} or {{\"mode\": \"slow\", \"hop_ms\": N}}: {}",
            e.body_text()
        ))
    })?;
    if let Some(why) = pace.invalid() {
        return Err(AppError::BadRequest(why));
    }
    tracing::info!(%lab, ?pace, "lab pace set");
    Ok(Json(state.pacing.set(lab, pace)))
}

pub async fn next_hop(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
) -> Result<Json<NextHop>, AppError> {
    let lab = my_lab(&state, &me)?;
    let Some(released) = state.pacing.next(lab) else {
        let why = match state.pacing.view(lab).pace {
            Pace::Step => "no hop is waiting: send a message first",
            _ => "this lab is not in step mode: set {\"mode\": \"step\"} first",
        };
        return Err(AppError::Conflict("nothing_held", why.into()));
    };
    Ok(Json(NextHop { released, view: state.pacing.view(lab) }))
}

pub async fn queue(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    Path(device): Path<DeviceId>,
) -> Result<Json<QueueView>, AppError> {
    my_device(&state, &me, device).await?;
    Ok(Json(state.store.queue_view(device).await?))
}

pub async fn message_copies(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    Path(id): Path<MessageId>,
) -> Result<Json<MessageCopies>, AppError> {
    let lab = my_lab(&state, &me)?;
    Ok(Json(state.store.message_copies(lab, id).await?))
}

/// The caller's lab; devices outside labs have no lab controls.
pub(super) fn my_lab(state: &AppState, me: &DeviceIdentity) -> Result<LabId, AppError> {
    let lab = me.lab.ok_or_else(|| AppError::Forbidden("this device is not in a lab sandbox".into()))?;
    state.labs.touch(lab);
    Ok(lab)
}

/// The caller's lab, if `device` is in it; a device outside it is refused as not
/// found: another lab's devices do not exist as far as this one can tell.
async fn my_device(state: &AppState, me: &DeviceIdentity, device: DeviceId) -> Result<LabId, AppError> {
    let lab = my_lab(state, me)?;
    match state.store.device_lab(device).await? {
        Some(Some(found)) if found == lab => Ok(lab),
        _ => Err(AppError::NotFound(format!("no device {device} in your lab"))),
    }
}

fn cut(state: &AppState, device: DeviceId, reason: &str) -> u32 {
    match state.connections.peer(device) {
        Some(peer) => {
            peer.cut(reason);
            1
        }
        None => 0,
    }
}
