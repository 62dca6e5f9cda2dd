//! The frames exchanged over `/ws`: JSON text messages, one object each, tagged by
//! `"type"`. This module is the protocol's reference; the rules below are what the
//! server enforces and the tests attack.
//!
//! ## Handshake and identity
//! A device first registers over HTTP (`POST /api/devices`, see [`Registration`]) and
//! keeps its device id and secret token. Every WebSocket then starts with
//! [`ClientFrame::Hello`]: the [`PROTOCOL_VERSION`] and, to act as a device, its
//! credentials. The server answers [`ServerFrame::Welcome`], or an
//! [`ServerFrame::Error`] and a close. A hello without credentials opens an anonymous
//! connection that may only watch (the page's connection-state demo uses one). The server
//! takes a message's sender from the authenticated connection, never from a frame. A
//! device has at most one live connection: a new one replaces the old, which is closed
//! with [`ErrorCode::Replaced`].
//!
//! **Sends written on a connection that is then replaced are never answered**, on either
//! connection: the old one stops reading at once, and `sent` frames still due on it are
//! dropped with it. Such a send may or may not have been stored. The client resends it on
//! the new connection with the same id; the idempotent insert answers with the same
//! `sent` frame either way (the outbox in [`crate::outbox`] does exactly this). The
//! same holds for any connection that ends before a send is answered.
//!
//! ## Sending: SENT ✓
//! [`ClientFrame::Send`] carries a client-generated UUID v7. The server stores the message
//! with an idempotent insert keyed by (sender device, id) and answers
//! [`ServerFrame::Sent`] only after the commit. Sending the same id again, for whatever
//! reason (a retry after a timeout, a duplicated frame, a resend after reconnect), stores
//! nothing new and gets a byte-identical `sent` frame. Sends with the same id but other
//! content are answered with the original's ack: the first write wins.
//!
//! ## Delivering: DELIVERED ✓✓
//! Each device has an inbox: a durable queue numbered by a per-device sequence (1, 2, 3,
//! …). The server pushes inbox entries ([`ServerFrame::Message`] and
//! [`ServerFrame::Receipt`]) in sequence order. The device acknowledges with
//! [`ClientFrame::Ack`] `{ up_to }`, cumulatively: everything up to that sequence has
//! arrived. An ack beyond the highest sequence pushed on this connection is refused
//! (`invalid_field`).
//!
//! On every connection, `hello.resume_after` says the last sequence the device has; the
//! server resumes right after it (capped at the highest sequence it ever handed out), in
//! order, then sends [`ServerFrame::Drained`]. The server does not look at what the
//! device acknowledged: resuming is the client's cursor alone, so **a hello without
//! `resume_after` (it defaults to 0) gets the device's whole inbox again**, acknowledged
//! entries included (the inbox is the device's history; a device that lost its cursor
//! gets everything back rather than nothing). Only entries that expired undelivered are
//! gone, which leaves gaps in the numbering. A device may also see an entry twice (a
//! cursor saved before the last entries arrived, then a reconnect); it drops
//! any sequence at or below the highest it has, which the client logic in
//! [`crate::inbox`] does. The first acknowledgment of a message by any recipient device
//! sends the sender a `delivered` receipt.
//!
//! ## Reading: READ blue ✓✓
//! [`ClientFrame::Read`] names 1 to 1,024 inbox sequences the user has seen; the sender
//! gets a `read` receipt. Each must have been pushed on this connection and be a message
//! (not a receipt) in this device's inbox; a read that names any other sequence is
//! refused whole with `invalid_field` and nothing in it is marked read. Naming a message
//! read before changes nothing. A message's state only moves forward (sent → delivered →
//! read); a read implies delivery.
//!
//! ## Failing: FAILED ⚠
//! A message no recipient device has acknowledged by its expiry (30 days by default) is
//! moved to the dead-letter table and the sender gets a `failed` receipt with the reason.
//!
//! ## Presence
//! A device sends [`ClientFrame::Heartbeat`] every `heartbeat_ms` (from `welcome`). It is
//! online while its presence TTL (`presence_ttl_ms`, 30 s by default; shorter for lab
//! devices) has not run out. **Any frame the client sends refreshes the TTL** — a
//! heartbeat, a send, an ack, a refused frame, a WebSocket ping —: a heartbeat is just
//! the frame to send when there is nothing else to say. A connection that sends nothing
//! for a whole TTL (say, half-open after a network change) goes offline, gets
//! `presence_expired` and is closed. A user is online while any of their devices is.
//! [`ClientFrame::WatchPresence`] subscribes to users' [`ServerFrame::Presence`] changes.
//!
//! ## Groups
//! A group has at most [`MAX_GROUP_MEMBERS`] members (checked when members are added,
//! also under concurrent adds). Its creator owns it: any member may add users and leave,
//! only the owner removes other members (the HTTP API, see the README). Only members may
//! send to it or observe it. A group message is committed once (SENT at once), then a
//! fan-out worker creates one inbox entry per device of every other member (the
//! membership of the moment each batch runs), in batches, resumable after a crash. The
//! sender gets [`ServerFrame::GroupProgress`] as receipts trickle back, and durable
//! receipts when the message is delivered to, and read on, every recipient device.
//! [`GroupProgress`] counts **devices, not members**: a member with two devices counts
//! twice, and the sender's own other devices are not recipients.
//!
//! Removing a member (or leaving) ends that user's `observe` of the group on every one
//! of their connections before the HTTP answer is sent: no trace emitted after it
//! reaches them (traces already queued for their socket may still arrive), and later
//! messages are not fanned out to them. Receipts for messages they sent still reach
//! them.
//!
//! ## Watching the pipeline
//! [`ClientFrame::Observe`] subscribes this connection to a conversation its device's
//! user is part of (any user of its lab, or a group it is a member of); the server then
//! sends a [`ServerFrame::Trace`] for every step each message takes. There is no answer
//! on success. Subscriptions end with the connection (and, for a group, when the user
//! leaves it). Traces are a view, not the work: past 8,192 queued for one connection,
//! newer ones are dropped rather than the connection.
//!
//! ## Errors
//! Every refused frame is answered with [`ServerFrame::Error`] carrying an
//! [`ErrorCode`], the refused message's id where there is one, and a sentence. Nothing
//! is stored for a refused frame, and the connection stays open: a refusal is about one
//! frame. Only these end a connection, with a close frame whose code is
//! [`ErrorCode::close_code`] (see [`crate::errors`]), after an `error` frame with the
//! same code unless said otherwise:
//! - `unsupported_version` and `bad_credentials` (the hello), and `storage_unavailable`
//!   when the server cannot check credentials during the hello;
//! - `handshake_required` when no hello arrives within the handshake timeout (10 s by
//!   default; a first frame other than hello is merely refused);
//! - `too_many_errors` after **8 refused frames in a row** (any accepted frame resets
//!   the count; only the close frame says `too_many_errors`, after the eighth refusal's
//!   own error frame);
//! - `replaced`, `slow_consumer`, `presence_expired`;
//! - `shutting_down`: close code 1001 (going away), with no error frame.
//!
//! Breaking the WebSocket protocol itself closes with its standard code and no error
//! frame: 1007 for a text frame that is not UTF-8, 1009 for a message far above the
//! frame limit (above 4 × `--max-frame-bytes`, at least 64 KiB; above the limit itself a
//! frame is merely refused with `frame_too_large`), 1002 for other framing errors.
//! Binary frames are refused with `malformed_frame`. The lab's "drop network" and
//! outages cut the TCP connection with no close frame at all.
//!
//! ```
//! use bluetick_shared::frames::{ClientFrame, PROTOCOL_VERSION};
//! let hello = ClientFrame::hello("docs");
//! assert_eq!(
//!     hello.to_json(),
//!     format!(r#"{{"type":"hello","protocol":{PROTOCOL_VERSION},"client":"docs"}}"#)
//! );
//! ```

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::errors::ErrorCode;

