//! One lab cannot see or touch another lab's groups, key directory or crowds: over HTTP
//! they do not exist (404, the answer for something that is not there), and over the
//! WebSocket nothing can be sent to or watched in them.

use bluetick_client::e2e::E2eDevice;
use bluetick_shared::e2e::keys::{ClaimedKeys, KeyCount};
use bluetick_shared::frames::{ClientFrame, Recipient, Registration, ServerFrame};
use bluetick_tests::client::RawClient;
use bluetick_tests::db;
use bluetick_tests::http::{as_device, lab_device, new_lab};
use bluetick_tests::server::TestServer;
use uuid::Uuid;

async fn member_ids(server: &TestServer, caller: &Registration, group: &str) -> Vec<String> {
    let (status, body) = as_device(server.addr, caller, "GET", &format!("/api/groups/{group}/members"), None).await;
    assert_eq!(status, 200, "{body}");
    let view: serde_json::Value = serde_json::from_str(&body).unwrap();
    view["members"].as_array().unwrap().iter().map(|m| m["user_id"].as_str().unwrap().to_string()).collect()
}

#[tokio::test]
async fn lab_isolation_groups_keys_crowds() {
    let server = TestServer::start().await;
    let addr = server.addr;
    let (mine, theirs) = (new_lab(server.addr).await, new_lab(server.addr).await);
    let me = lab_device(&mine, "Alice");
    let (their_alice, their_bob) = (lab_device(&theirs, "Alice"), lab_device(&theirs, "Bob"));

    // Their lab: a group of Alice and Bob, Alice's keys in the directory, a crowd.
    let (status, body) = as_device(addr, their_alice, "POST", "/api/groups", Some(r#"{"name":"theirs"}"#)).await;
    assert_eq!(status, 201, "{body}");
    let group = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].as_str().unwrap().to_string();
    let add_bob = serde_json::json!({ "user_id": their_bob.user_id }).to_string();
    let (status, body) =
        as_device(addr, their_alice, "POST", &format!("/api/groups/{group}/members"), Some(&add_bob)).await;
    assert_eq!(status, 201, "{body}");
    let mut keys = E2eDevice::new(addr, their_alice.clone());
    let published = keys.publish_keys().await.unwrap();
    let spec = r#"{"size":2,"offline":2,"back_after_ms":600000}"#;
    let (status, body) = as_device(addr, their_alice, "POST", &format!("/api/groups/{group}/crowd"), Some(spec)).await;
    assert_eq!(status, 201, "{body}");
    let crowd = serde_json::from_str::<serde_json::Value>(&body).unwrap()["crowd_id"].as_str().unwrap().to_string();
    let members_before = member_ids(&server, their_alice, &group).await;
    assert_eq!(members_before.len(), 4, "Alice, Bob and two crowd members");

    // Their group, from my lab: not there, whatever is asked of it.
    let add_me = serde_json::json!({ "user_id": me.user_id }).to_string();
    let group_calls = [
        ("GET", format!("/api/groups/{group}/members"), None),
        ("POST", format!("/api/groups/{group}/members"), Some(add_me.as_str())),
        ("DELETE", format!("/api/groups/{group}/members/{}", their_bob.user_id), None),
        ("POST", format!("/api/groups/{group}/crowd"), Some(spec)),
        ("POST", format!("/api/groups/{group}/crowd"), None),
    ];
    // Their key directory and their crowd likewise.
    let crowd_calls = [
        ("GET", format!("/api/keys/users/{}", their_alice.user_id), None),
        ("GET", format!("/api/crowds/{crowd}"), None),
        ("DELETE", format!("/api/crowds/{crowd}"), None),
    ];
    for (method, path, body) in group_calls.iter().chain(&crowd_calls) {
        let (status, text) = as_device(addr, me, method, path, *body).await;
        assert_eq!(status, 404, "{method} {path}: {text}");
        assert!(!text.contains(&their_bob.user_id.to_string()), "{method} {path} leaks a member: {text}");
    }
    // Nor can their users be put into my group.
    let (status, body) = as_device(addr, me, "POST", "/api/groups", Some(r#"{"name":"mine"}"#)).await;
    assert_eq!(status, 201, "{body}");
    let my_group = serde_json::from_str::<serde_json::Value>(&body).unwrap()["id"].as_str().unwrap().to_string();
    let (status, text) = as_device(addr, me, "POST", &format!("/api/groups/{my_group}/members"), Some(&add_bob)).await;
    assert_eq!(status, 404, "{text}");
    // A claim for their device's keys hands out nothing, and uses up none of them.
    let claim = serde_json::json!({ "devices": [their_alice.device_id] }).to_string();
    let (status, body) = as_device(addr, me, "POST", "/api/keys/claim", Some(&claim)).await;
    assert_eq!(status, 200, "{body}");
    assert!(serde_json::from_str::<ClaimedKeys>(&body).unwrap().devices.is_empty(), "{body}");
    assert_eq!(keys.key_count().await.unwrap(), published);

    // Over the WebSocket: no send to their group, no watching it.
    let mut conn = RawClient::connect_as(&server.ws_url(), me, 0).await;
    assert_eq!(conn.recv().await, ServerFrame::Drained { up_to: 0 });
    let group_id: Uuid = group.parse().unwrap();
    let id = Uuid::now_v7();
    conn.send(&ClientFrame::Send { id, to: Recipient::Group(group_id), body: "let me in".into() }).await;
    assert!(matches!(conn.recv().await, ServerFrame::Error { id: Some(refused), .. } if refused == id));
    conn.send(&ClientFrame::Observe { with: Recipient::Group(group_id) }).await;
    assert!(matches!(conn.recv().await, ServerFrame::Error { id: None, .. }));

    // Nothing of theirs changed: members, keys, the crowd still runs; nothing was stored.
    assert_eq!(member_ids(&server, their_alice, &group).await, members_before);
    assert_eq!(keys.key_count().await.unwrap(), KeyCount { ..published });
    let (status, body) = as_device(addr, their_alice, "GET", &format!("/api/crowds/{crowd}"), None).await;
    assert_eq!(status, 200, "their crowd still runs: {body}");
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM messages").await, 0);
    server.stop().await;
}
