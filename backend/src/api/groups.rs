//! Groups over HTTP: create one, add and remove members, list them. Every call is made
//! by a device (bearer token) and, past creation, only by a member of the group.
//!
//! ## Roles
//! A group has one **owner**, the user who created it (its admin; there is no API to
//! hand the role on), and **members**. Any member may list the members, add a user and
//! remove themself (leave). Only the owner removes *other* members, so nobody can throw
//! the owner, or anyone else, out of a group they do not own. The owner may leave too;
//! the role stays with the creator, so until they are added back nobody removes others.
//!
//! Refusals, checked in this order so that the answer never depends on what the caller
//! may not know: `401` without valid credentials, `404` for a group that does not exist,
//! `403` for a caller who is not a member (or, removing someone else, not the owner),
//! then `400` for a bad body and `404` for a user who is not there.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use bluetick_shared::frames::{GroupId, MAX_GROUP_MEMBERS, UserId};
pub use bluetick_shared::groups::{GroupView, Member, NewGroup, NewMember};

use super::auth::Authenticated;
use super::devices::MAX_NAME_CHARS;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{AddMember, DeviceIdentity};

fn json_error(e: JsonRejection, shape: &str) -> AppError {
    AppError::BadRequest(format!("expected {shape}: {}", e.body_text()))
}

pub async fn create(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    body: Result<Json<NewGroup>, JsonRejection>,
) -> Result<(StatusCode, Json<GroupView>), AppError> {
    let Json(body) = body.map_err(|e| json_error(e, "{\"name\": \"…\"}"))?;
    let name = body.name.trim();
    if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
        return Err(AppError::BadRequest(format!("name must be 1 to {MAX_NAME_CHARS} characters")));
    }
    let group = state.store.create_group(me.user, name).await?;
    Ok((StatusCode::CREATED, Json(view(&state, group).await?)))
}

pub async fn list_members(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    Path(group): Path<GroupId>,
) -> Result<Json<GroupView>, AppError> {
    member_only(&state, group, &me).await?;
    Ok(Json(view(&state, group).await?))
}

pub async fn add_member(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    Path(group): Path<GroupId>,
    body: Result<Json<NewMember>, JsonRejection>,
) -> Result<StatusCode, AppError> {
    // Authorise before looking at the body: a non-member learns nothing from it.
    member_only(&state, group, &me).await?;
    let Json(body) = body.map_err(|e| json_error(e, "{\"user_id\": \"…\"}"))?;
    // Lab sandboxes do not mix: a user of another lab is no user at all from here.
    if !state.store.user_in_lab(body.user_id, me.lab).await? {
        return Err(AppError::NotFound(format!("no user {}", body.user_id)));
    }
    match state.store.add_member(group, body.user_id).await? {
        AddMember::Added => Ok(StatusCode::CREATED),
        AddMember::AlreadyMember => Ok(StatusCode::OK),
        AddMember::GroupFull => Err(AppError::Conflict(
            "group_full",
            format!("a group has at most {MAX_GROUP_MEMBERS} members; this one is full"),
        )),
        AddMember::NoSuchGroup => Err(AppError::NotFound(format!("no group {group}"))),
        AddMember::NoSuchUser => Err(AppError::NotFound(format!("no user {}", body.user_id))),
    }
}

/// `DELETE /api/groups/{group}/members/{user}`: a member leaves (`user` is the caller),
/// or the owner removes another member. `204` when done; `403` for a caller who is not
/// a member, or who is not the owner and names someone else; `404` for a group that does
/// not exist or a user who is not a member.
///
/// A removed user's connections stop observing the group before the answer is sent: no
/// trace emitted after it reaches them, and fan-out batches from then on skip them.
pub async fn remove_member(
    State(state): State<AppState>,
    Authenticated(me): Authenticated,
    Path((group, user)): Path<(GroupId, UserId)>,
) -> Result<StatusCode, AppError> {
    member_only(&state, group, &me).await?;
    if user != me.user {
        let owner = state.store.group_owner(group).await?;
        if owner != Some(me.user) {
            return Err(AppError::Forbidden(
                "only the group's owner (the member who created it) may remove other members; \
                 any member may remove themself to leave"
                    .into(),
            ));
        }
    }
    if !state.store.remove_member(group, user).await? {
        return Err(AppError::NotFound(format!("{user} is not a member")));
    }
    // After the row is gone, so that an `observe` racing with this removal is caught by
    // one side or the other (see `TraceBus::member_left`).
    let ended = state.traces.member_left(group, user);
    tracing::info!(%group, %user, by = %me.user, observers_ended = ended, "member removed");
    Ok(StatusCode::NO_CONTENT)
}

/// Refuses callers who are not members (404 for a group that does not exist).
pub async fn member_only(state: &AppState, group: GroupId, me: &DeviceIdentity) -> Result<(), AppError> {
    // Lab sandboxes do not mix: another lab's group does not exist from here (a 403
    // would tell a student that the id they tried is some other lab's group).
    if state.store.group_lab(group).await? != Some(me.lab) {
        return Err(AppError::NotFound(format!("no group {group}")));
    }
    if !state.store.is_member(group, me.user).await? {
        return Err(AppError::Forbidden("only members of a group may do this".into()));
    }
    Ok(())
}

async fn view(state: &AppState, group: GroupId) -> Result<GroupView, AppError> {
    let name = state.store.group_name(group).await?.ok_or_else(|| AppError::NotFound(format!("no group {group}")))?;
    let owner = state.store.group_owner(group).await?.ok_or_else(|| AppError::NotFound(format!("no group {group}")))?;
    let members =
        state.store.members(group).await?.into_iter().map(|(user_id, name)| Member { user_id, name }).collect();
    Ok(GroupView { id: group, name, owner, members, max_members: MAX_GROUP_MEMBERS })
}
