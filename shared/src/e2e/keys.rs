//! The key directory's JSON bodies, and the signatures that make a published key
//! trustworthy.
//!
//! Every key on the wire is unpadded base64, as vodozemac writes it. A one-time or
//! fallback key is signed with the device's Ed25519 identity key over
//! [`signed_key_message`], which binds the key to the device it belongs to: the server
//! (or anyone who can write to it) cannot hand a claimer a key of another device.

use serde::{Deserialize, Serialize};
use vodozemac::{Curve25519PublicKey, Ed25519PublicKey, Ed25519Signature};

use super::E2eError;
use crate::frames::{DeviceId, UserId};

/// How many one-time keys a device keeps published.
pub const ONE_TIME_KEY_TARGET: usize = 20;
/// Below this many unclaimed one-time keys, a device publishes more.
pub const ONE_TIME_KEY_LOW_WATER: usize = 5;

/// A device's long-term public keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdentityKeys {
    /// Curve25519: the Diffie-Hellman identity key (Olm's "sender key").
    pub curve25519: String,
    /// Ed25519: signs the device's one-time and fallback keys.
    pub ed25519: String,
}

/// A Curve25519 key signed by its device's Ed25519 identity key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SignedKey {
    /// The key's id in the device's account (unique per device).
    pub key_id: String,
    pub key: String,
    pub signature: String,
}

/// `PUT /api/keys`: the calling device's keys. The identity keys must be the same on
/// every upload from a device; one-time keys are added to those not yet claimed; a
/// fallback key replaces the previous one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyUpload {
    pub identity: IdentityKeys,
    #[serde(default)]
    pub one_time_keys: Vec<SignedKey>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback_key: Option<SignedKey>,
}

/// `PUT /api/keys` and `GET /api/keys/count` answer with this.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyCount {
    /// One-time keys published and not claimed yet.
    pub one_time_keys: u32,
    /// Whether a fallback key is published.
    pub fallback_key: bool,
}

/// `POST /api/keys/claim`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyClaim {
    pub devices: Vec<DeviceId>,
}

/// One device's keys as a claim hands them out: each one-time key goes to one claimer
/// only; when none is left, the fallback key (which many claimers may get).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedDevice {
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub identity: IdentityKeys,
    pub one_time_key: SignedKey,
    /// True when `one_time_key` is the device's fallback key.
    pub fallback: bool,
}

/// The answer to a claim: the devices that have published keys (others are left out).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedKeys {
    pub devices: Vec<ClaimedDevice>,
}

/// `GET /api/keys/users/{user}`: the devices of a user that can receive encrypted
/// messages (they have published identity keys).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDevices {
    pub user_id: UserId,
    pub devices: Vec<DeviceKeys>,
}

/// A device and its identity keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceKeys {
    pub device_id: DeviceId,
    pub identity: IdentityKeys,
}

/// The bytes a device signs to publish `key` (one-time or fallback) as its own.
pub fn signed_key_message(device: DeviceId, key_id: &str, key: &str) -> Vec<u8> {
    format!("bluetick-key:v1:{device}:{key_id}:{key}").into_bytes()
}

impl IdentityKeys {
    pub(crate) fn from_vodozemac(keys: &vodozemac::olm::IdentityKeys) -> Self {
        IdentityKeys { curve25519: keys.curve25519.to_base64(), ed25519: keys.ed25519.to_base64() }
    }

    /// The Curve25519 key, decoded.
    pub fn curve25519_key(&self) -> Result<Curve25519PublicKey, E2eError> {
        Curve25519PublicKey::from_base64(&self.curve25519).map_err(|e| E2eError::BadKey(e.to_string()))
    }

    /// The Ed25519 key, decoded.
    pub fn ed25519_key(&self) -> Result<Ed25519PublicKey, E2eError> {
        Ed25519PublicKey::from_base64(&self.ed25519).map_err(|e| E2eError::BadKey(e.to_string()))
    }

    /// Checks that `signed` was signed by this identity for `device`, and decodes the key.
    pub fn verify(&self, device: DeviceId, signed: &SignedKey) -> Result<Curve25519PublicKey, E2eError> {
        let signature = Ed25519Signature::from_base64(&signed.signature).map_err(|_| E2eError::BadSignature)?;
        self.ed25519_key()?
            .verify(&signed_key_message(device, &signed.key_id, &signed.key), &signature)
            .map_err(|_| E2eError::BadSignature)?;
        Curve25519PublicKey::from_base64(&signed.key).map_err(|e| E2eError::BadKey(e.to_string()))
    }
}

impl KeyUpload {
    /// Checks every key's encoding and signature; the server calls this before it
    /// stores an upload.
    pub fn verify(&self, device: DeviceId) -> Result<(), E2eError> {
        self.identity.curve25519_key()?;
        for key in self.one_time_keys.iter().chain(self.fallback_key.iter()) {
            self.identity.verify(device, key)?;
        }
        Ok(())
    }
}
