//! Who may start, read and stop a simulated crowd, and the caps that keep one student, or
//! a whole class, from exhausting the server: also when the starts come all at once.

use std::net::SocketAddr;

use bluetick_shared::frames::{GroupId, Registration};
use bluetick_tests::db;
use bluetick_tests::http::{as_device, create_group, register};
use bluetick_tests::server::TestServer;
use futures_util::future::join_all;

/// A crowd whose members stay offline (they come back only after ten minutes): the caps
/// count places, and no member needs to connect for that.
fn offline_spec(size: usize) -> String {
    serde_json::json!({ "size": size, "offline": size, "back_after_ms": 600_000 }).to_string()
}

async fn start(addr: SocketAddr, owner: &Registration, group: GroupId, body: Option<&str>) -> (u16, String) {
    as_device(addr, owner, "POST", &format!("/api/groups/{group}/crowd"), body).await
}

fn crowd_path(body: &str) -> String {
    let started: serde_json::Value = serde_json::from_str(body).unwrap();
    format!("/api/crowds/{}", started["crowd_id"].as_str().unwrap())
}

#[tokio::test]
async fn crowd_start_authorises_before_validating() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let mallory = register(server.addr, "Mallory").await;
    let group = create_group(server.addr, &alice, "crowded", &[]).await;
    let users_before = db::count(server.data_dir(), "SELECT COUNT(*) FROM users").await;

    // Whatever a non-member sends, the answer is the same 403: it never depends on the body.
    let valid = offline_spec(2);
    for body in
        [None, Some("not json"), Some("{}"), Some(r#"{"size":0}"#), Some(r#"{"size":2,"offline":9}"#), Some(&valid)]
    {
        let (status, text) = start(server.addr, &mallory, group, body).await;
        assert_eq!(status, 403, "{body:?} → {text}");
        assert!(text.contains("\"error\":\"forbidden\""), "{text}");
    }
    // A group that does not exist is 404, whatever the body, too.
    let nowhere = uuid::Uuid::now_v7();
    for body in [None, Some(valid.as_str())] {
        let (status, text) = start(server.addr, &alice, nowhere, body).await;
        assert_eq!(status, 404, "{body:?} → {text}");
    }
    // A member still gets the body checked, with a sentence saying what is expected.
    let (status, text) = start(server.addr, &alice, group, None).await;
    assert_eq!(status, 400, "{text}");
    assert!(text.contains("size"), "{text}");
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM users").await, users_before, "no member registered");
    server.stop().await;
}

#[tokio::test]
async fn crowd_authz_and_caps() {
    let server = TestServer::start_with(|c| {
        c.crowd_max_per_owner = 4;
        c.crowd_max_total = 6;
    })
    .await;
    let addr = server.addr;
    let alice = register(addr, "Alice").await;
    let bob = register(addr, "Bob").await;
    let mallory = register(addr, "Mallory").await;
    let alice_group = create_group(addr, &alice, "crowded", &[]).await;
    let bob_group = create_group(addr, &bob, "crowded", &[]).await;

    let (status, body) = start(addr, &alice, alice_group, Some(&offline_spec(3))).await;
    assert_eq!(status, 201, "{body}");
    let alices = crowd_path(&body);
    // Only its owner reads or stops a crowd; a member of the group who is not the owner
    // neither.
    let body = serde_json::json!({ "user_id": mallory.user_id }).to_string();
    let (status, text) =
        as_device(addr, &alice, "POST", &format!("/api/groups/{alice_group}/members"), Some(&body)).await;
    assert_eq!(status, 201, "{text}");
    for method in ["GET", "DELETE"] {
        let (status, text) = as_device(addr, &mallory, method, &alices, None).await;
        assert_eq!(status, 403, "{method} {alices}: {text}");
    }
    let (status, _) = as_device(addr, &alice, "GET", &alices, None).await;
    assert_eq!(status, 200, "the DELETE above stopped nothing");

    // Per owner: 3 running, 2 more would pass 4; 1 more fits exactly.
    let (status, text) = start(addr, &alice, alice_group, Some(&offline_spec(2))).await;
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("cap per person is 4"), "{text}");
    let (status, text) = start(addr, &alice, alice_group, Some(&offline_spec(1))).await;
    assert_eq!(status, 201, "{text}");
    // In all: 4 running, Bob's 3 would pass 6; his 2 fit exactly.
    let (status, text) = start(addr, &bob, bob_group, Some(&offline_spec(3))).await;
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("its cap is 6"), "{text}");
    let (status, text) = start(addr, &bob, bob_group, Some(&offline_spec(2))).await;
    assert_eq!(status, 201, "{text}");
    let bobs = crowd_path(&text);

    // Stopping frees the places.
    for (owner, path) in [(&alice, &alices), (&bob, &bobs)] {
        let (status, text) = as_device(addr, owner, "DELETE", path, None).await;
        assert_eq!(status, 204, "{text}");
    }
    let (status, text) = as_device(addr, &alice, "GET", &alices, None).await;
    assert_eq!(status, 404, "{text}");
    // Alice still runs 1: 3 more fit her cap of 4, and no more, even asked for at once.
    let results = join_all(
        (0..6).map(|_| start(addr, &alice, alice_group, Some(r#"{"size":1,"offline":1,"back_after_ms":600000}"#))),
    )
    .await;
    let started = results.iter().filter(|(status, _)| *status == 201).count();
    assert!(results.iter().all(|(status, _)| *status == 201 || *status == 429), "{results:?}");
    assert_eq!(started, 3, "concurrent starts passed the per-owner cap: {results:?}");

    // And the server's cap, under concurrent starts by six different owners: Alice holds
    // 4 of 6, so exactly one crowd of 2 fits.
    let mut owners = Vec::new();
    for i in 0..6 {
        let owner = register(addr, &format!("Owner {i}")).await;
        let group = create_group(addr, &owner, "crowded", &[]).await;
        owners.push((owner, group));
    }
    let spec = offline_spec(2);
    let results = join_all(owners.iter().map(|(owner, group)| start(addr, owner, *group, Some(&spec)))).await;
    let started = results.iter().filter(|(status, _)| *status == 201).count();
    assert!(results.iter().all(|(status, _)| *status == 201 || *status == 429), "{results:?}");
    assert_eq!(started, 1, "concurrent starts passed the server's cap: {results:?}");
    // What the server registered matches: the refused starts left no members behind.
    assert_eq!(
        db::count(server.data_dir(), "SELECT COUNT(*) FROM users WHERE name LIKE 'Member %'").await,
        3 + 1 + 2 + 3 + 2,
        "members of every crowd ever started, and of no refused one"
    );
    server.stop().await;
}

/// Open files of this process (the test runs the server in it).
fn open_files() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|d| d.count()).unwrap_or(0)
}

