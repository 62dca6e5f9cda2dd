//! The lab API's JSON bodies: what the page and the backend exchange over HTTP to run a
//! student's sandbox (`/api/labs`, `/api/lab/…`). The WebSocket protocol is in
//! [`crate::frames`]; these are only the lab's controls and views around it.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::frames::{DeviceId, MessageId, Registration, UserId};

/// A lab sandbox's id.
pub type LabId = Uuid;

/// The devices every new lab starts with, in order: the state-machine lab's own device,
/// then the two phones of the offline-queue lab.
pub const LAB_DEVICE_NAMES: [&str; 3] = ["You", "Alice", "Bob"];

/// Longest outage ("server unreachable for N s") a student may inject.
pub const MAX_OUTAGE_SECS: u64 = 120;
/// Shortest and longest compressed message expiry a lab may set.
pub const MIN_LAB_EXPIRY_SECS: u64 = 1;
pub const MAX_LAB_EXPIRY_SECS: u64 = 3600;

/// `POST /api/labs`: a new sandbox and the credentials of its devices (shown once).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabCreated {
    pub lab_id: LabId,
    /// One per name in [`LAB_DEVICE_NAMES`], in that order.
    pub devices: Vec<Registration>,
}

/// `GET /api/lab`: the caller's sandbox as the server sees it now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabView {
    pub lab_id: LabId,
    /// The compressed expiry in force for messages sent in this lab, if any.
    pub expiry_secs: Option<u64>,
    pub devices: Vec<LabDevice>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LabDevice {
    pub device_id: DeviceId,
    pub user_id: UserId,
    pub name: String,
    pub online: bool,
    /// While an injected outage refuses this device: when it ends (unix ms).
    pub outage_until: Option<i64>,
}

/// `POST /api/lab/devices/{device}/outage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutageRequest {
    pub seconds: u64,
}

/// `PUT /api/lab/expiry`: `null` restores the server's normal expiry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpiryRequest {
    pub seconds: Option<u64>,
}

/// What a lab control did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlDone {
    /// Connections of the device that were cut.
    pub dropped: u32,
    /// When the outage ends (unix ms), for an outage.
    pub until: Option<i64>,
}

/// `GET /api/lab/devices/{device}/queue`: the server-side offline queue of one device,
/// read from the database: what waits in its inbox, in the order it will be pushed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    pub device_id: DeviceId,
    /// The highest sequence the device has acknowledged.
    pub acked_seq: u64,
    /// The highest sequence handed out.
    pub last_seq: u64,
    /// How many entries wait (may exceed `entries.len()`, which is capped).
    pub waiting: u64,
    /// The waiting entries, oldest first.
    pub entries: Vec<QueuedEntry>,
    /// Push wake-ups recorded for this device (what APNs/FCM would have been asked to
    /// send), newest first, capped.
    pub wakeups: Vec<Wakeup>,
    pub wakeups_total: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueuedEntry {
    pub seq: u64,
    /// `message` or `receipt`.
    pub kind: String,
    pub message_id: MessageId,
    pub from_name: String,
    /// A message's text, or a receipt's state (`delivered`, `read`, `failed`).
    pub summary: String,
    pub queued_at: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wakeup {
    pub message_id: MessageId,
    pub at: i64,
}

/// `GET /api/lab/messages/{id}`: how many times the database holds a message id sent in
/// this lab, and what it holds. The retry storm shows the counts (any number of sends,
/// one row); the encryption section shows the body: for an encrypted message, only
/// ciphertext.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageCopies {
    pub stored_rows: u64,
    /// Inbox entries (one per recipient device) made for it.
    pub deliveries: u64,
    /// The body column of the stored row, byte for byte; `None` if there is no row.
    #[serde(default)]
    pub stored_body: Option<String>,
}

/// How a lab's messages move through the pipeline: at full speed, in slow motion (every
/// hop waits `hop_ms` first), or one hop at a time (every hop waits until the student
/// asks for the next one). `PUT /api/lab/pace` sets it; it reaches only the lab's own
/// phones (You, Alice, Bob), never another lab, its load pairs or its crowd.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(try_from = "PaceBody", into = "PaceBody")]
pub enum Pace {
    #[default]
    Live,
    Slow {
        hop_ms: u64,
    },
    Step,
}

/// [`Pace`] as JSON: `{"mode": "live" | "step"}` or `{"mode": "slow", "hop_ms": N}`, and
/// nothing else.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PaceBody {
    mode: PaceMode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hop_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum PaceMode {
    Live,
    Slow,
    Step,
}

impl TryFrom<PaceBody> for Pace {
    type Error = String;
    fn try_from(body: PaceBody) -> Result<Pace, String> {
        match (body.mode, body.hop_ms) {
            (PaceMode::Live, None) => Ok(Pace::Live),
            (PaceMode::Step, None) => Ok(Pace::Step),
            (PaceMode::Slow, Some(hop_ms)) => Ok(Pace::Slow { hop_ms }),
            (PaceMode::Slow, None) => Err("slow motion needs hop_ms, the wait per hop in ms".into()),
            (_, Some(_)) => Err("hop_ms is only for the slow mode".into()),
        }
    }
}

