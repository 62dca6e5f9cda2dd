//! End-to-end encryption on the device, with vodozemac: Olm (3DH key agreement, then
//! the Double Ratchet) between two devices, Megolm sender keys for groups. This module
//! does no I/O: the page, the Rust client library and the crowd fetch keys and send
//! frames themselves and ask [`DeviceCrypto`] for what to send and what they received.
//! No cryptographic step is written here; vodozemac does every one of them.
//!
//! - [`keys`]: the key directory's JSON bodies and the key signatures.
//! - [`envelope`]: the JSON carried in `send.body` (ciphertext and routing facts only).
//! - [`inspect`]: what a ciphertext reveals without a key (ratchet key, chain index).
//! - [`receiver`]: group messages waiting for a late room key.
//! - `olm_sessions`, `group_sessions`, `pickle`: the parts of [`DeviceCrypto`].
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
mod group_sessions;
pub mod inspect;
pub mod keys;
mod olm_sessions;
mod pickle;
pub mod receiver;

pub use olm_sessions::ExportedSessionReplay;

use std::collections::{BTreeSet, HashMap};

use vodozemac::Curve25519PublicKey;
use vodozemac::megolm::{GroupSession, InboundGroupSession};
use vodozemac::olm::{Account, Session};

use crate::frames::{DeviceId, GroupId};
use keys::{IdentityKeys, KeyUpload, ONE_TIME_KEY_LOW_WATER, ONE_TIME_KEY_TARGET, SignedKey};

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
}

#[cfg(test)]
mod tests;