/// Starts a 200-member crowd that comes online at once and waits until every member is.
async fn crowd_online(server: &TestServer) -> String {
    let alice = register(server.addr, "Alice").await;
    let group = create_group(server.addr, &alice, "crowded", &[]).await;
    let (status, body) = start(server.addr, &alice, group, Some(r#"{"size": 200}"#)).await;
    assert_eq!(status, 201, "{body}");
    let path = crowd_path(&body);
    for _ in 0..600 {
        let (_, report) = as_device(server.addr, &alice, "GET", &path, None).await;
        let report: serde_json::Value = serde_json::from_str(&report).unwrap();
        let online = report["members"].as_array().unwrap().iter().filter(|m| m["online"] == true).count();
        if online == 200 {
            return path;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the crowd's members did not all come online");
}

/// The server's own crowd members come in through an in-memory pipe: a member holds
/// none of the process's open files (over loopback TCP it held two, and the files a
/// process may hold capped a class's crowds). `--crowd-transport tcp` is the old way.
#[tokio::test]
async fn crowd_members_hold_no_open_files() {
    let server = TestServer::start().await;
    let before = open_files();
    crowd_online(&server).await;
    let grown = open_files().saturating_sub(before);
    assert!(grown < 20, "200 members opened {grown} files");
    server.stop().await;

    let server = TestServer::start_with(|c| c.crowd_transport = bluetick_backend::config::CrowdTransport::Tcp).await;
    let before = open_files();
    crowd_online(&server).await;
    let grown = open_files().saturating_sub(before);
    assert!(grown >= 400, "over TCP, both ends of each member's socket are this process's: {grown}");
    server.stop().await;
}
