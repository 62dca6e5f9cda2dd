//! A lab's pace: step mode holds each hop of the real pipeline until the student asks
//! for the next one, slow motion waits before each, and neither reaches another lab.

use bluetick_shared::frames::{ClientFrame, MessageId, Recipient, Registration, ServerFrame, TickState, TraceStage};
use bluetick_shared::lab::{NextHop, PaceView};
use bluetick_tests::client::RawClient;
use bluetick_tests::http::{as_device, lab_device, new_lab};
use bluetick_tests::server::TestServer;
use uuid::Uuid;

/// Reads frames until one matches, returning it; the frames skipped on the way are
/// checked by `skipped`.
async fn until(
    client: &mut RawClient,
    wanted: impl Fn(&ServerFrame) -> bool,
    skipped: impl Fn(&ServerFrame),
) -> ServerFrame {
    loop {
        let frame = client.recv().await;
        if wanted(&frame) {
            return frame;
        }
        skipped(&frame);
    }
}

fn any(_: &ServerFrame) {}

/// Reads frames until each of `wanted` has matched one, in any order: a trace and a
/// frame the same step sent travel different queues, so either may come first.
async fn until_all(client: &mut RawClient, wanted: &[&dyn Fn(&ServerFrame) -> bool]) {
    let mut seen = vec![false; wanted.len()];
    while seen.contains(&false) {
        let frame = client.recv().await;
        for (i, w) in wanted.iter().enumerate() {
            seen[i] |= w(&frame);
        }
    }
}

fn paced_before(id: MessageId, stage: &'static str) -> impl Fn(&ServerFrame) -> bool {
    move |f| matches!(f, ServerFrame::Trace { id: i, stage: TraceStage::Paced, detail, .. } if *i == id && detail.contains(stage))
}

async fn set_pace(server: &TestServer, device: &Registration, body: &str) -> PaceView {
    let (status, text) = as_device(server.addr, device, "PUT", "/api/lab/pace", Some(body)).await;
    assert_eq!(status, 200, "{body}: {text}");
    serde_json::from_str(&text).expect("a pace view")
}

async fn pace_view(server: &TestServer, device: &Registration) -> PaceView {
    let (status, text) = as_device(server.addr, device, "GET", "/api/lab/pace", None).await;
    assert_eq!(status, 200, "{text}");
    serde_json::from_str(&text).expect("a pace view")
}

/// Lets the oldest held hop go and checks it was `stage` of message `id`.
async fn next_hop(server: &TestServer, device: &Registration, id: MessageId, stage: TraceStage) {
    let (status, text) = as_device(server.addr, device, "POST", "/api/lab/pace/next", None).await;
    assert_eq!(status, 200, "{text}");
    let next: NextHop = serde_json::from_str(&text).expect("the released hop");
    assert_eq!((next.released.message_id, next.released.stage), (id, stage), "{text}");
}

/// Alice and Bob of a new lab, connected and drained, Alice observing their chat.
async fn phones(server: &TestServer) -> (bluetick_shared::lab::LabCreated, RawClient, RawClient) {
    let lab = new_lab(server.addr).await;
    let mut alice = RawClient::connect_as(&server.ws_url(), lab_device(&lab, "Alice"), 0).await;
    let mut bob = RawClient::connect_as(&server.ws_url(), lab_device(&lab, "Bob"), 0).await;
    assert!(matches!(alice.recv().await, ServerFrame::Drained { .. }));
    assert!(matches!(bob.recv().await, ServerFrame::Drained { .. }));
    alice.send(&ClientFrame::Observe { with: Recipient::User(lab_device(&lab, "Bob").user_id) }).await;
    (lab, alice, bob)
}

