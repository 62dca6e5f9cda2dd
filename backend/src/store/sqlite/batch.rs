//! The two hot writes, sends and acks, for a whole batch at a time.
//!
//! Why a batch at a time: each step (insert the messages, find their recipients' devices,
//! take sequences, insert the inbox entries; mark acked entries, move ticks, queue
//! receipts) runs for every job of its kind in the batch before the next step, so a
//! device's sequences are taken once per batch and each prepared statement runs back to
//! back. The statements themselves are plain, one row each: on the writer's own
//! synchronous connection a statement is a function call, not a round trip.
//!
//! What holds as before: the idempotent insert decides which sends are new (see
//! [`messages::insert_messages`]); sequences are taken from `devices.last_seq` and numbered in
//! job order, so each inbox stays gap-free and a sender's messages keep their order; an
//! ack covers exactly the entries it would have covered alone; and the whole batch is
//! still one transaction that commits before any caller hears back.

use std::collections::{HashMap, HashSet};

use bluetick_shared::frames::{Delivery, DeviceId, Recipient, ServerFrame, TickState};
use rusqlite::{Connection, OptionalExtension, params};

use super::group_acks;
use super::messages::{self, Inserted, MessageFacts, touched};
use super::receipts::state_code;
use super::uuid;
use crate::store::{InboxEntry, NewMessage, ReceiptsOutcome, SendOutcome, StorageError};

/// One inbox entry to insert.
pub(super) struct NewEntry {
    pub(super) device: String,
    pub(super) seq: u64,
    /// 0: a message; 1: a receipt.
    pub(super) kind: i64,
    pub(super) message_id: i64,
    pub(super) receipt_state: Option<i64>,
    pub(super) created_at: i64,
}

/// Takes `n` more sequences for each (distinct) device in one statement and answers each
/// device's first new one; callers number their entries from there in job order.
pub(super) fn reserve_seqs(
    conn: &Connection,
    counts: HashMap<String, u64>,
) -> Result<HashMap<String, u64>, StorageError> {
    let mut reserve =
        conn.prepare_cached("UPDATE devices SET last_seq = last_seq + ?2 WHERE id = ?1 RETURNING last_seq")?;
    let mut first = HashMap::with_capacity(counts.len());
    for (device, n) in counts {
        // No row: an entry for a device that does not exist.
        let last: u64 = reserve.query_row(params![device, n], |row| row.get(0))?;
        first.insert(device, last + 1 - n);
    }
    Ok(first)
}

/// The next of the sequences reserved for `device`.
pub(super) fn take_seq(next: &mut HashMap<String, u64>, device: &str) -> u64 {
    let slot = next.get_mut(device).expect("a sequence was reserved for every entry");
    *slot += 1;
    *slot - 1
}

pub(super) fn insert_inbox(conn: &Connection, rows: &[NewEntry]) -> Result<(), StorageError> {
    let mut insert = conn.prepare_cached(
        "INSERT INTO inbox (device_id, seq, kind, message_id, receipt_state, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for row in rows {
        insert.execute(params![row.device, row.seq, row.kind, row.message_id, row.receipt_state, row.created_at])?;
    }
    Ok(())
}

