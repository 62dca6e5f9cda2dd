//! What a phone shows: the messages on its screen, each sent message's progress, the
//! presence of those it watches, and the text of its log.

use std::collections::HashMap;

use uuid::Uuid;

use super::PhoneIo;
use crate::e2e::Decrypted;
use crate::e2e::envelope::Envelope;
use crate::e2e::inspect::fingerprint;
use crate::e2e::receiver::Opened;
use crate::frames::{Delivery, DeviceId, MessageId, TickState, TraceStage};

/// Messages and sent items a phone keeps on screen.
pub const KEPT: usize = 100;

/// A message this device received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub seq: u64,
    pub id: MessageId,
    pub from_name: String,
    /// What the phone shows: the plaintext (decrypted, if it came encrypted).
    pub body: String,
    pub read: bool,
    /// How it was protected on the way ("Olm pre-key message", "Megolm #3"), if it was.
    pub lock: Option<String>,
}

/// One server step of a sent message, from its trace events.
#[derive(Debug, Clone, PartialEq)]
pub struct StageEvent {
    pub stage: TraceStage,
    /// Microseconds after the send button was pressed.
    pub after_us: i64,
    pub detail: String,
}

/// A message this device sent, and how far it got.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub id: MessageId,
    pub body: String,
    pub tick: Option<TickState>,
    /// `sent` acks received for this id (a retry storm gets one per resend).
    pub acks: u32,
    /// Send frames put on the wire for this id.
    pub sends: u32,
    pub failed_reason: Option<String>,
    pub error: Option<String>,
    pub sent_at_us: i64,
    /// The message's own steps (for a group: those not about one member's device).
    pub stages: Vec<StageEvent>,
    pub group: bool,
}

/// What a watched user's presence is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PresenceState {
    pub online: bool,
    pub last_seen: Option<i64>,
}

/// One member-level step of a group message: which device, what, when (µs since epoch).
pub type MemberTrace = (MessageId, TraceStage, Option<DeviceId>, i64);

impl Received {
    /// A delivery shown as it came.
    pub(super) fn plain(seq: u64, message: Delivery) -> Received {
        Received { seq, id: message.id, from_name: message.from_name, body: message.body, read: false, lock: None }
    }
}

/// The messages that decrypting released, each shown with how it was protected on the
/// way. A group key shows nothing itself but may release group messages that were
/// waiting for it; `waiting` maps each encrypted message to its inbox number until then.
pub(super) fn decrypted(
    opened: Vec<Opened>,
    waiting: &mut HashMap<MessageId, u64>,
    io: &mut impl PhoneIo,
) -> Vec<Received> {
    let mut shown = Vec::new();
    for opened in opened {
        let delivery = opened.delivery;
        let Some(seq) = waiting.remove(&delivery.id) else { continue };
        let (body, lock) = match opened.content {
            Ok(Decrypted::Plaintext(body)) => (body, None),
            Ok(Decrypted::Text { body, pre_key }) => {
                (body, Some(if pre_key { "Olm pre-key message" } else { "Olm message" }.to_string()))
            }
            Ok(Decrypted::Group { body, message_index, .. }) => {
                (body, Some(format!("Megolm message #{message_index}")))
            }
            Ok(Decrypted::RoomKey { session_id, .. }) => {
                io.log(format!(
                    "group key from {} (session {}) installed",
                    delivery.from_name,
                    fingerprint(&session_id)
                ));
                continue;
            }
            Err(e) => (format!("⚠ cannot decrypt: {e}"), Some("undecryptable".to_string())),
        };
        io.log(format!("decrypted #{seq}: \"{body}\""));
        shown.push(Received { seq, id: delivery.id, from_name: delivery.from_name, body, read: false, lock });
    }
    shown
}

/// A body for the log: encrypted ones by size, not as a screen of base64.
pub(super) fn loggable(body: &str) -> String {
    match Envelope::parse(body) {
        Some(_) => format!("{} bytes of ciphertext", body.len()),
        None => format!("\"{body}\""),
    }
}

/// The last six hex digits of an id: enough to tell a lab's messages apart in a log.
pub fn short(id: Uuid) -> String {
    let text = id.simple().to_string();
    text[text.len() - 6..].to_string()
}
