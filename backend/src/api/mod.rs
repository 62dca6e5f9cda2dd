//! The HTTP API under `/api`.

pub mod auth;
pub mod classes;
pub mod crowds;
pub mod devices;
pub mod groups;
pub mod instructor;
pub mod keys;
pub mod lab_load;
pub mod labs;
pub mod projector;

use axum::Router;
use axum::routing::{delete, get, post, put};

use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/devices", post(devices::register))
        .route("/users/{user}/devices", post(devices::add_device))
        .route("/groups", post(groups::create))
        .route("/groups/{group}/members", get(groups::list_members).post(groups::add_member))
        .route("/groups/{group}/members/{user}", delete(groups::remove_member))
        .route("/groups/{group}/crowd", post(crowds::start))
        .route("/crowds/{crowd}", get(crowds::report).delete(crowds::stop))
        .route("/keys", put(keys::publish))
        .route("/keys/count", get(keys::count))
        .route("/keys/claim", post(keys::claim))
        .route("/keys/users/{user}", get(keys::user_devices))
        .route("/classes", get(classes::list).post(classes::create))
        .route("/classes/{class}", get(classes::view))
        .route("/classes/{class}/results.csv", get(classes::results_csv))
        .route("/classes/{class}/watch", get(crate::classes::watch::upgrade))
        .route("/classes/{class}/projector", get(projector::view).post(projector::start).delete(projector::clear))
        .route("/class", get(classes::mine))
        .route("/class/watch", get(crate::classes::follow::upgrade))
        .route("/class/projector", get(projector::follow))
        .route("/class/join", post(classes::join))
        .route("/class/progress", post(classes::progress))
        .route("/labs", post(labs::create))
        .route("/lab", get(labs::view))
        .route("/lab/expiry", put(labs::set_expiry))
        .route("/lab/pace", get(labs::pace).put(labs::set_pace))
        .route("/lab/pace/next", post(labs::next_hop))
        .route("/lab/load", get(lab_load::view).post(lab_load::start).delete(lab_load::leave_queue))
        .route("/lab/devices/{device}/drop", post(labs::drop_network))
        .route("/lab/devices/{device}/outage", post(labs::outage).delete(labs::end_outage))
        .route("/lab/devices/{device}/queue", get(labs::queue))
        .route("/lab/messages/{id}", get(labs::message_copies))
}
