//! Olm between two devices: starting a session from claimed keys, encrypting 1:1
//! messages (and room keys) per recipient device, and decrypting them, creating the
//! inbound session from a pre-key message.

use std::collections::BTreeMap;

use vodozemac::megolm::{self, InboundGroupSession, SessionKey};
use vodozemac::olm::{self, OlmMessage};
use vodozemac::{Curve25519PublicKey, base64_decode, base64_encode};

use super::envelope::{Envelope, OlmCiphertext, OlmContent, OlmPayload};
use super::keys::ClaimedDevice;
use super::{Decrypted, DeviceCrypto, E2eError, InboundGroup, Peer};
use crate::frames::{DeviceId, Recipient};

impl DeviceCrypto {
    /// Whether there is an Olm session with `device` to encrypt to.
    pub fn has_session(&self, device: DeviceId) -> bool {
        self.peers.get(&device).is_some_and(|p| !p.sessions.is_empty())
    }

    /// The Curve25519 identity key a peer device has shown, if any.
    pub fn peer_identity(&self, device: DeviceId) -> Option<String> {
        self.peers.get(&device).map(|p| p.curve25519.to_base64())
    }

    /// Starts an outbound Olm session with a claimed device after checking that its
    /// one-time (or fallback) key is signed by its identity key for that device.
    pub fn start_session(&mut self, claimed: &ClaimedDevice) -> Result<(), E2eError> {
        let one_time_key = claimed.identity.verify(claimed.device_id, &claimed.one_time_key)?;
        let identity = claimed.identity.curve25519_key()?;
        if let Some(peer) = self.peers.get(&claimed.device_id)
            && peer.curve25519 != identity
        {
            return Err(E2eError::IdentityChanged(claimed.device_id));
        }
        let session = self
            .account
            .create_outbound_session(olm::SessionConfig::version_1(), identity, one_time_key)
            .map_err(|e| E2eError::Session(e.to_string()))?;
        self.peers
            .entry(claimed.device_id)
            .or_insert(Peer { curve25519: identity, sessions: Vec::new() })
            .sessions
            .push(session);
        Ok(())
    }

    /// A 1:1 text message for every one of `devices` (each needs a session).
    pub fn encrypt_text(&mut self, devices: &[DeviceId], body: &str) -> Result<Envelope, E2eError> {
        self.encrypt_olm(devices, &OlmContent::Text { body: body.to_string() })
    }

    pub(super) fn encrypt_olm(&mut self, devices: &[DeviceId], content: &OlmContent) -> Result<Envelope, E2eError> {
        let mut ciphertexts = BTreeMap::new();
        for &device in devices {
            let session =
                self.peers.get_mut(&device).and_then(|p| p.sessions.last_mut()).ok_or(E2eError::NoSession(device))?;
            let payload = OlmPayload { sender_device: self.device, recipient_device: device, content: content.clone() };
            let plaintext = serde_json::to_vec(&payload).expect("a payload always serializes");
            let message = session.encrypt(plaintext).map_err(|e| E2eError::Session(e.to_string()))?;
            let (message_type, bytes) = message.to_parts();
            ciphertexts.insert(device, OlmCiphertext { message_type: message_type as u8, body: base64_encode(bytes) });
        }
        Ok(Envelope::Olm { sender_key: self.account.curve25519_key().to_base64(), ciphertexts })
    }

    /// Decrypts a delivered body sent by `from_device` to `to`.
    pub fn decrypt(&mut self, from_device: DeviceId, to: Recipient, body: &str) -> Result<Decrypted, E2eError> {
        match Envelope::parse(body) {
            None => Ok(Decrypted::Plaintext(body.to_string())),
            Some(Envelope::Olm { sender_key, ciphertexts }) => {
                let ciphertext = ciphertexts.get(&self.device).ok_or(E2eError::NotForThisDevice)?;
                self.decrypt_olm(from_device, &sender_key, ciphertext)
            }
            Some(Envelope::Megolm { sender_key, session_id, ciphertext }) => {
                self.decrypt_megolm(from_device, to, &sender_key, &session_id, &ciphertext)
            }
        }
    }

