//! The device-side rules without a server: the directory is played by taking keys
//! straight out of a [`KeyUpload`].

use uuid::Uuid;

use super::envelope::{Envelope, OLM_NORMAL, OLM_PRE_KEY};
use super::keys::{ClaimedDevice, KeyUpload, ONE_TIME_KEY_TARGET};
use super::*;
use crate::frames::{DeviceId, Recipient};

struct Device {
    user: Uuid,
    crypto: DeviceCrypto,
    upload: KeyUpload,
    claimed: usize,
}

fn device() -> Device {
    let mut crypto = DeviceCrypto::new(Uuid::new_v4());
    let upload = crypto.key_upload(0, false).expect("a first upload");
    crypto.mark_keys_published();
    Device { user: Uuid::new_v4(), crypto, upload, claimed: 0 }
}

/// What the directory would hand out for `d`: its next one-time key.
fn claim(d: &mut Device) -> ClaimedDevice {
    let key = d.upload.one_time_keys[d.claimed].clone();
    d.claimed += 1;
    ClaimedDevice {
        device_id: d.crypto.device_id(),
        user_id: d.user,
        identity: d.upload.identity.clone(),
        one_time_key: key,
        fallback: false,
    }
}

fn connect(from: &mut Device, to: &mut Device) {
    let claimed = claim(to);
    from.crypto.start_session(&claimed).unwrap();
}

fn olm_type(envelope: &Envelope, device: DeviceId) -> u8 {
    match envelope {
        Envelope::Olm { ciphertexts, .. } => ciphertexts[&device].message_type,
        other => panic!("not an Olm envelope: {other:?}"),
    }
}

fn me(d: &Device) -> Recipient {
    Recipient::User(d.user)
}

#[test]
fn upload_is_signed_and_tops_up() {
    let mut d = device();
    assert_eq!(d.upload.one_time_keys.len(), ONE_TIME_KEY_TARGET);
    assert!(d.upload.fallback_key.is_some());
    d.upload.verify(d.crypto.device_id()).unwrap();
    // Published keys are not offered again; nothing is due while enough remain.
    assert_eq!(d.crypto.key_upload(ONE_TIME_KEY_TARGET, true), None);
    assert_eq!(d.crypto.key_upload(keys::ONE_TIME_KEY_LOW_WATER, true), None);
    // Below the low-water mark: back up to the target, with new key ids.
    let more = d.crypto.key_upload(2, true).unwrap();
    assert_eq!(more.one_time_keys.len(), ONE_TIME_KEY_TARGET - 2);
    assert!(more.fallback_key.is_none());
    assert!(more.one_time_keys.iter().all(|k| !d.upload.one_time_keys.iter().any(|o| o.key_id == k.key_id)));
    // Unpublished keys are offered again until marked published.
    assert_eq!(d.crypto.key_upload(2, true).unwrap().one_time_keys, more.one_time_keys);
}

#[test]
fn a_signature_binds_a_key_to_its_device() {
    let mut alice = device();
    let mut bob = device();
    let mut claimed = claim(&mut bob);
    claimed.one_time_key.key = bob.upload.one_time_keys[5].key.clone();
    assert_eq!(alice.crypto.start_session(&claimed), Err(E2eError::BadSignature));
    let mut claimed = claim(&mut bob);
    claimed.device_id = Uuid::new_v4();
    assert_eq!(alice.crypto.start_session(&claimed), Err(E2eError::BadSignature));
    let mut upload = bob.upload.clone();
    upload.one_time_keys[3].signature = upload.one_time_keys[4].signature.clone();
    assert_eq!(upload.verify(bob.crypto.device_id()), Err(E2eError::BadSignature));
    assert!(!alice.crypto.has_session(bob.crypto.device_id()));
}

