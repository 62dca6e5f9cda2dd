//! "Give me a group of N members": starts a simulated crowd inside a group.
//!
//! `POST /api/groups/{group}/crowd` registers N member devices, adds them to the group
//! (refused past the 1,024 cap) and starts them; `GET /api/crowds/{id}` reports what each
//! member has received and read; `DELETE /api/crowds/{id}` stops them.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bluetick_shared::frames::{DeviceId, GroupId, MAX_GROUP_MEMBERS, UserId};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::auth::Authenticated;
use super::groups::member_only;
use crate::config::CrowdTransport;
use crate::error::AppError;
use crate::lab::crowd::{Crowd, CrowdRefusal, CrowdSpec, MemberLog};
use crate::state::AppState;
use crate::store::AddMember;

/// The longest read delay a crowd may be given.
const MAX_READ_DELAY_MS: u64 = 60_000;

#[derive(Debug, Serialize, Deserialize)]
pub struct CrowdStarted {
    pub crowd_id: Uuid,
    pub group: GroupId,
    pub members: Vec<UserId>,
    /// Each member's device, in the same order (pipeline traces name devices).
    #[serde(default)]
    pub devices: Vec<DeviceId>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct CrowdReport {
    pub crowd_id: Uuid,
    pub members: Vec<MemberReport>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct MemberReport {
    pub user_id: UserId,
    #[serde(flatten)]
    pub log: MemberLog,
}

pub async fn start(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    Path(group): Path<GroupId>,
    body: Result<Json<CrowdSpec>, JsonRejection>,
) -> Result<(StatusCode, Json<CrowdStarted>), AppError> {
    // Authorise before looking at the body: a caller who may not start a crowd here is
    // told so whatever it sent, and learns nothing about what a valid body looks like.
    member_only(&state, group, &me).await?;
    let Json(spec) =
        body.map_err(|e| AppError::BadRequest(format!("expected {{\"size\": N, …}}: {}", e.body_text())))?;
    if spec.size == 0 || spec.size > MAX_GROUP_MEMBERS {
        return Err(AppError::BadRequest(format!("size must be 1 to {MAX_GROUP_MEMBERS}")));
    }
    if spec.offline > spec.size {
        return Err(AppError::BadRequest("offline cannot exceed size".into()));
    }
    if spec.read_delay_ms.0 > spec.read_delay_ms.1 || spec.read_delay_ms.1 > MAX_READ_DELAY_MS {
        return Err(AppError::BadRequest(format!("read_delay_ms is [min, max] with max ≤ {MAX_READ_DELAY_MS}")));
    }
    let current = state.store.members(group).await?.len();
    if current + spec.size > MAX_GROUP_MEMBERS {
        return Err(AppError::Conflict(
            "group_full",
            format!("the group has {current} members; {} more would pass the cap of {MAX_GROUP_MEMBERS}", spec.size),
        ));
    }
    let config = &state.config;
    // Held until the crowd runs (or given back if the start fails on the way).
    let places = state.crowds.reserve(me.user, spec.size, config.crowd_max_per_owner, config.crowd_max_total).map_err(
        |refusal| {
            AppError::TooMany(match refusal {
                CrowdRefusal::OwnerCap { cap, running } => {
                    format!("you already run {running} crowd members; the cap per person is {cap}")
                }
                CrowdRefusal::ServerCap { cap, running } => {
                    format!("this server already runs {running} crowd members; its cap is {cap}")
                }
            })
        },
    )?;

    let names: Vec<String> = (1..=spec.size).map(|i| format!("Member {i:04}")).collect();
    let members = state.store.register_users(&names, me.lab).await?;
    let users: Vec<UserId> = members.iter().map(|m| m.user_id).collect();
    let devices: Vec<DeviceId> = members.iter().map(|m| m.device_id).collect();
    match state.store.add_members(group, &users).await? {
        AddMember::Added => {}
        AddMember::GroupFull => {
            return Err(AppError::Conflict("group_full", format!("the group reached {MAX_GROUP_MEMBERS} members")));
        }
        other => return Err(AppError::NotFound(format!("cannot add members: {other:?}"))),
    }
    // Lab devices live with the lab's compressed presence TTL; heartbeat to match it.
    let heartbeat_ms = match me.lab {
        Some(_) => (config.lab_presence_ttl_ms / 4).max(25),
        None => config.heartbeat_ms,
    };
    let door = (state.config.crowd_transport == CrowdTransport::Pipe).then(|| state.in_process.clone());
    let crowd = Crowd::start(state.ws_url.clone(), door, members, &spec, heartbeat_ms, state.clock.clone());
    let (crowd_id, _) = state.crowds.insert(me.user, me.device, crowd, places);
    tracing::info!(%crowd_id, %group, size = spec.size, offline = spec.offline, "crowd started");
    Ok((StatusCode::CREATED, Json(CrowdStarted { crowd_id, group, members: users, devices })))
}

pub async fn report(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    Path(crowd_id): Path<Uuid>,
) -> Result<Json<CrowdReport>, AppError> {
    let (_, crowd) = owned_crowd(&state, &me, crowd_id, "read").await?;
    let members = crowd
        .members
        .iter()
        .zip(crowd.logs())
        .map(|(member, log)| MemberReport { user_id: member.user_id, log })
        .collect();
    Ok(Json(CrowdReport { crowd_id, members }))
}

pub async fn stop(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    Path(crowd_id): Path<Uuid>,
) -> Result<StatusCode, AppError> {
    owned_crowd(&state, &me, crowd_id, "stop").await?;
    state.crowds.remove(crowd_id).await;
    Ok(StatusCode::NO_CONTENT)
}

/// The crowd, if `me` owns it: 403 for someone else's in the caller's lab, 404 for one
/// in another lab (lab sandboxes do not mix: from here, it does not exist).
async fn owned_crowd(
    state: &AppState,
    me: &crate::store::DeviceIdentity,
    crowd_id: Uuid,
    verb: &str,
) -> Result<(UserId, std::sync::Arc<Crowd>), AppError> {
    let not_found = || AppError::NotFound(format!("no crowd {crowd_id}"));
    let (owner, crowd) = state.crowds.get(crowd_id).ok_or_else(not_found)?;
    if owner != me.user {
        if state.store.user_lab(owner).await? != Some(me.lab) {
            return Err(not_found());
        }
        return Err(AppError::Forbidden(format!("only the crowd's owner may {verb} it")));
    }
    Ok((owner, crowd))
}
