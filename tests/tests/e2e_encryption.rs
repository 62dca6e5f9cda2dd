//! End-to-end encryption against the real server: Olm to a recipient who was offline,
//! Megolm with rotation when a member leaves, one-time keys handed out once under
//! concurrent claims, and proof that no plaintext reaches the database file, its WAL or
//! any frame the server sends.

use std::collections::{BTreeSet, HashSet};
use std::net::SocketAddr;

use bluetick_client::e2e::{E2eDevice, Received};
use bluetick_client::{Connection, DeviceState, Event};
use bluetick_shared::e2e::envelope::{Envelope, OLM_NORMAL, OLM_PRE_KEY};
use bluetick_shared::e2e::keys::{ClaimedKeys, KeyCount, ONE_TIME_KEY_TARGET};
use bluetick_shared::e2e::{Decrypted, DeviceCrypto, E2eError};
use bluetick_shared::frames::{ClientFrame, Delivery, MessageId, Recipient, TickState};
use bluetick_tests::db;
use bluetick_tests::events::EVENT_TIMEOUT;
use bluetick_tests::http::{as_device, create_group, register};
use bluetick_tests::server::TestServer;
use uuid::Uuid;

/// A device that encrypts, with its live connection and a copy of every frame the
/// server sent it.
struct Phone {
    e2e: E2eDevice,
    conn: Connection,
    frames: Vec<String>,
}

impl Phone {
    async fn connect(server: &TestServer, e2e: E2eDevice) -> Phone {
        let conn = Connection::connect(&server.ws_url(), DeviceState::new(e2e.registration.clone())).await.unwrap();
        Phone { e2e, conn, frames: Vec::new() }
    }

    /// The next event, recording the frame it came in.
    async fn next_event(&mut self) -> Event {
        loop {
            let frame = tokio::time::timeout(EVENT_TIMEOUT, self.conn.recv_frame())
                .await
                .expect("no frame in time")
                .expect("connection failed");
            self.frames.push(frame.to_json());
            if let Some(event) = self.conn.absorb(frame).await.unwrap() {
                return event;
            }
        }
    }

    async fn next_delivery(&mut self) -> Delivery {
        loop {
            if let Event::Message { message, .. } = self.next_event().await {
                return message;
            }
        }
    }

    /// Reads deliveries until `n` of them decrypted to something to show (room keys are
    /// installed on the way; group messages wait for their key).
    async fn receive(&mut self, n: usize) -> Vec<Received> {
        let mut shown = Vec::new();
        while shown.len() < n {
            let delivery = self.next_delivery().await;
            for got in self.e2e.receive(delivery) {
                match &got.content {
                    Ok(Decrypted::RoomKey { .. }) => {}
                    Ok(_) => shown.push(got),
                    Err(e) => panic!("cannot decrypt {:?}: {e}", got.delivery.body),
                }
            }
        }
        shown
    }

    async fn wait_sent(&mut self, ids: &[MessageId]) {
        while ids.iter().any(|id| self.conn.state.outbox.state(id).is_none_or(|s| s < TickState::Sent)) {
            self.next_event().await;
        }
    }
}

async fn e2e_device(addr: SocketAddr, name: &str) -> E2eDevice {
    let mut device = E2eDevice::new(addr, register(addr, name).await);
    let count = device.publish_keys().await.unwrap();
    assert_eq!(count, KeyCount { one_time_keys: ONE_TIME_KEY_TARGET as u32, fallback_key: true });
    device
}

fn text(got: &Received) -> &str {
    match &got.content {
        Ok(Decrypted::Text { body, .. } | Decrypted::Group { body, .. }) => body,
        other => panic!("not a message: {other:?}"),
    }
}

/// The Olm message type of the ciphertext for `device` in a body.
fn olm_type(body: &str, device: Uuid) -> u8 {
    match Envelope::parse(body) {
        Some(Envelope::Olm { ciphertexts, .. }) => ciphertexts[&device].message_type,
        other => panic!("not an Olm envelope: {other:?}"),
    }
}

