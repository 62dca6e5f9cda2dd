//! What travels in a `send` frame's `body` when a message is encrypted: a small JSON
//! envelope of ciphertext and the routing facts a recipient needs to pick the right
//! session. The server stores and forwards it like any other body and can read none
//! of it. A body that is not an envelope is an ordinary plaintext message.
//!
//! ```json
//! {"e2e":"olm","sender_key":"…","ciphertexts":{"<device id>":{"type":0,"body":"…"}}}
//! {"e2e":"megolm","sender_key":"…","session_id":"…","ciphertext":"…"}
//! ```
//!
//! A 1:1 `send` reaches every device of the recipient, so an Olm envelope carries one
//! ciphertext per recipient device. A group `send` is encrypted once with the sender's
//! Megolm session and fanned out as that one ciphertext.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::frames::{DeviceId, GroupId};

/// Olm message types, as vodozemac numbers them.
pub const OLM_PRE_KEY: u8 = 0;
pub const OLM_NORMAL: u8 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "e2e", rename_all = "snake_case", deny_unknown_fields)]
pub enum Envelope {
    /// One Olm ciphertext per recipient device, keyed by device id.
    Olm { sender_key: String, ciphertexts: BTreeMap<DeviceId, OlmCiphertext> },
    /// One Megolm ciphertext for every member of a group.
    Megolm { sender_key: String, session_id: String, ciphertext: String },
}

/// An Olm message: a pre-key message (type 0) until the sender has heard back on the
/// session, then normal messages (type 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OlmCiphertext {
    #[serde(rename = "type")]
    pub message_type: u8,
    pub body: String,
}

impl Envelope {
    /// The envelope in a message body, or `None` for a plaintext body.
    pub fn parse(body: &str) -> Option<Envelope> {
        if !body.starts_with('{') {
            return None;
        }
        serde_json::from_str(body).ok()
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("an envelope always serializes")
    }
}

/// The plaintext inside an Olm ciphertext. Naming both devices inside the ciphertext
/// keeps a relay from replaying it to another device or passing it off as another's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OlmPayload {
    pub sender_device: DeviceId,
    pub recipient_device: DeviceId,
    pub content: OlmContent,
}

/// What a device sends over Olm.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum OlmContent {
    /// A 1:1 text message.
    Text { body: String },
    /// The key of the sender's current Megolm session for a group: with it, the
    /// recipient can read the sender's group messages from this point on.
    RoomKey { group: GroupId, session_id: String, session_key: String },
}

/// The plaintext inside a Megolm ciphertext; the group is named inside so a message
/// cannot be replayed into another group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupPayload {
    pub group: GroupId,
    pub body: String,
}
