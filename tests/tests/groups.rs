//! Groups: the 1,024 cap, store once, fan-out that survives a crash, a real crowd of
//! 1,024 members, and non-members kept out.

use std::time::{Duration, Instant};

use bluetick_backend::api::crowds::{CrowdReport, CrowdStarted};
use bluetick_backend::api::groups::GroupView;
use bluetick_backend::client::{Connection, DeviceState, Event};
use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{
    ClientFrame, GroupId, MAX_GROUP_MEMBERS, Recipient, Registration, ServerFrame, TickState,
};
use bluetick_tests::client::RawClient;
use bluetick_tests::db;
use bluetick_tests::events::next;
use bluetick_tests::http::{as_device, register};
use bluetick_tests::server::{ServerProcess, TestServer};

/// How long a step may take before the test calls it stuck. Generous on purpose: these
/// tests move tens of thousands of deliveries through a debug build, and on a 2-core
/// machine shared with compilers that took over a minute (`group_crash_mid_fanout`'s
/// resume once ran past 60 s while two builds ran). This is a hang guard, not a speed
/// check: speed is measured by `bluetick-load`.
const WAIT: Duration = Duration::from_secs(180);

async fn create_group(addr: std::net::SocketAddr, owner: &Registration, name: &str) -> GroupId {
    let (status, body) =
        as_device(addr, owner, "POST", "/api/groups", Some(&serde_json::json!({ "name": name }).to_string())).await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_str::<GroupView>(&body).unwrap().id
}

async fn add_member(
    addr: std::net::SocketAddr,
    by: &Registration,
    group: GroupId,
    user: &Registration,
) -> (u16, String) {
    let body = serde_json::json!({ "user_id": user.user_id }).to_string();
    as_device(addr, by, "POST", &format!("/api/groups/{group}/members"), Some(&body)).await
}

async fn start_crowd(
    addr: std::net::SocketAddr,
    owner: &Registration,
    group: GroupId,
    spec: serde_json::Value,
) -> CrowdStarted {
    let (status, body) =
        as_device(addr, owner, "POST", &format!("/api/groups/{group}/crowd"), Some(&spec.to_string())).await;
    assert_eq!(status, 201, "{body}");
    serde_json::from_str(&body).unwrap()
}

async fn crowd_report(addr: std::net::SocketAddr, owner: &Registration, crowd: &CrowdStarted) -> CrowdReport {
    let (status, body) = as_device(addr, owner, "GET", &format!("/api/crowds/{}", crowd.crowd_id), None).await;
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

#[tokio::test]
async fn group_cap() {
    let server = TestServer::start().await;
    let owner = register(server.addr, "Owner").await;
    let group = create_group(server.addr, &owner, "full house").await;
    // Fill to 1,000 members one by one…
    let mut users = Vec::new();
    for i in 0..(MAX_GROUP_MEMBERS + 40) {
        users.push(register(server.addr, &format!("u{i}")).await);
    }
    for user in &users[..999] {
        let (status, body) = add_member(server.addr, &owner, group, user).await;
        assert_eq!(status, 201, "{body}");
    }
    // …then 65 adds at once race for the last 24 places.
    let racers = &users[999..];
    let results =
        futures_util::future::join_all(racers.iter().map(|u| add_member(server.addr, &owner, group, u))).await;
    let added = results.iter().filter(|(status, _)| *status == 201).count();
    let refused: Vec<&String> = results.iter().filter(|(status, _)| *status == 409).map(|(_, body)| body).collect();
    assert_eq!(added, MAX_GROUP_MEMBERS - 1000, "exactly the free places were taken");
    assert_eq!(refused.len(), racers.len() - added);
    assert!(refused.iter().all(|b| b.contains("group_full") && b.contains("1024")), "{refused:?}");
    let (_, body) = as_device(server.addr, &owner, "GET", &format!("/api/groups/{group}/members"), None).await;
    assert_eq!(serde_json::from_str::<GroupView>(&body).unwrap().members.len(), MAX_GROUP_MEMBERS);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM group_members").await, MAX_GROUP_MEMBERS as i64);
    server.stop().await;
}

#[tokio::test]
async fn group_non_member() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mallory = register(server.addr, "Mallory").await;
    let group = create_group(server.addr, &alice, "friends").await;
    assert_eq!(add_member(server.addr, &alice, group, &bob).await.0, 201);

    // Mallory can neither send, nor watch, nor add herself, nor list members.
    let mut raw = RawClient::connect_as(&server.ws_url(), &mallory, 0).await;
    assert_eq!(raw.recv().await, ServerFrame::Drained { up_to: 0 });
    let id = uuid::Uuid::now_v7();
    raw.send(&ClientFrame::Send { id, to: Recipient::Group(group), body: "let me in".into() }).await;
    match raw.recv().await {
        ServerFrame::Error { code, id: refused, .. } => {
            assert_eq!(code, ErrorCode::NotAParticipant);
            assert_eq!(refused, Some(id));
        }
        other => panic!("{other:?}"),
    }
    raw.send(&ClientFrame::Observe { with: Recipient::Group(group) }).await;
    assert!(matches!(raw.recv().await, ServerFrame::Error { code: ErrorCode::NotAParticipant, .. }));
    assert_eq!(add_member(server.addr, &mallory, group, &mallory).await.0, 403);
    assert_eq!(as_device(server.addr, &mallory, "GET", &format!("/api/groups/{group}/members"), None).await.0, 403);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM messages").await, 0);

    // A removed member stops receiving.
    let (status, _) =
        as_device(server.addr, &alice, "DELETE", &format!("/api/groups/{group}/members/{}", bob.user_id), None).await;
    assert_eq!(status, 204);
    let mut alice_conn = Connection::connect(&server.ws_url(), DeviceState::new(alice)).await.unwrap();
    let id = alice_conn.send_to_group(group, "bob is gone").await.unwrap();
    while alice_conn.state.outbox.state(&id).is_none_or(|s| s < TickState::Delivered) {
        next(&mut alice_conn).await; // a group of one: delivered to all (none) at once
    }
    let mut bob_conn = Connection::connect(&server.ws_url(), DeviceState::new(bob)).await.unwrap();
    assert_eq!(next(&mut bob_conn).await, Event::Drained { up_to: 0 });
    server.stop().await;
}

