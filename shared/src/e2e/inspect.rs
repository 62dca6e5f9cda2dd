//! What anyone holding a message body can learn without a key: the facts the lesson's
//! encryption section shows next to each ciphertext. Everything here is read from the
//! envelope and vodozemac's own message parsing; nothing needs or touches a secret.
//!
//! For Olm, every message carries the sender's current *ratchet key* (public) and the
//! *chain index* of the message key it used. The chain index counts up with every
//! message in one direction; the ratchet key changes each time the conversation turns
//! around (the Double Ratchet's Diffie-Hellman step), which is what makes old message
//! keys impossible to recompute. For Megolm, every group message carries its message
//! index in the sender's session; a new session id means the sender rotated.

use vodozemac::base64_decode;
use vodozemac::megolm::MegolmMessage;
use vodozemac::olm::OlmMessage;

use super::envelope::{Envelope, OlmCiphertext};
use crate::frames::DeviceId;

/// How many base64 characters of a public key make a fingerprint on screen.
const FINGERPRINT_CHARS: usize = 10;

/// One ciphertext in an envelope, as far as it can be read without a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CiphertextFacts {
    Olm {
        /// The recipient device this ciphertext is for.
        device: DeviceId,
        /// A pre-key message carries what the recipient needs to create the session.
        pre_key: bool,
        /// Fingerprint of the sender's ratchet key at the time of sending.
        ratchet_key: String,
        /// Position of the message key in the current sending chain.
        chain_index: u64,
        /// Bytes of ciphertext (the encrypted payload alone).
        ciphertext_bytes: usize,
    },
    Megolm {
        session_id: String,
        message_index: u32,
        ciphertext_bytes: usize,
    },
    /// A body that claims to be an envelope but does not parse as one.
    Unreadable(String),
}

/// The facts of every ciphertext in a message body; `None` for a plaintext body.
pub fn inspect(body: &str) -> Option<Vec<CiphertextFacts>> {
    Some(match Envelope::parse(body)? {
        Envelope::Olm { ciphertexts, .. } => {
            ciphertexts.iter().map(|(device, ciphertext)| olm_facts(*device, ciphertext)).collect()
        }
        Envelope::Megolm { session_id, ciphertext, .. } => vec![match MegolmMessage::from_base64(&ciphertext) {
            Ok(message) => CiphertextFacts::Megolm {
                session_id: fingerprint(&session_id),
                message_index: message.message_index(),
                ciphertext_bytes: message.ciphertext().len(),
            },
            Err(e) => CiphertextFacts::Unreadable(e.to_string()),
        }],
    })
}

fn olm_facts(device: DeviceId, ciphertext: &OlmCiphertext) -> CiphertextFacts {
    let message = base64_decode(&ciphertext.body)
        .map_err(|e| e.to_string())
        .and_then(|bytes| OlmMessage::from_parts(ciphertext.message_type as usize, &bytes).map_err(|e| e.to_string()));
    match message {
        Ok(message) => {
            let (pre_key, inner) = match &message {
                OlmMessage::PreKey(m) => (true, m.message()),
                OlmMessage::Normal(m) => (false, m),
            };
            CiphertextFacts::Olm {
                device,
                pre_key,
                ratchet_key: fingerprint(&inner.ratchet_key().to_base64()),
                chain_index: inner.chain_index(),
                ciphertext_bytes: inner.ciphertext().len(),
            }
        }
        Err(e) => CiphertextFacts::Unreadable(e),
    }
}

/// The first characters of a base64 key or id: enough to see that it changed.
pub fn fingerprint(base64: &str) -> String {
    base64.chars().take(FINGERPRINT_CHARS).collect()
}