    fn decrypt_olm(
        &mut self,
        from_device: DeviceId,
        sender_key: &str,
        ciphertext: &OlmCiphertext,
    ) -> Result<Decrypted, E2eError> {
        let sender_key = Curve25519PublicKey::from_base64(sender_key).map_err(|e| E2eError::BadKey(e.to_string()))?;
        let bytes = base64_decode(&ciphertext.body).map_err(|e| E2eError::Decrypt(e.to_string()))?;
        let message = OlmMessage::from_parts(ciphertext.message_type as usize, &bytes)
            .map_err(|e| E2eError::Decrypt(e.to_string()))?;
        if let Some(peer) = self.peers.get(&from_device)
            && peer.curve25519 != sender_key
        {
            return Err(E2eError::IdentityChanged(from_device));
        }
        // Try the existing sessions, newest first; the one that works becomes the one we
        // send with, so both sides settle on the same session.
        let mut found = None;
        if let Some(peer) = self.peers.get_mut(&from_device) {
            for i in (0..peer.sessions.len()).rev() {
                let matches = match &message {
                    OlmMessage::PreKey(m) => m.session_id() == peer.sessions[i].session_id(),
                    OlmMessage::Normal(_) => true,
                };
                if matches && let Ok(p) = peer.sessions[i].decrypt(&message) {
                    let session = peer.sessions.remove(i);
                    peer.sessions.push(session);
                    found = Some(p);
                    break;
                }
            }
        }
        let (plaintext, new_session) = match (found, &message) {
            (Some(p), _) => (p, None),
            (None, OlmMessage::PreKey(m)) => {
                let created = self
                    .account
                    .create_inbound_session(olm::SessionConfig::version_1(), sender_key, m)
                    .map_err(|e| E2eError::Session(e.to_string()))?;
                (created.plaintext, Some(created.session))
            }
            (None, OlmMessage::Normal(_)) => return Err(E2eError::Decrypt("no session decrypts it".into())),
        };
        let payload: OlmPayload = serde_json::from_slice(&plaintext).map_err(|e| E2eError::Decrypt(e.to_string()))?;
        if payload.sender_device != from_device {
            return Err(E2eError::Forged("sender device"));
        }
        if payload.recipient_device != self.device {
            return Err(E2eError::Forged("recipient device"));
        }
        // Only a message that checks out makes a new peer or session.
        if let Some(session) = new_session {
            self.peers
                .entry(from_device)
                .or_insert(Peer { curve25519: sender_key, sessions: Vec::new() })
                .sessions
                .push(session);
        }
        let pre_key = matches!(message, OlmMessage::PreKey(_));
        match payload.content {
            OlmContent::Text { body } => Ok(Decrypted::Text { body, pre_key }),
            OlmContent::RoomKey { group, session_id, session_key } => {
                let key = SessionKey::from_base64(&session_key).map_err(|e| E2eError::BadKey(e.to_string()))?;
                let session = InboundGroupSession::new(&key, megolm::SessionConfig::version_1());
                if session.session_id() != session_id {
                    return Err(E2eError::Forged("room key session id"));
                }
                self.inbound.entry(session_id.clone()).or_insert(InboundGroup {
                    group,
                    sender_device: from_device,
                    sender_key,
                    session,
                });
                Ok(Decrypted::RoomKey { group, session_id })
            }
        }
    }
}

/// What [`DeviceCrypto::replay_with_exported_session`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportedSessionReplay {
    /// The Olm session that was exported.
    pub session_id: String,
    /// Size of the exported (pickled) session state.
    pub exported_bytes: usize,
    /// The plaintext if the exported state could decrypt the message, else vodozemac's
    /// reason why not.
    pub outcome: Result<String, String>,
}

impl DeviceCrypto {
    /// The forward-secrecy experiment: export this device's current Olm session with
    /// `from_device` (everything a thief who copied the phone's storage right now would
    /// have), load it into a separate copy, and try to decrypt `body`, a message from
    /// `from_device` captured earlier. The device's own state is not touched.
    pub fn replay_with_exported_session(
        &self,
        from_device: DeviceId,
        body: &str,
    ) -> Result<ExportedSessionReplay, E2eError> {
        let session =
            self.peers.get(&from_device).and_then(|p| p.sessions.last()).ok_or(E2eError::NoSession(from_device))?;
        let Some(Envelope::Olm { ciphertexts, .. }) = Envelope::parse(body) else {
            return Err(E2eError::Decrypt("not an Olm message".into()));
        };
        let ciphertext = ciphertexts.get(&self.device).ok_or(E2eError::NotForThisDevice)?;
        let bytes = base64_decode(&ciphertext.body).map_err(|e| E2eError::Decrypt(e.to_string()))?;
        let message = OlmMessage::from_parts(ciphertext.message_type as usize, &bytes)
            .map_err(|e| E2eError::Decrypt(e.to_string()))?;
        let pickle_key = super::random_pickle_key();
        let exported = session.pickle().encrypt(&pickle_key);
        let mut copy = olm::Session::from_pickle(
            olm::SessionPickle::from_encrypted(&exported, &pickle_key).map_err(|e| E2eError::Pickle(e.to_string()))?,
        );
        let outcome = copy.decrypt(&message).map_err(|e| e.to_string()).and_then(|plaintext| {
            match serde_json::from_slice::<OlmPayload>(&plaintext).map(|p| p.content) {
                Ok(OlmContent::Text { body }) => Ok(body),
                Ok(OlmContent::RoomKey { .. }) => Ok("(a group key)".to_string()),
                Err(e) => Err(e.to_string()),
            }
        });
        Ok(ExportedSessionReplay { session_id: copy.session_id(), exported_bytes: exported.len(), outcome })
    }
}
