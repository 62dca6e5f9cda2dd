//! The values that cross the store interface: what goes in, what comes out.

use bluetick_shared::frames::{DeviceId, GroupId, GroupProgress, MessageId, Recipient, ServerFrame, UserId};
use bluetick_shared::lab::LabId;

/// An authenticated device, as the session knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceIdentity {
    pub device: DeviceId,
    pub user: UserId,
    pub name: String,
    /// The lab sandbox the device's user belongs to, if any: it may only reach users of
    /// the same lab (and users outside labs only users outside labs).
    pub lab: Option<LabId>,
}

/// A message to store.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub sender: DeviceIdentity,
    pub id: MessageId,
    pub to: Recipient,
    pub body: String,
    pub now: i64,
    /// How long it may wait for delivery before it fails.
    pub ttl_ms: i64,
}

/// An inbox entry to push to its device after the commit.
#[derive(Debug, Clone, PartialEq)]
pub struct InboxEntry {
    pub device: DeviceId,
    pub seq: u64,
    pub frame: ServerFrame,
}

/// What storing a message did.
#[derive(Debug, Clone)]
pub enum SendOutcome {
    /// A new message: one inbox entry per recipient device; or, for a group, none yet:
    /// `fanout` names the job from which the fan-out worker makes them.
    Stored { sent_at: i64, deliveries: Vec<InboxEntry>, fanout: Option<i64> },
    /// The (sender, id) pair existed: nothing was stored. `sent_at` is the original's,
    /// so the retry's `sent` frame is identical to the first.
    Duplicate { sent_at: i64 },
}

/// One message an ack, read or expiry touched, with the recipient device concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Touched {
    pub id: MessageId,
    pub sender: UserId,
    pub to: Recipient,
    pub device: DeviceId,
}

/// What an ack, a read or an expiry sweep changed: which messages (for traces) and the
/// receipts to push to their senders.
#[derive(Debug, Clone, Default)]
pub struct ReceiptsOutcome {
    pub changed: Vec<Touched>,
    pub receipts: Vec<InboxEntry>,
    /// Inbox sequences named in a read that are not messages in this device's inbox.
    pub unknown: Vec<u64>,
    /// New delivered/read counts of group messages, for their senders' devices.
    pub progress: Vec<(DeviceId, MessageId, GroupProgress)>,
}

/// What one fan-out batch did.
#[derive(Debug, Clone, Default)]
pub struct FanoutOutcome {
    /// The message's id, sender and group.
    pub id: Option<MessageId>,
    pub sender: Option<UserId>,
    pub group: Option<GroupId>,
    /// The inbox entries created, to push after the commit.
    pub entries: Vec<InboxEntry>,
    /// Whether the job is complete.
    pub done: bool,
    /// Receipts, if every member had already acknowledged when fan-out finished.
    pub receipts: Vec<InboxEntry>,
}

/// What adding a member did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddMember {
    Added,
    AlreadyMember,
    GroupFull,
    NoSuchGroup,
    NoSuchUser,
}

/// A device of a lab, as the lab API lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabMember {
    pub device: DeviceId,
    pub user: UserId,
    pub name: String,
}