/// The protocol version this build speaks. Bump it on any incompatible frame change.
pub const PROTOCOL_VERSION: u32 = 1;

/// A device: one phone, one browser tab, one crowd member.
pub type DeviceId = Uuid;
/// A person, who may have several devices.
pub type UserId = Uuid;
/// A message's client-generated id (UUID v7).
pub type MessageId = Uuid;
/// A group conversation.
pub type GroupId = Uuid;

/// The most members a group may have, sender included. Enforced when members are added.
pub const MAX_GROUP_MEMBERS: usize = 1024;

/// The most inbox sequences one [`ClientFrame::Read`] may name (a client with more sends
/// several frames); one more is refused with [`ErrorCode::InvalidField`].
pub const MAX_READ_SEQS: usize = 1024;

/// The most users one [`ClientFrame::WatchPresence`] may name; one more is refused with
/// [`ErrorCode::InvalidField`].
pub const MAX_WATCHED: usize = 1024;

/// What `POST /api/devices` returns: the device's identity and the secret it
/// authenticates with. The token is shown once; the server keeps only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registration {
    pub user_id: UserId,
    pub device_id: DeviceId,
    pub token: String,
    pub name: String,
}

/// A device's credentials, sent in `hello`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub device_id: DeviceId,
    pub token: String,
}

