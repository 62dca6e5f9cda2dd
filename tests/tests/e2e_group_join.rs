//! Megolm when a member joins: the sender starts a new session, so the newcomer's key
//! opens what is sent from then on and nothing from before, even with the old
//! ciphertext in hand.

use std::collections::BTreeSet;
use std::net::SocketAddr;

use bluetick_client::e2e::E2eDevice;
use bluetick_client::{Connection, DeviceState, Event};
use bluetick_shared::e2e::{Decrypted, E2eError};
use bluetick_shared::frames::{Delivery, GroupId, Recipient, Registration};
use bluetick_shared::groups::GroupView;
use bluetick_tests::events::next;
use bluetick_tests::http::{as_device, register};
use bluetick_tests::server::TestServer;

struct Phone {
    e2e: E2eDevice,
    conn: Connection,
}

impl Phone {
    async fn new(server: &TestServer, name: &str) -> Phone {
        let mut e2e = E2eDevice::new(server.addr, register(server.addr, name).await);
        e2e.publish_keys().await.unwrap();
        let conn = Connection::connect(&server.ws_url(), DeviceState::new(e2e.registration.clone())).await.unwrap();
        Phone { e2e, conn }
    }

    /// The next group message shown, with its delivery (room keys are installed on the
    /// way).
    async fn next_group_text(&mut self) -> (Delivery, String) {
        loop {
            let Event::Message { message, .. } = next(&mut self.conn).await else { continue };
            for got in self.e2e.receive(message) {
                match got.content {
                    Ok(Decrypted::RoomKey { .. }) => {}
                    Ok(Decrypted::Group { body, .. }) => return (got.delivery, body),
                    other => panic!("unexpected {other:?}"),
                }
            }
        }
    }
}

async fn add_member(addr: SocketAddr, owner: &Registration, group: GroupId, member: &Registration) {
    let body = serde_json::json!({ "user_id": member.user_id }).to_string();
    let (status, body) = as_device(addr, owner, "POST", &format!("/api/groups/{group}/members"), Some(&body)).await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn megolm_rotation_on_join() {
    let server = TestServer::start().await;
    let mut alice = Phone::new(&server, "Alice").await;
    let mut bob = Phone::new(&server, "Bob").await;
    let mut carol = Phone::new(&server, "Carol").await;
    let (status, body) =
        as_device(server.addr, &alice.e2e.registration, "POST", "/api/groups", Some(r#"{"name":"club"}"#)).await;
    assert_eq!(status, 201, "{body}");
    let group = serde_json::from_str::<GroupView>(&body).unwrap().id;
    add_member(server.addr, &alice.e2e.registration, group, &bob.e2e.registration).await;

    // Before Carol: two messages on Alice's first session.
    let (_, first) = alice.e2e.send_group(&mut alice.conn, group, "before carol 1").await.unwrap();
    alice.e2e.send_group(&mut alice.conn, group, "before carol 2").await.unwrap();
    let (early, text) = bob.next_group_text().await;
    assert_eq!(text, "before carol 1");
    let (late, text) = bob.next_group_text().await;
    assert_eq!(text, "before carol 2");

    // Carol joins. Alice's next message starts a new session, keyed to Bob and Carol.
    add_member(server.addr, &alice.e2e.registration, group, &carol.e2e.registration).await;
    let (_, joined) = alice.e2e.send_group(&mut alice.conn, group, "welcome carol").await.unwrap();
    assert!(joined.rotated, "a join starts a new session");
    assert_ne!(joined.session_id, first.session_id);
    let both = BTreeSet::from([bob.e2e.registration.device_id, carol.e2e.registration.device_id]);
    assert_eq!(joined.needs_key.iter().copied().collect::<BTreeSet<_>>(), both);
    let (_, text) = carol.next_group_text().await;
    assert_eq!(text, "welcome carol", "the first thing Carol can read is from after she joined");
    assert_eq!(bob.next_group_text().await.1, "welcome carol");

    // Even with the earlier ciphertexts in hand, Carol's keys open neither.
    let alice_device = alice.e2e.registration.device_id;
    for before in [&early, &late] {
        assert!(
            matches!(
                carol.e2e.crypto.decrypt(alice_device, Recipient::Group(group), &before.body),
                Err(E2eError::UnknownGroupSession(_))
            ),
            "Carol read a message from before she joined"
        );
    }
    // Nothing changes, nothing rotates.
    let (_, same) = alice.e2e.send_group(&mut alice.conn, group, "still us").await.unwrap();
    assert!(!same.rotated && same.needs_key.is_empty());
    assert_eq!(same.session_id, joined.session_id);
    server.stop().await;
}
