//! HTTP for tests, through the client library's small HTTP client.

use std::net::SocketAddr;

use bluetick_client::http::request;
use bluetick_shared::frames::{GroupId, Registration};
use bluetick_shared::groups::GroupView;
use bluetick_shared::lab::LabCreated;

/// Status code and body of `GET path`.
pub async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    request(addr, "GET", path, None, None).await.expect("HTTP request")
}

/// Status code and body of `POST path` with a JSON body.
pub async fn post_json(addr: SocketAddr, path: &str, body: &str) -> (u16, String) {
    request(addr, "POST", path, Some(body), None).await.expect("HTTP request")
}

/// Status code and body of an empty `POST path` with `Authorization: Bearer <bearer>`.
pub async fn post_with_bearer(addr: SocketAddr, path: &str, bearer: &str) -> (u16, String) {
    request(addr, "POST", path, None, Some(bearer)).await.expect("HTTP request")
}

/// `METHOD path` with an optional JSON body, as `device`.
pub async fn as_device(
    addr: SocketAddr,
    device: &Registration,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> (u16, String) {
    let bearer = format!("{}:{}", device.device_id, device.token);
    request(addr, method, path, body, Some(&bearer)).await.expect("HTTP request")
}

/// Registers a new user with one device.
pub async fn register(addr: SocketAddr, name: &str) -> Registration {
    let (status, body) = post_json(addr, "/api/devices", &serde_json::json!({ "name": name }).to_string()).await;
    assert_eq!(status, 201, "register {name}: {body}");
    serde_json::from_str(&body).expect("a registration")
}

/// A new group `name` created by `owner`, with `members` added.
pub async fn create_group(addr: SocketAddr, owner: &Registration, name: &str, members: &[&Registration]) -> GroupId {
    let body = serde_json::json!({ "name": name }).to_string();
    let (status, body) = as_device(addr, owner, "POST", "/api/groups", Some(&body)).await;
    assert_eq!(status, 201, "create group {name}: {body}");
    let group = serde_json::from_str::<GroupView>(&body).expect("a group").id;
    for member in members {
        let body = serde_json::json!({ "user_id": member.user_id }).to_string();
        let (status, body) = as_device(addr, owner, "POST", &format!("/api/groups/{group}/members"), Some(&body)).await;
        assert_eq!(status, 201, "add a member: {body}");
    }
    group
}

/// A new lab sandbox, with its three devices (You, Alice, Bob).
pub async fn new_lab(addr: SocketAddr) -> LabCreated {
    let (status, body) = post_json(addr, "/api/labs", "").await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_str(&body).expect("a lab")
}

/// The lab's device called `name`.
pub fn lab_device<'a>(lab: &'a LabCreated, name: &str) -> &'a Registration {
    lab.devices.iter().find(|d| d.name == name).expect("the lab has this device")
}