#[tokio::test]
async fn group_store_once() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let group = create_group(server.addr, &alice, "fifty").await;
    let crowd =
        start_crowd(server.addr, &alice, group, serde_json::json!({ "size": 49, "read_delay_ms": [10, 50] })).await;
    let mut alice_conn = Connection::connect(&server.ws_url(), DeviceState::new(alice.clone())).await.unwrap();
    let id = alice_conn.send_to_group(group, "one copy, 49 deliveries").await.unwrap();
    // The durable READ receipt and the live progress counts travel separately; wait for
    // both to say "everyone".
    let mut last_progress = None;
    while alice_conn.state.outbox.state(&id) != Some(TickState::Read)
        || last_progress.is_none_or(|p: bluetick_shared::frames::GroupProgress| p.read < 49)
    {
        if let Event::GroupProgress { progress, .. } = next(&mut alice_conn).await {
            last_progress = Some(progress);
        }
    }
    let progress = last_progress.expect("progress was reported");
    assert_eq!((progress.delivered, progress.read, progress.total), (49, 49, 49));
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM messages").await, 1, "content stored once");
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM inbox WHERE kind = 0").await, 49);
    let report = crowd_report(server.addr, &alice, &crowd).await;
    assert!(report.members.iter().all(|m| m.log.received == [id]), "each member got exactly one copy");
    server.stop().await;
}

#[tokio::test]
async fn group_crowd_1024() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let group = create_group(server.addr, &alice, "a full group").await;
    let size = MAX_GROUP_MEMBERS - 1; // Alice is the 1,024th member
    let spec = serde_json::json!({ "size": size, "offline": 100, "back_after_ms": 12000, "read_delay_ms": [50, 400], "seed": 7 });
    let crowd = start_crowd(server.addr, &alice, group, spec).await;
    // The 1,025th member is refused.
    let extra = register(server.addr, "One too many").await;
    let (status, body) = add_member(server.addr, &alice, group, &extra).await;
    assert_eq!(status, 409, "{body}");

    let mut alice_conn = Connection::connect(&server.ws_url(), DeviceState::new(alice.clone())).await.unwrap();
    // Wait until the online members are connected, then send while 100 are offline.
    let deadline = Instant::now() + WAIT;
    loop {
        let report = crowd_report(server.addr, &alice, &crowd).await;
        let online = report.members.iter().filter(|m| m.log.online).count();
        assert!(online <= size - 100, "offline members came back too early for this test");
        if online == size - 100 {
            break;
        }
        assert!(Instant::now() < deadline, "the crowd did not connect");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = alice_conn.send_to_group(group, "hello, everyone").await.unwrap();
    let mut offline_seen_behind = false;
    while alice_conn.state.outbox.state(&first) != Some(TickState::Read) {
        if let Event::GroupProgress { progress, .. } = next(&mut alice_conn).await {
            if progress.fanned_out && progress.delivered < progress.total {
                offline_seen_behind = true;
            }
        }
    }
    assert!(offline_seen_behind, "the offline members were behind before they came back");

    // Now all are online: 20 sends, each timed from send to the last member's delivery.
    let mut times = Vec::new();
    let mut ids = vec![first];
    for i in 0..20 {
        let started = Instant::now();
        let id = alice_conn.send_to_group(group, format!("message {i}")).await.unwrap();
        loop {
            match next(&mut alice_conn).await {
                Event::GroupProgress { id: of, progress }
                    if of == id && progress.fanned_out && progress.delivered == progress.total =>
                {
                    break;
                }
                Event::Tick(change) if change.id == id && change.to >= TickState::Delivered => break,
                _ => {}
            }
        }
        times.push(started.elapsed());
        ids.push(id);
    }
    times.sort();
    println!(
        "group fan-out to {size} members, send → last delivery ack over 20 sends: p50 {:?}, p99 {:?}, max {:?}",
        times[times.len() / 2],
        times[(times.len() * 99).div_ceil(100) - 1],
        times[times.len() - 1]
    );
    while ids.iter().any(|id| alice_conn.state.outbox.state(id) != Some(TickState::Read)) {
        next(&mut alice_conn).await;
    }
    let report = crowd_report(server.addr, &alice, &crowd).await;
    assert_eq!(report.members.len(), size);
    for member in &report.members {
        assert_eq!(member.log.received, ids, "every member: every message, once, in order");
    }
    assert!(report.members.iter().take(100).all(|m| m.log.connects >= 1));
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM messages").await, 21);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM inbox WHERE kind = 0").await, 21 * size as i64);
    server.stop().await;
}