/// Stores a batch's messages (idempotently) and their inbox entries; one outcome per
/// message, in order.
pub fn store_messages(conn: &Connection, messages: &[&NewMessage]) -> Result<Vec<SendOutcome>, StorageError> {
    let inserted = messages::insert_messages(conn, messages)?;

    // A group message's content is stored once; the fan-out worker makes the deliveries,
    // starting from a job committed with the message.
    for (m, inserted) in messages.iter().zip(&inserted) {
        if let (Inserted::New(id), Recipient::Group(_)) = (inserted, m.to) {
            conn.prepare_cached("INSERT INTO fanout_jobs (message_id, created_at) VALUES (?1, ?2)")?
                .execute(params![id, m.now])?;
        }
    }

    // A 1:1 message gets one inbox entry per device of its recipient.
    let recipients: Vec<Option<String>> = messages
        .iter()
        .zip(&inserted)
        .map(|(m, inserted)| match (inserted, m.to) {
            (Inserted::New(_), Recipient::User(user)) => Some(user.to_string()),
            _ => None,
        })
        .collect();
    let mut devices_of: HashMap<String, Vec<String>> = HashMap::new();
    for user in recipients.iter().flatten() {
        if devices_of.contains_key(user) {
            continue;
        }
        let devices = conn
            .prepare_cached("SELECT id FROM devices WHERE user_id = ?1 ORDER BY created_at, id")?
            .query_map([user], |row| row.get(0))?
            .collect::<Result<Vec<String>, _>>()?;
        devices_of.insert(user.clone(), devices);
    }
    let no_devices = Vec::new();
    let devices =
        |recipient: &Option<String>| recipient.as_ref().and_then(|u| devices_of.get(u)).unwrap_or(&no_devices);
    let mut counts: HashMap<String, u64> = HashMap::new();
    for device in recipients.iter().flat_map(devices) {
        *counts.entry(device.clone()).or_default() += 1;
    }
    let mut next = reserve_seqs(conn, counts)?;

    let mut rows = Vec::new();
    let mut outcomes = Vec::with_capacity(messages.len());
    for ((m, inserted), recipient) in messages.iter().zip(inserted).zip(&recipients) {
        let id = match inserted {
            Inserted::Duplicate(outcome) => {
                outcomes.push(outcome);
                continue;
            }
            Inserted::New(id) => id,
        };
        if let Recipient::Group(_) = m.to {
            outcomes.push(SendOutcome::Stored { sent_at: m.now, deliveries: Vec::new(), fanout: Some(id) });
            continue;
        }
        let delivery = Delivery {
            id: m.id,
            from_user: m.sender.user,
            from_device: m.sender.device,
            from_name: m.sender.name.clone(),
            to: m.to,
            body: m.body.clone(),
            sent_at: m.now,
        };
        let mut deliveries = Vec::new();
        for device in devices(recipient) {
            let seq = take_seq(&mut next, device);
            rows.push(NewEntry {
                device: device.clone(),
                seq,
                kind: 0,
                message_id: id,
                receipt_state: None,
                created_at: m.now,
            });
            deliveries.push(InboxEntry {
                device: uuid(device)?,
                seq,
                frame: ServerFrame::Message { seq, message: delivery.clone() },
            });
        }
        outcomes.push(SendOutcome::Stored { sent_at: m.now, deliveries, fanout: None });
    }
    insert_inbox(conn, &rows)?;
    Ok(outcomes)
}

