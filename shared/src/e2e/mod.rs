//! End-to-end encryption on the device, with vodozemac: Olm (3DH key agreement, then
//! the Double Ratchet) between two devices, Megolm sender keys for groups. This module
//! does no I/O: the page, the Rust client library and the crowd fetch keys and send
//! frames themselves and ask [`DeviceCrypto`] for what to send and what they received.
//! No cryptographic step is written here; vodozemac does every one of them.
//!
//! - [`keys`]: the key directory's JSON bodies and the key signatures.
//! - [`envelope`]: the JSON carried in `send.body` (ciphertext and routing facts only).
//!
//! ## A device's life
//! 1. [`DeviceCrypto::new`] makes an account (identity keys). [`DeviceCrypto::key_upload`]
//!    signs fresh one-time keys and a fallback key for `PUT /api/keys`; after the upload
//!    succeeds, [`DeviceCrypto::mark_keys_published`]. When `GET /api/keys/count` falls
//!    below [`keys::ONE_TIME_KEY_LOW_WATER`], upload again.
//! 2. 1:1: for every recipient device without a session ([`DeviceCrypto::has_session`]),
//!    claim its keys (`POST /api/keys/claim`) and [`DeviceCrypto::start_session`] (this
//!    checks the signatures). [`DeviceCrypto::encrypt_text`] then makes one envelope with
//!    a ciphertext per device: pre-key messages until the peer has answered, normal
//!    ratchet messages after.
//! 3. Receiving: [`DeviceCrypto::decrypt`] takes a delivery's sender device, recipient and
//!    body. A pre-key message from a new peer creates the inbound session (also long
//!    after it was sent: the one-time key waits in the account).
//! 4. Groups: before sending, [`DeviceCrypto::prepare_group`] with the member devices of
//!    the moment. It rotates the Megolm session when a device that had the key is no
//!    longer a member, and names the devices that still need the key; send them
//!    [`DeviceCrypto::share_room_key`] over Olm, then [`DeviceCrypto::encrypt_group`]
//!    once for everyone. A group message whose key has not arrived yet decrypts to
//!    [`E2eError::UnknownGroupSession`]: keep it and try again after the next room key.
//! 5. [`DeviceCrypto::pickle`] / [`DeviceCrypto::unpickle`]: the whole state as one
//!    string, every secret in it encrypted with a 32-byte pickle key (vodozemac's pickle
//!    encryption). Device ids, group ids and public keys in it are not secret and stay
//!    readable.
//!
//! ## Trust, and what is left out
//! Signatures prove a one-time key belongs to the identity the directory names for that
//! device; nothing here proves the identity belongs to the person. Comparing identity
//! fingerprints ([`DeviceCrypto::identity_keys`], the Ed25519 key) out of band is the
//! safety-number step a UI would add. A peer device's identity key is pinned on first
//! contact; a different one later is refused ([`E2eError::IdentityChanged`]). Not done:
//! rotating the fallback key after use, copies of one's own messages for one's other
//! devices, and remembering Megolm message indices across reloads to refuse replays (the
//! inbox already drops redeliveries).

pub mod envelope;
pub mod keys;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde::{Deserialize, Serialize};
use vodozemac::megolm::{self, GroupSession, InboundGroupSession, MegolmMessage, SessionKey};
use vodozemac::olm::{self, Account, OlmMessage, Session};
use vodozemac::{Curve25519PublicKey, base64_decode, base64_encode};

use crate::frames::{DeviceId, GroupId, Recipient};
use envelope::{Envelope, GroupPayload, OlmCiphertext, OlmContent, OlmPayload};
use keys::{ClaimedDevice, IdentityKeys, KeyUpload, ONE_TIME_KEY_LOW_WATER, ONE_TIME_KEY_TARGET, SignedKey};

/// A 32-byte key that encrypts a pickled [`DeviceCrypto`].
pub type PickleKey = [u8; 32];

