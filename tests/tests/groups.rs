//! Groups: the 1,024 cap on a full group, store once, fan-out that survives a crash, a
//! real crowd with members away, and non-members kept out.

use std::time::{Duration, Instant};

use bluetick_backend::api::crowds::{CrowdReport, CrowdStarted};
use bluetick_client::{Connection, DeviceState, Event};
use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{
    ClientFrame, GroupId, MAX_GROUP_MEMBERS, Recipient, Registration, ServerFrame, TickState,
};
use bluetick_shared::groups::GroupView;
use bluetick_tests::client::RawClient;
use bluetick_tests::db;
use bluetick_tests::events::next;
use bluetick_tests::http::{as_device, register};
use bluetick_tests::server::{ServerProcess, TestServer};

/// How long a step may take before the test calls it stuck. Generous on purpose: these
/// tests move thousands of deliveries through a debug build, and on a 2-core machine
/// shared with compilers that took over a minute (`group_crash_mid_fanout`'s resume, at
/// 1,023 members, once ran past 60 s while two builds ran). This is a hang guard, not a
/// speed check: speed is measured by `bluetick-load`.
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

/// The one test with a full group of 1,024; the others need only cross a fan-out batch.
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

/// Members in the crowd tests: more than one fan-out batch (256), so every group message
/// crosses a batch boundary, which is all a full group of 1,024 adds (`group_cap` fills
/// one).
const CROWD: usize = 300;

/// Waits until `online` of the crowd's members are connected (a hang guard, not a clock).
async fn wait_online(addr: std::net::SocketAddr, owner: &Registration, crowd: &CrowdStarted, online: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let report = crowd_report(addr, owner, crowd).await;
        let now_online = report.members.iter().filter(|m| m.log.online).count();
        assert!(now_online <= online, "{now_online} members online, expected {online}");
        if now_online == online {
            return;
        }
        assert!(Instant::now() < deadline, "only {now_online} of {online} crowd members connected");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn group_crowd_offline_members_catch_up() {
    // A third of the crowd is away for an hour, on the server's clock: the test moves it,
    // so nobody comes back early however slow the machine, and nobody waits an hour.
    // Presence outlasts the hour skipped, or the skip would expire everyone online.
    let away = Duration::from_secs(3600);
    let server = TestServer::start_skippable(|c| c.presence_ttl_ms = 2 * away.as_millis() as u64).await;
    let alice = register(server.addr, "Alice").await;
    let group = create_group(server.addr, &alice, "a crowd").await;
    let offline = 100;
    let spec = serde_json::json!({
        "size": CROWD, "offline": offline, "back_after_ms": away.as_millis() as u64,
        "read_delay_ms": [50, 400], "seed": 7,
    });
    let crowd = start_crowd(server.addr, &alice, group, spec).await;
    let mut alice_conn = Connection::connect(&server.ws_url(), DeviceState::new(alice.clone())).await.unwrap();
    wait_online(server.addr, &alice, &crowd, CROWD - offline).await;

    // Sent while 100 are away: fanned out to all, delivered to those online only.
    let first = alice_conn.send_to_group(group, "hello, everyone").await.unwrap();
    loop {
        if let Event::GroupProgress { id, progress } = next(&mut alice_conn).await
            && id == first
            && progress.fanned_out
            && progress.delivered as usize == CROWD - offline
        {
            assert_eq!(progress.total as usize, CROWD);
            break;
        }
    }
    let report = crowd_report(server.addr, &alice, &crowd).await;
    assert!(report.members[..offline].iter().all(|m| !m.log.online && m.log.received.is_empty()), "still away");

    // They come back, find it in their queues, and everyone reads it.
    server.advance(away);
    while alice_conn.state.outbox.state(&first) != Some(TickState::Read) {
        next(&mut alice_conn).await;
    }
    // Then a few more back to back, with everyone online.
    let mut ids = vec![first];
    for i in 0..5 {
        ids.push(alice_conn.send_to_group(group, format!("message {i}")).await.unwrap());
    }
    while ids.iter().any(|id| alice_conn.state.outbox.state(id) != Some(TickState::Read)) {
        next(&mut alice_conn).await;
    }
    let report = crowd_report(server.addr, &alice, &crowd).await;
    assert_eq!(report.members.len(), CROWD);
    for member in &report.members {
        assert_eq!(member.log.received, ids, "every member: every message, once, in order");
        assert_eq!(member.log.read, ids.len(), "every member read every message once");
    }
    assert!(report.members[..offline].iter().all(|m| m.log.connects >= 1));
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM messages").await, 6);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM inbox WHERE kind = 0").await, 6 * CROWD as i64);
    server.stop().await;
}