#[tokio::test]
async fn e2e_olm_offline_recipient() {
    let server = TestServer::start().await;
    let alice = e2e_device(server.addr, "Alice").await;
    let mut bob = e2e_device(server.addr, "Bob").await;
    let bob_user = bob.registration.user_id;
    let bob_device = bob.registration.device_id;

    // Bob has published his keys and is offline. Alice writes three times.
    let mut alice = Phone::connect(&server, alice).await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(alice.e2e.send_text(&mut alice.conn, bob_user, &format!("are you there? {i}")).await.unwrap());
    }
    alice.wait_sent(&ids).await;
    // One claim took exactly one of Bob's one-time keys.
    assert_eq!(bob.key_count().await.unwrap().one_time_keys, ONE_TIME_KEY_TARGET as u32 - 1);

    // Bob's browser reloads while he is away: its state comes back from the pickle.
    let key = [42u8; 32];
    bob.crypto = DeviceCrypto::unpickle(&bob.crypto.pickle(&key), &key).unwrap();
    let mut bob = Phone::connect(&server, bob).await;
    let got = bob.receive(3).await;
    for (i, got) in got.iter().enumerate() {
        assert_eq!(got.delivery.id, ids[i]);
        assert_eq!(olm_type(&got.delivery.body, bob_device), OLM_PRE_KEY, "a session starts with pre-key messages");
        assert_eq!(got.content, Ok(Decrypted::Text { body: format!("are you there? {i}"), pre_key: true }));
    }

    // Bob answers on the session the pre-key message created: a normal message.
    let alice_user = alice.e2e.registration.user_id;
    let alice_device = alice.e2e.registration.device_id;
    let reply = bob.e2e.send_text(&mut bob.conn, alice_user, "here now").await.unwrap();
    let got = alice.receive(1).await;
    assert_eq!(got[0].delivery.id, reply);
    assert_eq!(olm_type(&got[0].delivery.body, alice_device), OLM_NORMAL);
    assert_eq!(got[0].content, Ok(Decrypted::Text { body: "here now".into(), pre_key: false }));

    // Having heard back, Alice's messages ratchet on as normal messages; no new claim.
    alice.e2e.send_text(&mut alice.conn, bob_user, "great").await.unwrap();
    let got = bob.receive(1).await;
    assert_eq!(olm_type(&got[0].delivery.body, bob_device), OLM_NORMAL);
    assert_eq!(text(&got[0]), "great");
    assert_eq!(bob.e2e.key_count().await.unwrap().one_time_keys, ONE_TIME_KEY_TARGET as u32 - 1);
    server.stop().await;
}