/// A new random pickle key, from the operating system (or, in the browser,
/// `crypto.getRandomValues`).
pub fn random_pickle_key() -> PickleKey {
    let mut key = [0u8; 32];
    getrandom::fill(&mut key).expect("the system's random source");
    key
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum E2eError {
    #[error("malformed key: {0}")]
    BadKey(String),
    #[error("a key's signature does not verify")]
    BadSignature,
    #[error("no Olm session with device {0}: claim its keys first")]
    NoSession(DeviceId),
    #[error("device {0} presented another identity key than before")]
    IdentityChanged(DeviceId),
    #[error("the envelope holds no ciphertext for this device")]
    NotForThisDevice,
    #[error("no group session {0} yet: its room key has not arrived")]
    UnknownGroupSession(String),
    #[error("no outbound group session for {0}: call prepare_group first")]
    NoGroupSession(GroupId),
    #[error("the message does not match its envelope or sender: {0}")]
    Forged(&'static str),
    #[error("cannot decrypt: {0}")]
    Decrypt(String),
    #[error("cannot create a session: {0}")]
    Session(String),
    #[error("cannot unpickle: {0}")]
    Pickle(String),
}

/// What a received body turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decrypted {
    /// Not an envelope: a plaintext message, as sent by a device without encryption.
    Plaintext(String),
    /// A 1:1 message. `pre_key` says whether it came as an Olm pre-key message.
    Text { body: String, pre_key: bool },
    /// A sender's group key arrived and was installed; nothing to show.
    RoomKey { group: GroupId, session_id: String },
    /// A group message.
    Group { group: GroupId, body: String, session_id: String, message_index: u32 },
}

/// What [`DeviceCrypto::prepare_group`] decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupShare {
    /// Whether a new Megolm session was started (first send, or a member device left).
    pub rotated: bool,
    /// The outbound session now in use.
    pub session_id: String,
    /// Member devices that do not have this session's key yet.
    pub needs_key: Vec<DeviceId>,
}

/// One peer device: the identity key it showed, and our Olm sessions with it, the most
/// recently used last.
struct Peer {
    curve25519: Curve25519PublicKey,
    sessions: Vec<Session>,
}

struct OutboundGroup {
    session: GroupSession,
    /// Devices that were sent this session's key.
    shared_with: BTreeSet<DeviceId>,
}

struct InboundGroup {
    group: GroupId,
    sender_device: DeviceId,
    sender_key: Curve25519PublicKey,
    session: InboundGroupSession,
}

/// A device's end-to-end state: its vodozemac account, its Olm sessions with other
/// devices, its own Megolm session per group and the group sessions of others.
pub struct DeviceCrypto {
    device: DeviceId,
    account: Account,
    peers: HashMap<DeviceId, Peer>,
    outbound: HashMap<GroupId, OutboundGroup>,
    /// Keyed by Megolm session id.
    inbound: HashMap<String, InboundGroup>,
}

impl std::fmt::Debug for DeviceCrypto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceCrypto")
            .field("device", &self.device)
            .field("curve25519", &self.account.curve25519_key().to_base64())
            .field("peers", &self.peers.len())
            .field("outbound", &self.outbound.len())
            .field("inbound", &self.inbound.len())
            .finish()
    }
}

impl DeviceCrypto {
    /// A new account with fresh identity keys for `device`.
    pub fn new(device: DeviceId) -> DeviceCrypto {
        DeviceCrypto {
            device,
            account: Account::new(),
            peers: HashMap::new(),
            outbound: HashMap::new(),
            inbound: HashMap::new(),
        }
    }

    pub fn device_id(&self) -> DeviceId {
        self.device
    }

    /// This device's public identity keys; the Ed25519 key is its fingerprint.
    pub fn identity_keys(&self) -> IdentityKeys {
        IdentityKeys::from_vodozemac(&self.account.identity_keys())
    }

    /// The keys to publish, given how many one-time keys the directory still holds
    /// unclaimed and whether it has a fallback key: tops the one-time keys up to
    /// [`ONE_TIME_KEY_TARGET`] once they fall below [`ONE_TIME_KEY_LOW_WATER`], makes a
    /// fallback key if there is none, and signs them all. Keys stay unpublished (and
    /// are offered again by the next call) until [`DeviceCrypto::mark_keys_published`].
    /// `None` when there is nothing to publish.
    pub fn key_upload(&mut self, unclaimed: usize, has_fallback: bool) -> Option<KeyUpload> {
        if unclaimed < ONE_TIME_KEY_LOW_WATER {
            let pending = self.account.one_time_keys().len();
            let wanted = ONE_TIME_KEY_TARGET.saturating_sub(unclaimed + pending);
            if wanted > 0 {
                self.account.generate_one_time_keys(wanted);
            }
        }
        if !has_fallback && self.account.fallback_key().is_empty() {
            self.account.generate_fallback_key();
        }
        let mut one_time_keys: Vec<SignedKey> =
            self.account.one_time_keys().into_iter().map(|(id, key)| self.sign_key(id, key)).collect();
        one_time_keys.sort_by(|a, b| a.key_id.cmp(&b.key_id));
        let fallback_key = self.account.fallback_key().into_iter().next().map(|(id, key)| self.sign_key(id, key));
        if one_time_keys.is_empty() && fallback_key.is_none() {
            return None;
        }
        Some(KeyUpload { identity: self.identity_keys(), one_time_keys, fallback_key })
    }