#[test]
fn olm_pre_key_messages_until_the_peer_answers() {
    let mut alice = device();
    let mut bob = device();
    let (a, b) = (alice.crypto.device_id(), bob.crypto.device_id());
    connect(&mut alice, &mut bob);
    // Bob is offline: three messages pile up, all pre-key messages.
    let sent: Vec<Envelope> = (0..3).map(|i| alice.crypto.encrypt_text(&[b], &format!("hello {i}")).unwrap()).collect();
    assert!(sent.iter().all(|e| olm_type(e, b) == OLM_PRE_KEY));
    for (i, envelope) in sent.iter().enumerate() {
        let got = bob.crypto.decrypt(a, me(&bob), &envelope.to_json()).unwrap();
        assert_eq!(got, Decrypted::Text { body: format!("hello {i}"), pre_key: true });
    }
    // Bob answers on the same session with a normal message; then Alice ratchets on.
    let reply = bob.crypto.encrypt_text(&[a], "hi back").unwrap();
    assert_eq!(olm_type(&reply, a), OLM_NORMAL);
    assert_eq!(
        alice.crypto.decrypt(b, me(&alice), &reply.to_json()).unwrap(),
        Decrypted::Text { body: "hi back".into(), pre_key: false }
    );
    let next = alice.crypto.encrypt_text(&[b], "ratcheted").unwrap();
    assert_eq!(olm_type(&next, b), OLM_NORMAL);
    assert_eq!(
        bob.crypto.decrypt(a, me(&bob), &next.to_json()).unwrap(),
        Decrypted::Text { body: "ratcheted".into(), pre_key: false }
    );
    // A replayed message does not decrypt twice.
    assert!(bob.crypto.decrypt(a, me(&bob), &next.to_json()).is_err());
}

#[test]
fn olm_refuses_a_ciphertext_passed_off_as_another_devices() {
    let mut alice = device();
    let mut bob = device();
    let b = bob.crypto.device_id();
    connect(&mut alice, &mut bob);
    let envelope = alice.crypto.encrypt_text(&[b], "from alice").unwrap();
    let mallory = Uuid::new_v4();
    assert_eq!(bob.crypto.decrypt(mallory, me(&bob), &envelope.to_json()), Err(E2eError::Forged("sender device")));
    assert_eq!(bob.crypto.peer_identity(mallory), None, "a refused message pins no identity");
    assert!(!bob.crypto.has_session(mallory));
    let mut carol = device();
    assert_eq!(
        carol.crypto.decrypt(alice.crypto.device_id(), me(&carol), &envelope.to_json()),
        Err(E2eError::NotForThisDevice)
    );
    assert_eq!(bob.crypto.decrypt(mallory, me(&bob), "just text"), Ok(Decrypted::Plaintext("just text".into())));
}

#[test]
fn megolm_rotates_when_a_member_leaves() {
    let mut alice = device();
    let mut bob = device();
    let mut carol = device();
    let (a, b, c) = (alice.crypto.device_id(), bob.crypto.device_id(), carol.crypto.device_id());
    let group = Uuid::new_v4();
    connect(&mut alice, &mut bob);
    connect(&mut alice, &mut carol);

    let share = alice.crypto.prepare_group(group, &[a, b, c]);
    assert!(share.rotated);
    assert_eq!(share.needs_key, {
        let mut v = vec![b, c];
        v.sort();
        v
    });
    let keys = alice.crypto.share_room_key(group, &share.needs_key).unwrap();
    let first = alice.crypto.encrypt_group(group, "before").unwrap();
    // A group message before its key arrives waits; after the key, it decrypts.
    assert!(matches!(
        bob.crypto.decrypt(a, Recipient::Group(group), &first.to_json()),
        Err(E2eError::UnknownGroupSession(_))
    ));
    for d in [&mut bob, &mut carol] {
        let user = me(d);
        assert!(matches!(d.crypto.decrypt(a, user, &keys.to_json()).unwrap(), Decrypted::RoomKey { .. }));
        match d.crypto.decrypt(a, Recipient::Group(group), &first.to_json()).unwrap() {
            Decrypted::Group { body, session_id, message_index, .. } => {
                assert_eq!((body.as_str(), message_index), ("before", 0));
                assert_eq!(session_id, share.session_id);
            }
            other => panic!("{other:?}"),
        }
    }
    // No change in members: same session, nobody needs a key.
    let again = alice.crypto.prepare_group(group, &[b, c]);
    assert!(!again.rotated && again.needs_key.is_empty());

    // Carol leaves: a new session, whose key only Bob gets.
    let after = alice.crypto.prepare_group(group, &[b]);
    assert!(after.rotated);
    assert_ne!(after.session_id, share.session_id);
    assert_eq!(after.needs_key, vec![b]);
    let keys = alice.crypto.share_room_key(group, &after.needs_key).unwrap();
    let second = alice.crypto.encrypt_group(group, "after").unwrap();
    bob.crypto.decrypt(a, me(&bob), &keys.to_json()).unwrap();
    assert!(matches!(
        bob.crypto.decrypt(a, Recipient::Group(group), &second.to_json()).unwrap(),
        Decrypted::Group { body, .. } if body == "after"
    ));
    assert!(matches!(
        carol.crypto.decrypt(a, Recipient::Group(group), &second.to_json()),
        Err(E2eError::UnknownGroupSession(_))
    ));
    assert_eq!(carol.crypto.decrypt(a, me(&carol), &keys.to_json()), Err(E2eError::NotForThisDevice));
    // A group session only decrypts its own group's messages from its own sender.
    let third = alice.crypto.encrypt_group(group, "elsewhere").unwrap();
    assert_eq!(
        bob.crypto.decrypt(a, Recipient::Group(Uuid::new_v4()), &third.to_json()),
        Err(E2eError::Forged("group session of another group"))
    );
    assert_eq!(
        bob.crypto.decrypt(c, Recipient::Group(group), &third.to_json()),
        Err(E2eError::Forged("group session of another sender"))
    );
}