/// Kills tried at most in `group_crash_mid_fanout` before it gives up on landing one
/// mid-fan-out.
const KILL_ROUNDS: usize = 5;

#[tokio::test]
async fn group_crash_mid_fanout() {
    let data = tempfile::tempdir().unwrap();
    let mut server = ServerProcess::start(data.path(), &[]);
    let alice = register(server.addr, "Alice").await;
    let group = create_group(server.addr, &alice, "crashy").await;
    // Members that exist but stay offline: the crowd is stopped right away.
    let crowd = start_crowd(
        server.addr,
        &alice,
        group,
        serde_json::json!({ "size": CROWD, "offline": CROWD, "back_after_ms": 60000 }),
    )
    .await;
    let (status, _) = as_device(server.addr, &alice, "DELETE", &format!("/api/crowds/{}", crowd.crowd_id), None).await;
    assert_eq!(status, 204);

    // Twenty messages are forty fan-out batches, still being written when the last SENT
    // arrives; the kill follows it at once. Should a stall let fan-out finish first, the
    // round proves nothing, and another twenty messages are sent and killed.
    let mut messages = 0;
    let mut landed = false;
    for _ in 0..KILL_ROUNDS {
        let mut alice_conn = Connection::connect(&server.ws_url(), DeviceState::new(alice.clone())).await.unwrap();
        let mut ids = Vec::new();
        for i in 0..20 {
            ids.push(alice_conn.send_to_group(group, format!("m{}", messages + i)).await.unwrap());
        }
        while ids.iter().any(|id| alice_conn.state.outbox.state(id).is_none()) {
            next(&mut alice_conn).await;
        }
        // All 20 are SENT; fan-out (20 × 300 deliveries) is still running. Kill it.
        server.signal(9);
        let _ = server.child.wait();
        messages += ids.len();
        if db::count(data.path(), "SELECT COUNT(*) FROM fanout_jobs WHERE done_at IS NULL").await > 0 {
            landed = true;
            break;
        }
        server = ServerProcess::start(data.path(), &[]);
    }
    assert!(landed, "no kill in {KILL_ROUNDS} rounds landed mid-fan-out, so this test means nothing");

    let server = ServerProcess::start(data.path(), &[]);
    let deadline = Instant::now() + WAIT;
    while db::count(data.path(), "SELECT COUNT(*) FROM fanout_jobs WHERE done_at IS NULL").await > 0 {
        assert!(Instant::now() < deadline, "fan-out did not resume");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let expected = (messages * CROWD) as i64;
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
    assert_eq!(db::count(data.path(), "SELECT COUNT(*) FROM messages").await, messages as i64);
    drop(server);
}

/// A group message makes three traces per member within a second or two. Before traces
/// had their own queue, an observer of a big group overflowed its connection's frame
/// queue and was cut off as a slow consumer halfway through.
#[tokio::test]
async fn an_observer_of_a_big_group_gets_every_member_trace_and_stays_connected() {
    // A quarter of the default frame queue (64 frames instead of 256), so the traces of
    // 300 members overflow it as those of 1,024 overflow the default.
    let server = TestServer::start_with(|c| c.connection_queue = 256).await;
    let owner = register(server.addr, "Owner").await;
    let group = create_group(server.addr, &owner, "watched").await;
    let crowd = start_crowd(server.addr, &owner, group, serde_json::json!({ "size": CROWD })).await;
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