/// Where a message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Recipient {
    /// Every device of one user.
    User(UserId),
    /// Every device of every other member of a group: the content is stored once and
    /// fanned out to one inbox entry per device.
    Group(GroupId),
}

/// A frame from a client (browser page, crowd member, test, load generator) to the server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Opens the connection: protocol version, a client name for logs and, to act as a
    /// device, its credentials and the last inbox sequence it already has. The server
    /// pushes everything after `resume_after`, acknowledged or not: without it (0), the
    /// whole inbox.
    Hello {
        protocol: u32,
        client: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        auth: Option<Credentials>,
        #[serde(default, skip_serializing_if = "is_zero")]
        resume_after: u64,
    },
    /// Sends a message. `id` is a UUID v7 made by the client and reused for every retry.
    Send { id: MessageId, to: Recipient, body: String },
    /// Everything in this device's inbox up to `up_to` has arrived.
    Ack { up_to: u64 },
    /// The user has seen these inbox entries (messages): all of them are marked read,
    /// or, if any is not a message pushed to this device, none.
    Read { seqs: Vec<u64> },
    /// "Still here": refreshes this device's presence TTL, as every frame does; sent when
    /// there is nothing else to send.
    Heartbeat,
    /// Subscribe to these users' presence.
    WatchPresence { users: Vec<UserId> },
    /// Subscribe to the pipeline trace of a conversation you are part of: with a user, or
    /// a group you are a member of.
    Observe { with: Recipient },
}

/// A message as it reaches a recipient device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: MessageId,
    pub from_user: UserId,
    pub from_device: DeviceId,
    pub from_name: String,
    pub to: Recipient,
    pub body: String,
    /// When the server committed it (unix ms).
    pub sent_at: i64,
}

/// A message's state as its sender sees it. Ordered: a state never moves backwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TickState {
    /// ✓ grey: the server committed it.
    Sent,
    /// ✓✓ grey: a recipient device acknowledged it.
    Delivered,
    /// ✓✓ blue: the recipient read it.
    Read,
    /// ⚠ red: undelivered past its expiry.
    Failed,
}

impl TickState {
    pub fn label(self) -> &'static str {
        match self {
            TickState::Sent => "SENT",
            TickState::Delivered => "DELIVERED",
            TickState::Read => "READ",
            TickState::Failed => "FAILED",
        }
    }

    /// The tick a chat shows for the state.
    pub fn icon(self) -> &'static str {
        match self {
            TickState::Sent => "✓",
            TickState::Delivered | TickState::Read => "✓✓",
            TickState::Failed => "⚠",
        }
    }
}