#[test]
fn pickle_round_trip_keeps_every_session() {
    let mut alice = device();
    let mut bob = device();
    let (a, b) = (alice.crypto.device_id(), bob.crypto.device_id());
    let group = Uuid::new_v4();
    connect(&mut alice, &mut bob);
    let hello = alice.crypto.encrypt_text(&[b], "before reload").unwrap();
    let share = alice.crypto.prepare_group(group, &[b]);
    let keys = alice.crypto.share_room_key(group, &share.needs_key).unwrap();

    let key = [7u8; 32];
    let saved = bob.crypto.pickle(&key);
    assert!(matches!(DeviceCrypto::unpickle(&saved, &[8u8; 32]), Err(E2eError::Pickle(_))));
    let mut bob_again = DeviceCrypto::unpickle(&saved, &key).unwrap();
    assert_eq!(bob_again.identity_keys(), bob.crypto.identity_keys());
    // The one-time key claimed before the reload still answers the pre-key message.
    assert!(matches!(bob_again.decrypt(a, me(&bob), &hello.to_json()).unwrap(), Decrypted::Text { .. }));
    bob_again.decrypt(a, me(&bob), &keys.to_json()).unwrap();

    let key2 = [9u8; 32];
    let mut alice_again = DeviceCrypto::unpickle(&alice.crypto.pickle(&key2), &key2).unwrap();
    let reply = bob_again.encrypt_text(&[a], "after reload").unwrap();
    assert!(
        matches!(alice_again.decrypt(b, me(&alice), &reply.to_json()).unwrap(), Decrypted::Text { body, .. } if body == "after reload")
    );
    // Alice's group session survived too: same session, Bob already has its key.
    let same = alice_again.prepare_group(group, &[b]);
    assert!(!same.rotated && same.needs_key.is_empty());
    let msg = alice_again.encrypt_group(group, "group after reload").unwrap();
    let mut bob_third = DeviceCrypto::unpickle(&bob_again.pickle(&key), &key).unwrap();
    assert!(matches!(
        bob_third.decrypt(a, Recipient::Group(group), &msg.to_json()).unwrap(),
        Decrypted::Group { body, message_index: 0, .. } if body == "group after reload"
    ));
}

fn olm_facts(envelope: &Envelope, device: DeviceId) -> (bool, String, u64) {
    let facts = inspect::inspect(&envelope.to_json()).expect("an envelope");
    match facts.into_iter().find(|f| matches!(f, inspect::CiphertextFacts::Olm { device: d, .. } if *d == device)) {
        Some(inspect::CiphertextFacts::Olm { pre_key, ratchet_key, chain_index, .. }) => {
            (pre_key, ratchet_key, chain_index)
        }
        other => panic!("no Olm facts for the device: {other:?}"),
    }
}