#[tokio::test]
async fn step_mode_holds_every_hop_until_next_and_never_slows_another_lab() {
    let server = TestServer::start().await;
    let (lab, mut alice, mut bob) = phones(&server).await;
    let (a, b) = (lab_device(&lab, "Alice"), lab_device(&lab, "Bob"));
    assert_eq!(set_pace(&server, a, r#"{"mode":"step"}"#).await.pace, bluetick_shared::lab::Pace::Step);

    let id = Uuid::now_v7();
    alice.send(&ClientFrame::Send { id, to: Recipient::User(b.user_id), body: "one hop at a time".into() }).await;
    let no_sent = |f: &ServerFrame| assert!(!matches!(f, ServerFrame::Sent { .. }), "SENT before its hop: {f:?}");
    until(&mut alice, paced_before(id, "SENT"), no_sent).await;
    let held = pace_view(&server, a).await.held;
    assert_eq!(held.iter().map(|h| (h.message_id, h.stage)).collect::<Vec<_>>(), [(id, TraceStage::Stored)]);

    // Meanwhile another lab's message goes all the way to DELIVERED without one step.
    let (other, mut other_alice, mut other_bob) = phones(&server).await;
    let other_id = Uuid::now_v7();
    let to = Recipient::User(lab_device(&other, "Bob").user_id);
    other_alice.send(&ClientFrame::Send { id: other_id, to, body: "live".into() }).await;
    let seq = match until(&mut other_bob, |f| matches!(f, ServerFrame::Message { .. }), any).await {
        ServerFrame::Message { seq, .. } => seq,
        _ => unreachable!(),
    };
    other_bob.send(&ClientFrame::Ack { up_to: seq }).await;
    let delivered =
        |f: &ServerFrame| matches!(f, ServerFrame::Receipt { id, state: TickState::Delivered, .. } if *id == other_id);
    until(&mut other_alice, delivered, any).await;
    assert_eq!(pace_view(&server, a).await.held.len(), 1, "the stepped lab's hop still waits, untouched");

    // One hop per "next": SENT, the look-up, the push to Bob, DELIVERED, READ.
    next_hop(&server, a, id, TraceStage::Stored).await;
    let sent = |f: &ServerFrame| matches!(f, ServerFrame::Sent { id: i, .. } if *i == id);
    until_all(&mut alice, &[&sent, &paced_before(id, "look-up")]).await;
    next_hop(&server, a, id, TraceStage::RecipientLookup).await;
    until(&mut alice, paced_before(id, "push"), any).await;
    next_hop(&server, a, id, TraceStage::Pushed).await;
    let seq = match until(&mut bob, |f| matches!(f, ServerFrame::Message { .. }), any).await {
        ServerFrame::Message { seq, .. } => seq,
        _ => unreachable!(),
    };
    bob.send(&ClientFrame::Ack { up_to: seq }).await;
    let no_receipt =
        |f: &ServerFrame| assert!(!matches!(f, ServerFrame::Receipt { .. }), "a receipt before its hop: {f:?}");
    until(&mut alice, paced_before(id, "DELIVERED"), no_receipt).await;
    next_hop(&server, a, id, TraceStage::Acked).await;
    let receipt = |state: TickState| move |f: &ServerFrame| matches!(f, ServerFrame::Receipt { id: i, state: s, .. } if *i == id && *s == state);
    let receipt_seq = match until(&mut alice, receipt(TickState::Delivered), any).await {
        ServerFrame::Receipt { seq, .. } => seq,
        _ => unreachable!(),
    };
    alice.send(&ClientFrame::Ack { up_to: receipt_seq }).await;
    bob.send(&ClientFrame::Read { seqs: vec![seq] }).await;
    until(&mut alice, paced_before(id, "READ"), no_receipt).await;
    next_hop(&server, a, id, TraceStage::Read).await;
    until(&mut alice, receipt(TickState::Read), any).await;

    // Nothing left to step: said, not silently ignored.
    let (status, text) = as_device(server.addr, a, "POST", "/api/lab/pace/next", None).await;
    assert_eq!(status, 409, "{text}");
    assert!(text.contains("nothing_held") && text.contains("send a message first"), "{text}");
    server.stop().await;
}

#[tokio::test]
async fn going_live_lets_held_hops_go_and_slow_motion_waits_before_each_hop() {
    let server = TestServer::start().await;
    let (lab, mut alice, _bob) = phones(&server).await;
    let (a, b) = (lab_device(&lab, "Alice"), lab_device(&lab, "Bob"));
    set_pace(&server, a, r#"{"mode":"step"}"#).await;
    let id = Uuid::now_v7();
    alice.send(&ClientFrame::Send { id, to: Recipient::User(b.user_id), body: "held".into() }).await;
    until(&mut alice, paced_before(id, "SENT"), any).await;
    let view = set_pace(&server, a, r#"{"mode":"live"}"#).await;
    assert!(view.held.is_empty());
    until(&mut alice, |f| matches!(f, ServerFrame::Sent { id: i, .. } if *i == id), any).await;

    // Slow motion: each hop waits its time after its `paced` trace (timed by the
    // server's own trace clock, so a slow machine cannot make this pass wrongly).
    set_pace(&server, a, r#"{"mode":"slow","hop_ms":200}"#).await;
    let id = Uuid::now_v7();
    alice.send(&ClientFrame::Send { id, to: Recipient::User(b.user_id), body: "slowly".into() }).await;
    let mut paced_at = None;
    let mut waits = Vec::new();
    while waits.len() < 3 {
        if let ServerFrame::Trace { id: i, stage, at_us, detail, .. } = alice.recv().await
            && i == id
        {
            match (stage, paced_at.take()) {
                (TraceStage::Paced, _) => {
                    assert!(detail.contains("slow motion: waits 200 ms"), "{detail}");
                    paced_at = Some(at_us);
                }
                (next, Some(since)) => waits.push((next, at_us - since)),
                _ => {}
            }
        }
    }
    let stages: Vec<_> = waits.iter().map(|(s, _)| *s).collect();
    assert_eq!(stages, [TraceStage::Stored, TraceStage::RecipientLookup, TraceStage::Pushed]);
    assert!(waits.iter().all(|(_, us)| *us >= 200_000), "every hop waited 200 ms: {waits:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_pace_needs_a_lab_device_and_a_valid_mode() {
    let server = TestServer::start().await;
    let lab = new_lab(server.addr).await;
    let you = lab_device(&lab, "You");
    for bad in [
        r#"{"mode":"slow","hop_ms":0}"#,
        r#"{"mode":"slow","hop_ms":60000}"#,
        r#"{"mode":"slow"}"#,
        r#"{"mode":"fast"}"#,
        r#"{"mode":"step","extra":1}"#,
        r#"{"mode":"step","hop_ms":300}"#,
        "nonsense",
    ] {
        let (status, body) = as_device(server.addr, you, "PUT", "/api/lab/pace", Some(bad)).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert!(body.contains("mode") || body.contains("hop_ms"), "the error says what is expected: {body}");
    }
    assert_eq!(pace_view(&server, you).await.pace, bluetick_shared::lab::Pace::Live, "nothing changed");
    let (status, body) = as_device(server.addr, you, "POST", "/api/lab/pace/next", None).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("not in step mode"), "{body}");
    let outsider = bluetick_tests::http::register(server.addr, "Outsider").await;
    let (status, _) = as_device(server.addr, &outsider, "PUT", "/api/lab/pace", Some(r#"{"mode":"step"}"#)).await;
    assert_eq!(status, 403);
    server.stop().await;
}

/// Inbox entries message `id` has on the server, read from the database file.
async fn entries_of(server: &TestServer, id: MessageId) -> i64 {
    let sql =
        "SELECT COUNT(*) FROM inbox WHERE kind = 0 AND message_id = (SELECT id FROM messages WHERE client_id = ?1)";
    bluetick_tests::db::count_with(server.data_dir(), sql, &[&id.to_string()]).await
}

/// Lets the oldest held hop go and checks it was fan-out batch `batch` of message `id`.
async fn next_batch(server: &TestServer, device: &Registration, id: MessageId, batch: u32) {
    let (status, text) = as_device(server.addr, device, "POST", "/api/lab/pace/next", None).await;
    assert_eq!(status, 200, "{text}");
    let next: NextHop = serde_json::from_str(&text).expect("the released hop");
    assert_eq!((next.released.message_id, next.released.batch), (id, Some(batch)), "{text}");
}

#[tokio::test]
async fn step_mode_fans_a_group_out_one_batch_per_next_and_never_holds_another_labs_fan_out() {
    let server = TestServer::start().await;
    let (lab, mut alice, mut bob) = phones(&server).await;
    let a = lab_device(&lab, "Alice");
    let group = bluetick_tests::http::create_group(server.addr, a, "paced", &[lab_device(&lab, "Bob")]).await;
    // Alice, Bob and 300 simulated members: a first batch of 256 members (255 devices
    // besides the sender's) and a second of 46.
    let spec = serde_json::json!({ "size": 300 }).to_string();
    let (status, body) = as_device(server.addr, a, "POST", &format!("/api/groups/{group}/crowd"), Some(&spec)).await;
    assert_eq!(status, 201, "{body}");
    alice.send(&ClientFrame::Observe { with: Recipient::Group(group) }).await;
    set_pace(&server, a, r#"{"mode":"step"}"#).await;

    let id = Uuid::now_v7();
    alice.send(&ClientFrame::Send { id, to: Recipient::Group(group), body: "one batch at a time".into() }).await;
    until(&mut alice, paced_before(id, "SENT"), any).await;
    next_hop(&server, a, id, TraceStage::Stored).await;
    until(&mut alice, paced_before(id, "look-up"), any).await;
    next_hop(&server, a, id, TraceStage::RecipientLookup).await;
    until(&mut alice, paced_before(id, "fan-out batch 1 (members 1–256"), any).await;
    assert_eq!(entries_of(&server, id).await, 0, "batch 1 waits before its delivery records");
    let held = pace_view(&server, a).await.held;
    assert_eq!(held.iter().map(|h| (h.message_id, h.batch)).collect::<Vec<_>>(), [(id, Some(1))]);

    // Meanwhile another lab's group message fans out live, through the same worker.
    let (other, mut other_alice, mut other_bob) = phones(&server).await;
    let other_group = bluetick_tests::http::create_group(
        server.addr,
        lab_device(&other, "Alice"),
        "live",
        &[lab_device(&other, "Bob")],
    )
    .await;
    let other_id = Uuid::now_v7();
    other_alice.send(&ClientFrame::Send { id: other_id, to: Recipient::Group(other_group), body: "live".into() }).await;
    let other_message = |f: &ServerFrame| matches!(f, ServerFrame::Message { message, .. } if message.id == other_id);
    until(&mut other_bob, other_message, any).await;
    assert_eq!(pace_view(&server, a).await.held.len(), 1, "the stepped lab's batch still waits");

    next_batch(&server, a, id, 1).await;
    until(&mut alice, paced_before(id, "fan-out batch 2 (members 257–512"), any).await;
    assert_eq!(entries_of(&server, id).await, 255, "exactly the first batch's devices have it");
    let to_bob = |f: &ServerFrame| matches!(f, ServerFrame::Message { message, .. } if message.id == id);
    until(&mut bob, to_bob, any).await;

    next_batch(&server, a, id, 2).await;
    let complete = |f: &ServerFrame| {
        matches!(f, ServerFrame::Trace { id: i, stage: TraceStage::RecipientLookup, detail, .. }
            if *i == id && detail.contains("fan-out complete"))
    };
    until(&mut alice, complete, any).await;
    assert_eq!(entries_of(&server, id).await, 301, "every member device but the sender's, once");
    // No third, empty batch to step through.
    assert!(pace_view(&server, a).await.held.iter().all(|h| h.batch.is_none()));
    server.stop().await;
}

#[tokio::test]
async fn step_mode_flushes_an_offline_queue_one_message_per_next_in_order() {
    let server = TestServer::start().await;
    let lab = new_lab(server.addr).await;
    let (a, b) = (lab_device(&lab, "Alice"), lab_device(&lab, "Bob"));
    let mut alice = RawClient::connect_as(&server.ws_url(), a, 0).await;
    assert!(matches!(alice.recv().await, ServerFrame::Drained { .. }));
    alice.send(&ClientFrame::Observe { with: Recipient::User(b.user_id) }).await;
    // Bob is offline: three messages wait in his inbox, live.
    let ids: Vec<MessageId> = (0..3).map(|_| Uuid::now_v7()).collect();
    for (i, id) in ids.iter().enumerate() {
        alice.send(&ClientFrame::Send { id: *id, to: Recipient::User(b.user_id), body: format!("queued {i}") }).await;
        let queued =
            |f: &ServerFrame| matches!(f, ServerFrame::Trace { id: t, stage: TraceStage::Queued, .. } if t == id);
        until(&mut alice, queued, any).await;
    }
    set_pace(&server, a, r#"{"mode":"step"}"#).await;

    // Bob comes back: each queued message waits for "Next hop", oldest first.
    let mut bob = RawClient::connect_as(&server.ws_url(), b, 0).await;
    for (i, id) in ids.iter().enumerate() {
        let seq = i as u64 + 1;
        let step = format!("inbox #{seq} is pushed from the offline queue");
        let paced = |f: &ServerFrame| matches!(f, ServerFrame::Trace { id: t, stage: TraceStage::Paced, detail, .. } if t == id && detail.contains(&step));
        until(&mut alice, paced, any).await;
        let held = pace_view(&server, a).await.held;
        let waiting: Vec<_> = held.iter().map(|h| (h.message_id, h.stage, h.device)).collect();
        assert_eq!(waiting, [(*id, TraceStage::Pushed, Some(b.device_id))], "#{seq} waits, and only it");
        next_hop(&server, a, *id, TraceStage::Pushed).await;
        match until(&mut bob, |f| matches!(f, ServerFrame::Message { .. }), any).await {
            ServerFrame::Message { seq: got, message } => assert_eq!((got, message.id), (seq, *id), "FIFO"),
            _ => unreachable!(),
        }
        let flushed = |f: &ServerFrame| matches!(f, ServerFrame::Trace { id: t, stage: TraceStage::Pushed, detail, .. } if t == id && detail.contains("flushed"));
        until(&mut alice, flushed, any).await;
    }
    assert!(matches!(bob.recv().await, ServerFrame::Drained { up_to: 3 }));
    server.stop().await;
}