/// Delivered k/N and read k/N for a group message, counted in **devices, not members**:
/// `total` is the number of recipient devices (every device of every other member; a
/// member with two devices counts twice), known once fan-out has finished (until then it
/// counts those fanned out so far). `delivered` and `read` count devices that
/// acknowledged and read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupProgress {
    pub delivered: u32,
    pub read: u32,
    pub total: u32,
    /// Whether fan-out has reached every member.
    pub fanned_out: bool,
}

impl GroupProgress {
    /// The later of two reports of the same message's progress. Reports can be handled
    /// out of order, and every count only grows, so each field keeps its larger value
    /// rather than letting a late, smaller count move it back.
    pub fn merge(self, other: GroupProgress) -> GroupProgress {
        GroupProgress {
            delivered: self.delivered.max(other.delivered),
            read: self.read.max(other.read),
            total: self.total.max(other.total),
            fanned_out: self.fanned_out || other.fanned_out,
        }
    }
}

/// One step of a message through the pipeline, for the page's tick-pipeline view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TraceStage {
    /// The chat server read the `send` frame.
    Received,
    /// The idempotent insert stored a new message.
    Stored,
    /// The insert hit an existing (sender, id): a retry; nothing new was stored.
    DedupHit,
    /// The recipient's devices were looked up.
    RecipientLookup,
    /// Pushed to a connected recipient device.
    Pushed,
    /// The device is offline: the message waits in its inbox; a push wake-up was recorded.
    Queued,
    /// The recipient device acknowledged it.
    Acked,
    /// The recipient read it.
    Read,
    /// Undelivered past its expiry: moved to the dead-letter table.
    Failed,
    /// The lab's pace holds the message before its next step: slow motion waits a set
    /// time, step mode waits until the student asks for the next hop. The detail names
    /// the step that waits.
    Paced,
}

/// A frame from the server to a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The handshake succeeded.
    Welcome {
        protocol: u32,
        /// The server's name and version, e.g. `bluetick/0.1.0`.
        server: String,
        /// This connection's id, as it appears in the server's logs.
        connection_id: Uuid,
        /// The authenticated device, if the hello carried credentials.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<DeviceId>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        user: Option<UserId>,
        /// Send a heartbeat this often.
        heartbeat_ms: u64,
        /// Presence expires, and the connection is closed, this long after the last frame
        /// the client sent (any frame; heartbeats are for when there is nothing else).
        presence_ttl_ms: u64,
    },
    /// SENT ✓: the message `id` is committed. `at` is the commit time (unix ms); a retry
    /// of the same id gets the same frame.
    Sent { id: MessageId, at: i64 },
    /// An inbox entry: a message for this device.
    Message { seq: u64, message: Delivery },
    /// An inbox entry: a state change of a message this device sent.
    ///
    /// For a group message, DELIVERED means acknowledged by every recipient device and
    /// READ read on every recipient device; `progress` has the counts (of devices).
    Receipt {
        seq: u64,
        id: MessageId,
        state: TickState,
        at: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        progress: Option<GroupProgress>,
    },
    /// How far a group message has got: sent to its sender as member receipts trickle
    /// back. Live only; the durable receipts mark the end points.
    GroupProgress { id: MessageId, progress: GroupProgress },
    /// Everything in the inbox up to `up_to` has been pushed: the offline queue is drained.
    Drained { up_to: u64 },
    /// A watched user's presence changed (or its current state, on subscribing).
    Presence { user: UserId, online: bool, last_seen: Option<i64> },
    /// A step of a message through the pipeline (see [`ClientFrame::Observe`]).
    Trace {
        id: MessageId,
        stage: TraceStage,
        at_us: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        device: Option<DeviceId>,
        detail: String,
    },
    /// A frame or the connection was refused.
    Error {
        code: ErrorCode,
        /// The refused message's id, when the refused frame had one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<MessageId>,
        message: String,
    },
}