#[test]
fn inspect_shows_the_chain_index_counting_and_the_ratchet_key_turning() {
    let mut alice = device();
    let mut bob = device();
    let (a, b) = (alice.crypto.device_id(), bob.crypto.device_id());
    connect(&mut alice, &mut bob);
    assert_eq!(inspect::inspect("hello"), None);
    let first: Vec<Envelope> = (0..3).map(|i| alice.crypto.encrypt_text(&[b], &format!("m{i}")).unwrap()).collect();
    let facts: Vec<_> = first.iter().map(|e| olm_facts(e, b)).collect();
    // One sending chain: the same ratchet key, the index counting up, pre-key messages.
    assert!(facts.iter().all(|(pre_key, key, _)| *pre_key && *key == facts[0].1));
    assert_eq!(facts.iter().map(|f| f.2).collect::<Vec<_>>(), vec![0, 1, 2]);
    for e in &first {
        bob.crypto.decrypt(a, me(&bob), &e.to_json()).unwrap();
    }
    // Bob answers with his own ratchet key; Alice's next chain has a new key, from 0.
    let reply = bob.crypto.encrypt_text(&[a], "back").unwrap();
    let (reply_pre_key, bob_key, _) = olm_facts(&reply, a);
    assert!(!reply_pre_key);
    alice.crypto.decrypt(b, me(&alice), &reply.to_json()).unwrap();
    let (pre_key, key, index) = olm_facts(&alice.crypto.encrypt_text(&[b], "next").unwrap(), b);
    assert!(!pre_key);
    assert_ne!(key, facts[0].1);
    assert_ne!(key, bob_key);
    assert_eq!(index, 0);
    // Megolm: the message index counts up within one session.
    let group = Uuid::new_v4();
    alice.crypto.prepare_group(group, &[b]);
    let indices: Vec<u32> = (0..2)
        .map(|i| {
            match &inspect::inspect(&alice.crypto.encrypt_group(group, &format!("g{i}")).unwrap().to_json()).unwrap()[0]
            {
                inspect::CiphertextFacts::Megolm { message_index, .. } => *message_index,
                other => panic!("not Megolm: {other:?}"),
            }
        })
        .collect();
    assert_eq!(indices, vec![0, 1]);
}

#[test]
fn an_exported_session_cannot_decrypt_a_message_captured_earlier() {
    let mut alice = device();
    let mut bob = device();
    let (a, b) = (alice.crypto.device_id(), bob.crypto.device_id());
    connect(&mut alice, &mut bob);
    let captured = alice.crypto.encrypt_text(&[b], "yesterday's secret").unwrap().to_json();
    bob.crypto.decrypt(a, me(&bob), &captured).unwrap();
    let reply = bob.crypto.encrypt_text(&[a], "ok").unwrap();
    alice.crypto.decrypt(b, me(&alice), &reply.to_json()).unwrap();
    let later = alice.crypto.encrypt_text(&[b], "today").unwrap().to_json();
    bob.crypto.decrypt(a, me(&bob), &later).unwrap();

    let replay = bob.crypto.replay_with_exported_session(a, &captured).unwrap();
    assert!(replay.exported_bytes > 0);
    let reason = replay.outcome.expect_err("the exported state must not decrypt an earlier message");
    assert!(!reason.is_empty());
    // A message not yet decrypted is readable with the exported state: the experiment
    // can succeed, so its failure above means something.
    let unread = alice.crypto.encrypt_text(&[b], "tomorrow").unwrap().to_json();
    let replay = bob.crypto.replay_with_exported_session(a, &unread).unwrap();
    assert_eq!(replay.outcome, Ok("tomorrow".to_string()));
    // The device itself was not changed by the experiment.
    assert_eq!(
        bob.crypto.decrypt(a, me(&bob), &unread).unwrap(),
        Decrypted::Text { body: "tomorrow".into(), pre_key: false }
    );
}