/// A run of cumulative acks, `(device, up_to, now)` in job order: every entry up to
/// `up_to` in the device's inbox has arrived. The first ack of a message by any of its
/// recipient devices makes it DELIVERED. One outcome per ack, in order.
pub fn ack_all(conn: &Connection, acks: &[(DeviceId, u64, i64)]) -> Result<Vec<ReceiptsOutcome>, StorageError> {
    // Each ack takes the sequences above what its device acked earlier in the run: every
    // entry is then acked by the first ack that reaches it, at that ack's time, exactly
    // as if the acks ran one by one. The ranges of one device never overlap.
    let devices: Vec<String> = acks.iter().map(|(device, _, _)| device.to_string()).collect();
    let mut reached: HashMap<&str, u64> = HashMap::new();
    let mut acked_seq = conn.prepare_cached("SELECT acked_seq FROM devices WHERE id = ?1")?;
    let mut ranges: HashMap<&str, Vec<(u64, u64, usize)>> = HashMap::new();
    let mut rows: Vec<(&str, u64, u64, i64)> = Vec::new();
    for (job, ((_, up_to, now), device)) in acks.iter().zip(&devices).enumerate() {
        // Everything up to the device's stored `acked_seq` was marked by the ack that
        // raised it, so the range starts there: an ack then costs what it acknowledges,
        // not the length of the device's whole inbox.
        let above = match reached.get(device.as_str()) {
            Some(&above) => above,
            None => acked_seq.query_row([device], |row| row.get::<_, u64>(0)).optional()?.unwrap_or(0),
        };
        if *up_to > above {
            rows.push((device, above, *up_to, *now));
            ranges.entry(device).or_default().push((above, *up_to, job));
            reached.insert(device, *up_to);
        }
    }
    let mut outcomes: Vec<ReceiptsOutcome> = acks.iter().map(|_| ReceiptsOutcome::default()).collect();
    if rows.is_empty() {
        return Ok(outcomes);
    }
    let mut newly_acked: Vec<(String, u64, i64, i64)> = Vec::new();
    let mut mark = conn.prepare_cached(
        "UPDATE inbox SET acked_at = ?4
         WHERE device_id = ?1 AND seq > ?2 AND seq <= ?3 AND acked_at IS NULL
         RETURNING device_id, seq, kind, message_id",
    )?;
    for (device, lo, hi, acked) in &rows {
        let marked = mark.query_map(params![device, lo, hi, acked], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })?;
        for entry in marked {
            newly_acked.push(entry?);
        }
    }
    let mut highest = conn.prepare_cached("UPDATE devices SET acked_seq = MAX(acked_seq, ?2) WHERE id = ?1")?;
    for (device, up_to) in reached {
        highest.execute(params![device, up_to])?;
    }

    // Which ack took which message (receipts acked by the sender need nothing more).
    let mut taken: Vec<Vec<i64>> = vec![Vec::new(); acks.len()];
    for (device, seq, kind, message_id) in newly_acked {
        if kind != 0 {
            continue;
        }
        let job = ranges[device.as_str()]
            .iter()
            .find(|(above, up_to, _)| seq > *above && seq <= *up_to)
            .map(|(_, _, job)| *job)
            .expect("every acked entry lies in the range of one ack");
        taken[job].push(message_id);
    }
    let mut ids: Vec<i64> = taken.iter().flatten().copied().collect();
    if ids.is_empty() {
        return Ok(outcomes);
    }
    ids.sort_unstable();
    ids.dedup();
    let mut facts: HashMap<i64, MessageFacts> = HashMap::with_capacity(ids.len());
    for id in &ids {
        facts.insert(*id, MessageFacts::of(conn, *id)?);
    }
    let facts_of = |id: &i64| facts.get(id).ok_or(StorageError::Sqlite(rusqlite::Error::QueryReturnedNoRows));

    // 1:1 messages: DELIVERED, forward only (from SENT; never back from READ, never out
    // of FAILED), and a receipt in the sender's inbox for each that moved.
    let one_to_one: Vec<i64> =
        ids.iter().copied().filter(|id| facts.get(id).is_some_and(|f| matches!(f.to, Recipient::User(_)))).collect();
    let mut moved: HashSet<i64> = HashSet::new();
    let mut deliver = conn.prepare_cached("UPDATE messages SET state = 1 WHERE id = ?1 AND state = 0")?;
    for id in one_to_one {
        if deliver.execute([id])? == 1 {
            moved.insert(id);
        }
    }
    for job in &mut taken {
        job.sort_unstable();
    }
    let mut counts: HashMap<String, u64> = HashMap::new();
    for id in taken.iter().flatten().filter(|id| moved.contains(id)) {
        *counts.entry(facts_of(id)?.sender_device.clone()).or_default() += 1;
    }
    let mut next = reserve_seqs(conn, counts)?;
    let delivered = state_code(TickState::Delivered);
    let mut receipts = Vec::new();
    for ((outcome, ids), (device, _, now)) in outcomes.iter_mut().zip(&taken).zip(acks) {
        for id in ids {
            let facts = facts_of(id)?;
            outcome.changed.push(touched(facts, *device));
            // A message acked by two of its recipient's devices in one batch moves once.
            if !moved.remove(id) {
                continue;
            }
            let seq = take_seq(&mut next, &facts.sender_device);
            receipts.push(NewEntry {
                device: facts.sender_device.clone(),
                seq,
                kind: 1,
                message_id: *id,
                receipt_state: Some(delivered),
                created_at: *now,
            });
            let frame = ServerFrame::Receipt {
                seq,
                id: facts.id,
                state: TickState::Delivered,
                at: *now,
                reason: None,
                progress: None,
            };
            outcome.receipts.push(InboxEntry { device: uuid(&facts.sender_device)?, seq, frame });
        }
    }
    insert_inbox(conn, &receipts)?;

    // Group messages: counted for the whole run at once, replayed in job order (each may
    // complete its group's tick).
    let mut group_taken = Vec::new();
    for (job, ids) in taken.iter().enumerate() {
        for id in ids {
            let facts = facts_of(id)?;
            if matches!(facts.to, Recipient::Group(_)) {
                group_taken.push((job, *id, facts));
            }
        }
    }
    let nows: Vec<i64> = acks.iter().map(|(_, _, now)| *now).collect();
    group_acks::count_group_acks(conn, &group_taken, &nows, &mut outcomes)?;
    Ok(outcomes)
}