#[tokio::test]
async fn group_crash_mid_fanout() {
    let data = tempfile::tempdir().unwrap();
    let server = ServerProcess::start(data.path(), &[]);
    let alice = register(server.addr, "Alice").await;
    let group = create_group(server.addr, &alice, "crashy").await;
    let size = MAX_GROUP_MEMBERS - 1;
    // Members that exist but stay offline: the crowd is stopped right away.
    let crowd = start_crowd(
        server.addr,
        &alice,
        group,
        serde_json::json!({ "size": size, "offline": size, "back_after_ms": 60000 }),
    )
    .await;
    let (status, _) = as_device(server.addr, &alice, "DELETE", &format!("/api/crowds/{}", crowd.crowd_id), None).await;
    assert_eq!(status, 204);

    let mut alice_conn = Connection::connect(&server.ws_url(), DeviceState::new(alice.clone())).await.unwrap();
    let mut ids = Vec::new();
    for i in 0..20 {
        ids.push(alice_conn.send_to_group(group, format!("m{i}")).await.unwrap());
    }
    while ids.iter().any(|id| alice_conn.state.outbox.state(id).is_none()) {
        next(&mut alice_conn).await;
    }
    // All 20 are SENT; fan-out (20 × 1,023 deliveries) is still running. Kill it.
    let mut server = server;
    server.signal(9);
    let _ = server.child.wait();
    let unfinished = db::count(data.path(), "SELECT COUNT(*) FROM fanout_jobs WHERE done_at IS NULL").await;
    assert!(unfinished > 0, "the kill must land mid-fan-out for this test to mean anything");

    let server = ServerProcess::start(data.path(), &[]);
    let deadline = Instant::now() + WAIT;
    while db::count(data.path(), "SELECT COUNT(*) FROM fanout_jobs WHERE done_at IS NULL").await > 0 {
        assert!(Instant::now() < deadline, "fan-out did not resume");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expected = 20 * size as i64;
    assert_eq!(db::count(data.path(), "SELECT COUNT(*) FROM inbox WHERE kind = 0").await, expected, "none missing");
    assert_eq!(
        db::count(
            data.path(),
            "SELECT COUNT(*) FROM (SELECT DISTINCT message_id, device_id FROM inbox WHERE kind = 0)"
        )
        .await,
        expected,
        "none twice"
    );
    assert_eq!(db::count(data.path(), "SELECT COUNT(*) FROM messages").await, 20);
    drop(server);
}

/// A group message makes three traces per member within a second or two. Before traces
/// had their own queue, an observer of a big group overflowed its connection's frame
/// queue and was cut off as a slow consumer halfway through.
#[tokio::test]
async fn an_observer_of_a_big_group_gets_every_member_trace_and_stays_connected() {
    let server = TestServer::start().await;
    let owner = register(server.addr, "Owner").await;
    let group = create_group(server.addr, &owner, "watched").await;
    let members = 600;
    let crowd = start_crowd(server.addr, &owner, group, serde_json::json!({ "size": members })).await;
    let deadline = Instant::now() + WAIT;
    while crowd_report(server.addr, &owner, &crowd).await.members.iter().any(|m| !m.log.online) {
        assert!(Instant::now() < deadline, "the crowd never came online");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut raw = RawClient::connect_as(&server.ws_url(), &owner, 0).await;
    raw.send(&ClientFrame::Observe { with: Recipient::Group(group) }).await;
    let id = uuid::Uuid::now_v7();
    raw.send(&ClientFrame::Send { id, to: Recipient::Group(group), body: "everyone".into() }).await;
    let mut acked = std::collections::HashSet::new();
    while acked.len() < crowd.devices.len() {
        match raw.recv_or_close().await {
            Ok(ServerFrame::Trace { stage: bluetick_shared::frames::TraceStage::Acked, device: Some(d), .. }) => {
                acked.insert(d);
            }
            Ok(_) => {}
            Err(close) => panic!("the observer was cut off after {} acked traces: {close:?}", acked.len()),
        }
    }
    assert!(crowd.devices.iter().all(|d| acked.contains(d)), "one acked trace per member device");
    server.stop().await;
}