/// A frame that could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed frame: {0}")]
pub struct DecodeError(pub String);

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl ClientFrame {
    /// An anonymous hello.
    pub fn hello(client: &str) -> Self {
        ClientFrame::Hello { protocol: PROTOCOL_VERSION, client: client.into(), auth: None, resume_after: 0 }
    }

    /// A device's hello, resuming after inbox sequence `resume_after`.
    pub fn hello_as(client: &str, auth: Credentials, resume_after: u64) -> Self {
        ClientFrame::Hello { protocol: PROTOCOL_VERSION, client: client.into(), auth: Some(auth), resume_after }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("client frames always serialize")
    }

    pub fn from_json(text: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(text).map_err(|e| DecodeError(e.to_string()))
    }

    /// The message id the frame carries, for error frames that refer back to it.
    pub fn message_id(&self) -> Option<MessageId> {
        match self {
            ClientFrame::Send { id, .. } => Some(*id),
            _ => None,
        }
    }
}

impl ServerFrame {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("server frames always serialize")
    }

    pub fn from_json(text: &str) -> Result<Self, DecodeError> {
        serde_json::from_str(text).map_err(|e| DecodeError(e.to_string()))
    }

    /// Shorthand for an error frame about no message in particular.
    pub fn error(code: ErrorCode, message: impl Into<String>) -> Self {
        ServerFrame::Error { code, id: None, message: message.into() }
    }

    /// The inbox sequence of an inbox entry.
    pub fn inbox_seq(&self) -> Option<u64> {
        match self {
            ServerFrame::Message { seq, .. } | ServerFrame::Receipt { seq, .. } => Some(*seq),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn welcome_round_trips() {
        let frame = ServerFrame::Welcome {
            protocol: PROTOCOL_VERSION,
            server: "bluetick/test".into(),
            connection_id: Uuid::nil(),
            device: Some(Uuid::nil()),
            user: None,
            heartbeat_ms: 10_000,
            presence_ttl_ms: 30_000,
        };
        assert_eq!(ServerFrame::from_json(&frame.to_json()).unwrap(), frame);
    }

    #[test]
    fn unknown_frame_type_is_a_decode_error() {
        let err = ClientFrame::from_json(r#"{"type":"launch_missiles"}"#).unwrap_err();
        assert!(err.0.contains("launch_missiles"), "{err}");
    }

    #[test]
    fn invalid_json_is_a_decode_error() {
        assert!(ClientFrame::from_json("{not json").is_err());
    }

    #[test]
    fn a_sender_field_is_refused_not_ignored() {
        // The sender comes from the authenticated connection; a frame claiming one is a
        // client bug or an attack, and is refused rather than silently ignored.
        let id = Uuid::now_v7();
        let to = Uuid::now_v7();
        let json = format!(r#"{{"type":"send","id":"{id}","to":{{"user":"{to}"}},"body":"hi","from":"{to}"}}"#);
        let err = ClientFrame::from_json(&json).unwrap_err();
        assert!(err.0.contains("from"), "{err}");
    }

    #[test]
    fn send_frame_shape() {
        let id = Uuid::nil();
        let frame = ClientFrame::Send { id, to: Recipient::User(id), body: "hi".into() };
        assert_eq!(frame.to_json(), format!(r#"{{"type":"send","id":"{id}","to":{{"user":"{id}"}},"body":"hi"}}"#));
        assert_eq!(ClientFrame::from_json(&frame.to_json()).unwrap(), frame);
    }

    #[test]
    fn error_frame_carries_code_and_message() {
        let json = ServerFrame::error(ErrorCode::UnsupportedVersion, "speak 1").to_json();
        assert_eq!(json, r#"{"type":"error","code":"unsupported_version","message":"speak 1"}"#);
    }

    #[test]
    fn tick_states_only_move_forward_in_order() {
        assert!(TickState::Sent < TickState::Delivered);
        assert!(TickState::Delivered < TickState::Read);
    }
}
