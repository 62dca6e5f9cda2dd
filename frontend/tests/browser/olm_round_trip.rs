//! End-to-end encryption in a real browser: two devices' vodozemac accounts (randomness
//! from `crypto.getRandomValues`) make an Olm session, exchange a pre-key message and a
//! ratcheted answer, and one device's state survives a trip through localStorage.

use bluetick_shared::e2e::envelope::{Envelope, OLM_NORMAL, OLM_PRE_KEY};
use bluetick_shared::e2e::keys::ClaimedDevice;
use bluetick_shared::e2e::{Decrypted, DeviceCrypto, random_pickle_key};
use bluetick_shared::frames::Recipient;
use uuid::Uuid;
use wasm_bindgen_test::*;

fn message_type(envelope: &Envelope, device: Uuid) -> u8 {
    match envelope {
        Envelope::Olm { ciphertexts, .. } => ciphertexts[&device].message_type,
        other => panic!("not Olm: {other:?}"),
    }
}

#[wasm_bindgen_test]
fn olm_round_trip() {
    let (alice_id, bob_id, bob_user) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
    let mut alice = DeviceCrypto::new(alice_id);
    let mut bob = DeviceCrypto::new(bob_id);
    assert_ne!(alice.identity_keys(), bob.identity_keys(), "each account has its own random keys");

    // Bob publishes; Alice claims one of his one-time keys (as the directory would).
    let upload = bob.key_upload(0, false).unwrap();
    upload.verify(bob_id).unwrap();
    bob.mark_keys_published();
    let claimed = ClaimedDevice {
        device_id: bob_id,
        user_id: bob_user,
        identity: upload.identity.clone(),
        one_time_key: upload.one_time_keys[0].clone(),
        fallback: false,
    };
    alice.start_session(&claimed).unwrap();
    let first = alice.encrypt_text(&[bob_id], "hello from the browser").unwrap();
    assert_eq!(message_type(&first, bob_id), OLM_PRE_KEY);
    assert!(!first.to_json().contains("hello from the browser"));

    // Bob's state goes through localStorage, encrypted, before the message arrives.
    let storage = web_sys::window().unwrap().local_storage().unwrap().unwrap();
    let key = random_pickle_key();
    storage.set_item("bluetick.test.e2e", &bob.pickle(&key)).unwrap();
    let saved = storage.get_item("bluetick.test.e2e").unwrap().unwrap();
    storage.remove_item("bluetick.test.e2e").unwrap();
    let mut bob = DeviceCrypto::unpickle(&saved, &key).unwrap();
    assert!(DeviceCrypto::unpickle(&saved, &random_pickle_key()).is_err(), "another key cannot open it");

    let got = bob.decrypt(alice_id, Recipient::User(bob_user), &first.to_json()).unwrap();
    assert_eq!(got, Decrypted::Text { body: "hello from the browser".into(), pre_key: true });
    let answer = bob.encrypt_text(&[alice_id], "and back").unwrap();
    assert_eq!(message_type(&answer, alice_id), OLM_NORMAL);
    let got = alice.decrypt(bob_id, Recipient::User(Uuid::new_v4()), &answer.to_json()).unwrap();
    assert_eq!(got, Decrypted::Text { body: "and back".into(), pre_key: false });
}