impl From<Pace> for PaceBody {
    fn from(pace: Pace) -> PaceBody {
        match pace {
            Pace::Live => PaceBody { mode: PaceMode::Live, hop_ms: None },
            Pace::Slow { hop_ms } => PaceBody { mode: PaceMode::Slow, hop_ms: Some(hop_ms) },
            Pace::Step => PaceBody { mode: PaceMode::Step, hop_ms: None },
        }
    }
}

/// Shortest and longest wait per hop in slow motion.
pub const MIN_SLOW_HOP_MS: u64 = 100;
pub const MAX_SLOW_HOP_MS: u64 = 5_000;
/// Hops one lab may have waiting in step mode; any beyond pass without waiting (and say
/// so in their trace), so a forgotten step mode never piles up a connection's sends.
pub const MAX_HELD_HOPS: usize = 64;

impl Pace {
    /// Why this pace cannot be set, if it cannot.
    pub fn invalid(self) -> Option<String> {
        match self {
            Pace::Slow { hop_ms } if !(MIN_SLOW_HOP_MS..=MAX_SLOW_HOP_MS).contains(&hop_ms) => {
                Some(format!("hop_ms must be {MIN_SLOW_HOP_MS} to {MAX_SLOW_HOP_MS}"))
            }
            _ => None,
        }
    }
}

/// One hop waiting in step mode: the message and the step it will take next.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeldHop {
    pub message_id: MessageId,
    /// The step that waits: `stored` (the commit is answered SENT), `recipient_lookup`,
    /// `pushed` (the push to one device, or its queueing if it is offline), `acked` (the
    /// DELIVERED receipt goes back) or `read` (the READ receipt goes back).
    pub stage: crate::frames::TraceStage,
    /// The device the step concerns, where there is one.
    pub device: Option<DeviceId>,
    /// For a group message, the fan-out batch that waits (from 1): the next
    /// [`FANOUT_BATCH_MEMBERS`] members' delivery records, committed and pushed together.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u32>,
    /// When it began to wait (unix ms).
    pub since: i64,
}

/// Members the fan-out worker gives their delivery records per transaction: a group
/// message reaches its members this many at a time, and a paced lab waits per batch.
pub const FANOUT_BATCH_MEMBERS: u32 = 256;

impl HeldHop {
    /// The step this hop waits to take, in words: "the push to the device", "fan-out
    /// batch 2 (members 257–512, …)".
    pub fn step(&self) -> String {
        match self.batch {
            Some(batch) => fanout_batch_step(batch),
            None => paced_step(self.stage).to_string(),
        }
    }
}

/// A group message's fan-out batch `batch` (from 1), as a paced step.
pub fn fanout_batch_step(batch: u32) -> String {
    let batch = batch.max(1);
    let (first, last) = ((batch - 1) * FANOUT_BATCH_MEMBERS + 1, batch * FANOUT_BATCH_MEMBERS);
    // A smaller group's last batch ends sooner; the step says the range it may cover.
    format!(
        "fan-out batch {batch} (members {first}–{last}, as far as the group goes: their delivery records and pushes)"
    )
}

/// The step a paced hop waits to take, in words: "… waits before {this}".
pub fn paced_step(stage: crate::frames::TraceStage) -> &'static str {
    use crate::frames::TraceStage;
    match stage {
        TraceStage::Stored => "the commit is answered SENT",
        TraceStage::DedupHit => "the retry is answered SENT again",
        TraceStage::RecipientLookup => "the recipient look-up",
        TraceStage::Pushed => "the push to the device",
        TraceStage::Acked => "the DELIVERED receipt goes back to the sender",
        TraceStage::Read => "the READ receipt goes back to the sender",
        _ => "the next step",
    }
}

/// `GET`/`PUT /api/lab/pace`: the lab's pace and, in step mode, what waits, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaceView {
    pub pace: Pace,
    pub held: Vec<HeldHop>,
}

/// `POST /api/lab/pace/next`: the hop that was let go and what waits now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NextHop {
    pub released: HeldHop,
    pub view: PaceView,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frames::TraceStage;

    #[test]
    fn a_held_fan_out_batch_names_its_members() {
        let hop =
            HeldHop { message_id: Uuid::nil(), stage: TraceStage::Pushed, device: None, batch: Some(2), since: 0 };
        assert_eq!(
            hop.step(),
            "fan-out batch 2 (members 257–512, as far as the group goes: their delivery records and pushes)"
        );
        let push = HeldHop { batch: None, ..hop };
        assert_eq!(push.step(), "the push to the device");
    }

    #[test]
    fn a_held_hop_without_a_batch_reads_as_before() {
        // A view from a server without batches still parses.
        let json = r#"{"message_id":"00000000-0000-0000-0000-000000000000","stage":"acked","device":null,"since":5}"#;
        let hop: HeldHop = serde_json::from_str(json).unwrap();
        assert_eq!(hop.batch, None);
        assert!(!serde_json::to_string(&hop).unwrap().contains("batch"));
    }
}