    /// The last [`DeviceCrypto::key_upload`] reached the directory.
    pub fn mark_keys_published(&mut self) {
        self.account.mark_keys_as_published();
    }

    fn sign_key(&self, id: vodozemac::KeyId, key: Curve25519PublicKey) -> SignedKey {
        let key_id = id.to_base64();
        let key = key.to_base64();
        let signature = self.account.sign(keys::signed_key_message(self.device, &key_id, &key)).to_base64();
        SignedKey { key_id, key, signature }
    }

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

    fn encrypt_olm(&mut self, devices: &[DeviceId], content: &OlmContent) -> Result<Envelope, E2eError> {
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

    fn decrypt_megolm(
        &mut self,
        from_device: DeviceId,
        to: Recipient,
        sender_key: &str,
        session_id: &str,
        ciphertext: &str,
    ) -> Result<Decrypted, E2eError> {
        let inbound =
            self.inbound.get_mut(session_id).ok_or_else(|| E2eError::UnknownGroupSession(session_id.to_string()))?;
        if inbound.sender_device != from_device || inbound.sender_key.to_base64() != sender_key {
            return Err(E2eError::Forged("group session of another sender"));
        }
        if to != Recipient::Group(inbound.group) {
            return Err(E2eError::Forged("group session of another group"));
        }
        let message = MegolmMessage::from_base64(ciphertext).map_err(|e| E2eError::Decrypt(e.to_string()))?;
        let decrypted = inbound.session.decrypt(&message).map_err(|e| E2eError::Decrypt(e.to_string()))?;
        let payload: GroupPayload =
            serde_json::from_slice(&decrypted.plaintext).map_err(|e| E2eError::Decrypt(e.to_string()))?;
        if payload.group != inbound.group {
            return Err(E2eError::Forged("group"));
        }
        Ok(Decrypted::Group {
            group: payload.group,
            body: payload.body,
            session_id: session_id.to_string(),
            message_index: decrypted.message_index,
        })
    }

    /// Readies this device's Megolm session for `group`, whose other members' devices
    /// are `member_devices` right now. Starts a new session on the first send and
    /// whenever a device that was given the current key is no longer among them (a
    /// member left: the new session's key never reaches it). Returns the devices that
    /// still need the current key.
    pub fn prepare_group(&mut self, group: GroupId, member_devices: &[DeviceId]) -> GroupShare {
        let members: BTreeSet<DeviceId> = member_devices.iter().copied().filter(|d| *d != self.device).collect();
        let rotated = match self.outbound.get(&group) {
            None => true,
            Some(current) => !current.shared_with.is_subset(&members),
        };
        if rotated {
            self.outbound.insert(
                group,
                OutboundGroup {
                    session: GroupSession::new(megolm::SessionConfig::version_1()),
                    shared_with: BTreeSet::new(),
                },
            );
        }
        let current = &self.outbound[&group];
        GroupShare {
            rotated,
            session_id: current.session.session_id(),
            needs_key: members.difference(&current.shared_with).copied().collect(),
        }
    }

    /// Forgets the outbound session of `group`: the next [`DeviceCrypto::prepare_group`]
    /// starts a new one.
    pub fn rotate_group(&mut self, group: GroupId) {
        self.outbound.remove(&group);
    }

    /// The id of this device's current Megolm session for `group`.
    pub fn group_session_id(&self, group: GroupId) -> Option<String> {
        self.outbound.get(&group).map(|o| o.session.session_id())
    }

    /// The current group session's key for `devices` (all with Olm sessions), as one
    /// Olm envelope to send to their user; they count as having the key from now on.
    pub fn share_room_key(&mut self, group: GroupId, devices: &[DeviceId]) -> Result<Envelope, E2eError> {
        let current = self.outbound.get(&group).ok_or(E2eError::NoGroupSession(group))?;
        let content = OlmContent::RoomKey {
            group,
            session_id: current.session.session_id(),
            session_key: current.session.session_key().to_base64(),
        };
        let envelope = self.encrypt_olm(devices, &content)?;
        self.outbound.get_mut(&group).expect("checked above").shared_with.extend(devices.iter().copied());
        Ok(envelope)
    }

    /// A group message, encrypted once for every member with the key they were sent.
    pub fn encrypt_group(&mut self, group: GroupId, body: &str) -> Result<Envelope, E2eError> {
        let sender_key = self.account.curve25519_key().to_base64();
        let current = self.outbound.get_mut(&group).ok_or(E2eError::NoGroupSession(group))?;
        let payload = GroupPayload { group, body: body.to_string() };
        let message = current.session.encrypt(serde_json::to_vec(&payload).expect("a payload always serializes"));
        Ok(Envelope::Megolm { sender_key, session_id: current.session.session_id(), ciphertext: message.to_base64() })
    }

    /// The whole state as one string; every secret in it is encrypted with `key`.
    pub fn pickle(&self, key: &PickleKey) -> String {
        let pickled = Pickled {
            version: 1,
            device: self.device,
            account: self.account.pickle().encrypt(key),
            peers: self
                .peers
                .iter()
                .map(|(device, peer)| PickledPeer {
                    device: *device,
                    curve25519: peer.curve25519.to_base64(),
                    sessions: peer.sessions.iter().map(|s| s.pickle().encrypt(key)).collect(),
                })
                .collect(),
            outbound: self
                .outbound
                .iter()
                .map(|(group, o)| PickledOutbound {
                    group: *group,
                    session: o.session.pickle().encrypt(key),
                    shared_with: o.shared_with.iter().copied().collect(),
                })
                .collect(),
            inbound: self
                .inbound
                .values()
                .map(|i| PickledInbound {
                    group: i.group,
                    sender_device: i.sender_device,
                    sender_key: i.sender_key.to_base64(),
                    session: i.session.pickle().encrypt(key),
                })
                .collect(),
        };
        serde_json::to_string(&pickled).expect("a pickle always serializes")
    }

    /// Restores a state saved by [`DeviceCrypto::pickle`] with the same key.
    pub fn unpickle(pickle: &str, key: &PickleKey) -> Result<DeviceCrypto, E2eError> {
        let bad = |e: &dyn std::fmt::Display| E2eError::Pickle(e.to_string());
        let pickled: Pickled = serde_json::from_str(pickle).map_err(|e| bad(&e))?;
        if pickled.version != 1 {
            return Err(E2eError::Pickle(format!("unknown pickle version {}", pickled.version)));
        }
        let account =
            Account::from_pickle(olm::AccountPickle::from_encrypted(&pickled.account, key).map_err(|e| bad(&e))?);
        let mut peers = HashMap::new();
        for p in pickled.peers {
            let curve25519 = Curve25519PublicKey::from_base64(&p.curve25519).map_err(|e| bad(&e))?;
            let sessions = p
                .sessions
                .iter()
                .map(|s| olm::SessionPickle::from_encrypted(s, key).map(Session::from_pickle).map_err(|e| bad(&e)))
                .collect::<Result<Vec<_>, _>>()?;
            peers.insert(p.device, Peer { curve25519, sessions });
        }
        let mut outbound = HashMap::new();
        for o in pickled.outbound {
            let session = GroupSession::from_pickle(
                megolm::GroupSessionPickle::from_encrypted(&o.session, key).map_err(|e| bad(&e))?,
            );
            outbound.insert(o.group, OutboundGroup { session, shared_with: o.shared_with.into_iter().collect() });
        }
        let mut inbound = HashMap::new();
        for i in pickled.inbound {
            let session = InboundGroupSession::from_pickle(
                megolm::InboundGroupSessionPickle::from_encrypted(&i.session, key).map_err(|e| bad(&e))?,
            );
            let sender_key = Curve25519PublicKey::from_base64(&i.sender_key).map_err(|e| bad(&e))?;
            inbound.insert(
                session.session_id(),
                InboundGroup { group: i.group, sender_device: i.sender_device, sender_key, session },
            );
        }
        Ok(DeviceCrypto { device: pickled.device, account, peers, outbound, inbound })
    }
}

#[derive(Serialize, Deserialize)]
struct Pickled {
    version: u32,
    device: DeviceId,
    account: String,
    peers: Vec<PickledPeer>,
    outbound: Vec<PickledOutbound>,
    inbound: Vec<PickledInbound>,
}

#[derive(Serialize, Deserialize)]
struct PickledPeer {
    device: DeviceId,
    curve25519: String,
    sessions: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct PickledOutbound {
    group: GroupId,
    session: String,
    shared_with: Vec<DeviceId>,
}

#[derive(Serialize, Deserialize)]
struct PickledInbound {
    group: GroupId,
    sender_device: DeviceId,
    sender_key: String,
    session: String,
}

#[cfg(test)]
mod tests;