#[tokio::test]
async fn e2e_megolm_group_rotation() {
    let server = TestServer::start().await;
    let alice = e2e_device(server.addr, "Alice").await;
    let bob = e2e_device(server.addr, "Bob").await;
    let carol = e2e_device(server.addr, "Carol").await;
    let group =
        create_group(server.addr, &alice.registration, "secret club", &[&bob.registration, &carol.registration]).await;
    let alice_device = alice.registration.device_id;
    let (bob_device, carol_device) = (bob.registration.device_id, carol.registration.device_id);
    let carol_user = carol.registration.user_id;
    let mut alice = Phone::connect(&server, alice).await;
    let mut bob = Phone::connect(&server, bob).await;
    let mut carol = Phone::connect(&server, carol).await;

    // First message: a new session, its key to both members over Olm.
    let (first, share) = alice.e2e.send_group(&mut alice.conn, group, "before").await.unwrap();
    assert!(share.rotated);
    assert_eq!(share.needs_key.iter().copied().collect::<BTreeSet<_>>(), BTreeSet::from([bob_device, carol_device]));
    let to_bob = bob.receive(1).await.remove(0);
    let to_carol = carol.receive(1).await.remove(0);
    assert_eq!((to_bob.delivery.id, text(&to_bob)), (first, "before"));
    assert_eq!((to_carol.delivery.id, text(&to_carol)), (first, "before"));
    // Encrypted once: both members received the very same ciphertext.
    assert_eq!(to_bob.delivery.body, to_carol.delivery.body);
    assert!(matches!(Envelope::parse(&to_bob.delivery.body), Some(Envelope::Megolm { .. })));

    // Same members: same session, no key messages.
    let (_, same) = alice.e2e.send_group(&mut alice.conn, group, "still us").await.unwrap();
    assert!(!same.rotated && same.needs_key.is_empty());
    assert_eq!(same.session_id, share.session_id);
    assert_eq!(text(&bob.receive(1).await[0]), "still us");
    assert_eq!(text(&carol.receive(1).await[0]), "still us");

    // Carol leaves. Alice's next message starts a new session whose key only Bob gets.
    let (status, body) = as_device(
        server.addr,
        &alice.e2e.registration,
        "DELETE",
        &format!("/api/groups/{group}/members/{carol_user}"),
        None,
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let (after, rotated) = alice.e2e.send_group(&mut alice.conn, group, "after carol").await.unwrap();
    assert!(rotated.rotated);
    assert_ne!(rotated.session_id, share.session_id);
    assert_eq!(rotated.needs_key, vec![bob_device]);
    let got = bob.receive(1).await.remove(0);
    assert_eq!((got.delivery.id, text(&got)), (after, "after carol"));
    match &got.content {
        Ok(Decrypted::Group { session_id, message_index, .. }) => {
            assert_eq!(session_id, &rotated.session_id);
            assert_eq!(*message_index, 0);
        }
        other => panic!("{other:?}"),
    }
    // Even with the ciphertext in hand, Carol cannot read it: she never got the key.
    assert!(matches!(
        carol.e2e.crypto.decrypt(alice_device, Recipient::Group(group), &got.delivery.body),
        Err(E2eError::UnknownGroupSession(_))
    ));

    // Every sender has a session of its own: Bob's first group message reaches Alice.
    let (_, bob_share) = bob.e2e.send_group(&mut bob.conn, group, "bob here").await.unwrap();
    assert_eq!(bob_share.needs_key, vec![alice_device]);
    assert_eq!(text(&alice.receive(1).await[0]), "bob here");
    server.stop().await;
}

#[tokio::test]
async fn e2e_no_plaintext() {
    // The test keeps the data dir, to scan it again after the server has stopped.
    let data = tempfile::tempdir().unwrap();
    let server = TestServer::start_in(data.path(), |_| {}).await;
    let alice = e2e_device(server.addr, "Alice").await;
    let bob = e2e_device(server.addr, "Bob").await;
    let carol = e2e_device(server.addr, "Carol").await;
    let group =
        create_group(server.addr, &alice.registration, "secret club", &[&bob.registration, &carol.registration]).await;
    let (bob_user, alice_user) = (bob.registration.user_id, alice.registration.user_id);
    let secret = |what: &str| format!("{what}-secret-{}", Uuid::new_v4().simple());
    let (direct, in_group, reply) = (secret("direct"), secret("group"), secret("reply"));
    // A control message sent without encryption: the scans below must find it, or they
    // would prove nothing.
    let control = format!("control-plaintext-{}", Uuid::new_v4().simple());

    let mut alice = Phone::connect(&server, alice).await;
    let mut carol = Phone::connect(&server, carol).await;
    // Alice watches the pipeline of both conversations: trace frames are emitted too.
    alice.conn.send_frame(&ClientFrame::Observe { with: Recipient::User(bob_user) }).await.unwrap();
    alice.conn.send_frame(&ClientFrame::Observe { with: Recipient::Group(group) }).await.unwrap();
    // Bob is offline: what is sent to him waits in the database.
    let mut ids = vec![alice.e2e.send_text(&mut alice.conn, bob_user, &direct).await.unwrap()];
    ids.push(alice.e2e.send_group(&mut alice.conn, group, &in_group).await.unwrap().0);
    ids.push(alice.conn.send_message(bob_user, control.clone()).await.unwrap());
    alice.wait_sent(&ids).await;
    assert_eq!(text(&carol.receive(1).await[0]), in_group);

    let mut bob = Phone::connect(&server, bob).await;
    let got = bob.receive(3).await;
    // Fan-out runs after the group message's commit, so its place in Bob's inbox
    // relative to the 1:1 messages is not fixed.
    let texts: BTreeSet<String> = got
        .iter()
        .map(|g| match &g.content {
            Ok(Decrypted::Text { body, .. } | Decrypted::Group { body, .. } | Decrypted::Plaintext(body)) => {
                body.clone()
            }
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(texts, BTreeSet::from([direct.clone(), in_group.clone(), control.clone()]));
    bob.e2e.send_text(&mut bob.conn, alice_user, &reply).await.unwrap();
    let got = alice.receive(1).await;
    assert_eq!(text(&got[0]), reply);
    while alice.conn.state.outbox.state(&ids[0]).is_none_or(|s| s < TickState::Delivered) {
        alice.next_event().await;
    }

    let frames: Vec<&String> = alice.frames.iter().chain(&bob.frames).chain(&carol.frames).collect();
    assert!(frames.iter().any(|f| f.contains("\"trace\"")), "trace frames were recorded");
    let files = |dir: &std::path::Path| -> Vec<(String, Vec<u8>)> {
        let db = dir.join(bluetick_backend::store::DB_FILE);
        let wal = dir.join(format!("{}-wal", bluetick_backend::store::DB_FILE));
        [db, wal]
            .into_iter()
            .filter(|p| p.exists())
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect()
    };
    let contains = |haystack: &[u8], needle: &str| haystack.windows(needle.len()).any(|w| w == needle.as_bytes());
    let check = |files: &[(String, Vec<u8>)]| {
        assert!(files.iter().any(|(_, bytes)| contains(bytes, &control)), "the control message is found");
        for plaintext in [&direct, &in_group, &reply] {
            for (name, bytes) in files {
                assert!(!contains(bytes, plaintext), "{plaintext} found in {name}");
            }
        }
    };
    let live = files(server.data_dir());
    assert!(live.iter().any(|(name, _)| name.ends_with("-wal")), "the WAL is scanned while the server runs");
    check(&live);
    assert!(frames.iter().any(|f| f.contains(&control)), "the control message is in a frame");
    for plaintext in [&direct, &in_group, &reply] {
        assert!(!frames.iter().any(|f| f.contains(plaintext.as_str())), "{plaintext} in a frame");
    }
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM messages WHERE body LIKE '{\"e2e\":%'").await, 5);

    server.stop().await;
    // After a clean stop (the WAL checkpointed into the file): still nothing.
    check(&files(data.path()));
}

#[tokio::test]
async fn e2e_one_time_key_once() {
    let server = TestServer::start().await;
    let bob = e2e_device(server.addr, "Bob").await;
    let bob_device = bob.registration.device_id;
    let mut claimers = Vec::new();
    for i in 0..8 {
        claimers.push(register(server.addr, &format!("claimer {i}")).await);
    }
    // 40 claims at once for Bob's 20 one-time keys.
    let claim = serde_json::json!({ "devices": [bob_device] }).to_string();
    let results = futures_util::future::join_all(
        (0..40).map(|i| as_device(server.addr, &claimers[i % claimers.len()], "POST", "/api/keys/claim", Some(&claim))),
    )
    .await;
    let mut one_time = Vec::new();
    let mut fallback = Vec::new();
    for (status, body) in results {
        assert_eq!(status, 200, "{body}");
        let mut claimed: ClaimedKeys = serde_json::from_str(&body).unwrap();
        assert_eq!(claimed.devices.len(), 1);
        let device = claimed.devices.remove(0);
        assert_eq!(device.identity, bob.crypto.identity_keys());
        device.identity.verify(bob_device, &device.one_time_key).expect("a signed key");
        if device.fallback { fallback.push(device.one_time_key) } else { one_time.push(device.one_time_key) }
    }
    assert_eq!(one_time.len(), ONE_TIME_KEY_TARGET, "every one-time key was handed out");
    let distinct: HashSet<&String> = one_time.iter().map(|k| &k.key).collect();
    assert_eq!(distinct.len(), one_time.len(), "no one-time key was handed out twice");
    assert_eq!(fallback.len(), 40 - ONE_TIME_KEY_TARGET);
    assert!(fallback.iter().all(|k| k == &fallback[0] && !distinct.contains(&k.key)), "then the fallback key");
    assert_eq!(bob.key_count().await.unwrap(), KeyCount { one_time_keys: 0, fallback_key: true });
    assert_eq!(
        db::count(server.data_dir(), "SELECT COUNT(*) FROM one_time_keys WHERE claimed_at IS NOT NULL").await,
        20
    );

    // Below the low-water mark Bob publishes new keys; none of the claimed ones returns.
    let mut bob = bob;
    let count = bob.publish_keys().await.unwrap();
    assert_eq!(count.one_time_keys as usize, ONE_TIME_KEY_TARGET);
    let (_, body) = as_device(server.addr, &claimers[0], "POST", "/api/keys/claim", Some(&claim)).await;
    let claimed: ClaimedKeys = serde_json::from_str(&body).unwrap();
    assert!(!claimed.devices[0].fallback);
    assert!(!distinct.contains(&claimed.devices[0].one_time_key.key));
    server.stop().await;
}

#[tokio::test]
async fn e2e_key_upload_rules() {
    let server = TestServer::start().await;
    let alice = register(server.addr, "Alice").await;
    let bob = register(server.addr, "Bob").await;
    let mut alice_crypto = DeviceCrypto::new(alice.device_id);
    let upload = alice_crypto.key_upload(0, false).unwrap();
    let upload_json = serde_json::to_string(&upload).unwrap();

    let (status, _) = bluetick_tests::http::get(server.addr, "/api/keys/count").await;
    assert_eq!(status, 401, "who is asking?");
    let (status, body) =
        bluetick_client::http::request(server.addr, "PUT", "/api/keys", Some(&upload_json), None).await.unwrap();
    assert_eq!(status, 401, "{body}");
    // Bob cannot publish Alice's keys as his: the signatures name Alice's device.
    let (status, body) = as_device(server.addr, &bob, "PUT", "/api/keys", Some(&upload_json)).await;
    assert_eq!(status, 400, "{body}");
    // A one-time key with a wrong signature is refused, and nothing is stored.
    let mut forged = upload.clone();
    forged.one_time_keys[0].key = upload.one_time_keys[1].key.clone();
    let (status, body) =
        as_device(server.addr, &alice, "PUT", "/api/keys", Some(&serde_json::to_string(&forged).unwrap())).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM one_time_keys").await, 0);
    assert_eq!(db::count(server.data_dir(), "SELECT COUNT(*) FROM device_keys").await, 0);

    let (status, body) = as_device(server.addr, &alice, "PUT", "/api/keys", Some(&upload_json)).await;
    assert_eq!(status, 200, "{body}");
    // The same upload again (a retry) adds nothing.
    let (status, body) = as_device(server.addr, &alice, "PUT", "/api/keys", Some(&upload_json)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(serde_json::from_str::<KeyCount>(&body).unwrap().one_time_keys as usize, ONE_TIME_KEY_TARGET);
    // Identity keys cannot be swapped once published.
    let other = DeviceCrypto::new(alice.device_id).key_upload(0, false).unwrap();
    let (status, body) =
        as_device(server.addr, &alice, "PUT", "/api/keys", Some(&serde_json::to_string(&other).unwrap())).await;
    assert_eq!(status, 409, "{body}");
    assert!(body.contains("identity_mismatch"), "{body}");
    // Bob sees Alice's device and its identity keys.
    let (status, body) = as_device(server.addr, &bob, "GET", &format!("/api/keys/users/{}", alice.user_id), None).await;
    assert_eq!(status, 200, "{body}");
    let devices: bluetick_shared::e2e::keys::UserDevices = serde_json::from_str(&body).unwrap();
    assert_eq!(devices.devices.len(), 1);
    assert_eq!(devices.devices[0].identity, alice_crypto.identity_keys());
    alice_crypto.mark_keys_published();
    server.stop().await;
}

#[tokio::test]
async fn e2e_crowd_decrypts() {
    use bluetick_backend::api::crowds::{CrowdReport, CrowdStarted};
    let server = TestServer::start().await;
    let alice = e2e_device(server.addr, "Alice").await;
    let group = create_group(server.addr, &alice.registration, "secret club", &[]).await;
    let spec = serde_json::json!({ "size": 5, "encrypted": true, "read_delay_ms": [0, 10] }).to_string();
    let (status, body) =
        as_device(server.addr, &alice.registration, "POST", &format!("/api/groups/{group}/crowd"), Some(&spec)).await;
    assert_eq!(status, 201, "{body}");
    let crowd: CrowdStarted = serde_json::from_str(&body).unwrap();
    let owner = alice.registration.clone();
    let report = || async {
        let (status, body) =
            as_device(server.addr, &owner, "GET", &format!("/api/crowds/{}", crowd.crowd_id), None).await;
        assert_eq!(status, 200, "{body}");
        serde_json::from_str::<CrowdReport>(&body).unwrap()
    };
    // Every member has a vodozemac account and publishes its keys before it connects.
    let started = tokio::time::Instant::now();
    while !report().await.members.iter().all(|m| m.log.keys_published && m.log.online) {
        assert!(started.elapsed() < EVENT_TIMEOUT, "the crowd never published its keys");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut alice = Phone::connect(&server, alice).await;
    let (_, share) = alice.e2e.send_group(&mut alice.conn, group, "hello, crowd").await.unwrap();
    assert_eq!(share.needs_key.len(), 5, "every member device gets the room key over Olm");
    while !report().await.members.iter().all(|m| m.log.decrypted == 1) {
        assert!(started.elapsed() < EVENT_TIMEOUT, "the crowd never decrypted the message");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(report().await.members.iter().all(|m| m.log.undecryptable == 0));
    server.stop().await;
}
