//! The two hot writes, sends and acks, for a whole batch at a time, in a handful of
//! statements instead of a handful per job.
//!
//! Why: sqlx runs SQLite on a thread of its own and every statement is a round trip to
//! it (a channel send, a wake-up, a context switch). Written job by job, one message cost
//! about a dozen such hand-offs across its three writes (the send, the recipient's ack,
//! the sender's ack of the receipt), and the hand-offs, not SQLite, took most of the
//! server's CPU. Here each step is one statement for every job of its kind in the batch.
//!
//! What holds as before: the idempotent insert decides which sends are new (see
//! [`messages::insert_messages`]); sequences are taken from `devices.last_seq` and numbered in
//! job order, so each inbox stays gap-free and a sender's messages keep their order; an
//! ack covers exactly the entries it would have covered alone; and the whole batch is
//! still one transaction that commits before any caller hears back.

use std::collections::{HashMap, HashSet};

use bluetick_shared::frames::{Delivery, DeviceId, Recipient, ServerFrame, TickState};
use sqlx::SqliteConnection;

use super::group_acks;
use super::json_rows;
use super::messages::{self, FactsRow, Inserted, MessageFacts, touched};
use super::receipts::state_code;
use super::uuid;
use crate::store::{InboxEntry, NewMessage, ReceiptsOutcome, SendOutcome};

/// One inbox entry to insert, as a JSON array for `json_each` (one statement per batch):
/// device, seq, kind (0 message, 1 receipt), message id, receipt state, created at.
pub(super) type NewEntry = (String, u64, i64, i64, Option<i64>, i64);

/// A message's row id and its [`FactsRow`].
#[derive(sqlx::FromRow)]
struct IdAndFacts {
    id: i64,
    #[sqlx(flatten)]
    facts: FactsRow,
}

/// Takes `n` more sequences for each (distinct) device in one statement and answers each
/// device's first new one; callers number their entries from there in job order.
pub(super) async fn reserve_seqs(
    conn: &mut SqliteConnection,
    counts: HashMap<String, u64>,
) -> Result<HashMap<String, u64>, sqlx::Error> {
    if counts.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(&String, u64)> = counts.iter().map(|(device, n)| (device, *n)).collect();
    let last: Vec<(String, i64)> = sqlx::query_as(
        "UPDATE devices SET last_seq = last_seq + c.n
         FROM (SELECT value ->> 0 AS device, value ->> 1 AS n FROM json_each(?1)) AS c
         WHERE devices.id = c.device
         RETURNING id, last_seq",
    )
    .bind(json_rows(&rows))
    .fetch_all(&mut *conn)
    .await?;
    if last.len() != counts.len() {
        return Err(sqlx::Error::RowNotFound); // an entry for a device that does not exist
    }
    Ok(last.into_iter().map(|(device, last)| (device.clone(), last as u64 + 1 - counts[&device])).collect())
}

/// The next of the sequences reserved for `device`.
pub(super) fn take_seq(next: &mut HashMap<String, u64>, device: &str) -> u64 {
    let slot = next.get_mut(device).expect("a sequence was reserved for every entry");
    *slot += 1;
    *slot - 1
}

pub(super) async fn insert_inbox(conn: &mut SqliteConnection, rows: &[NewEntry]) -> Result<(), sqlx::Error> {
    if rows.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO inbox (device_id, seq, kind, message_id, receipt_state, created_at)
         SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3, value ->> 4, value ->> 5 FROM json_each(?1)",
    )
    .bind(json_rows(rows))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores a batch's messages (idempotently) and their inbox entries; one outcome per
/// message, in order.
pub async fn store_messages(
    conn: &mut SqliteConnection,
    messages: &[&NewMessage],
) -> Result<Vec<SendOutcome>, sqlx::Error> {
    let inserted = messages::insert_messages(conn, messages).await?;

    // A group message's content is stored once; the fan-out worker makes the deliveries,
    // starting from a job committed with the message.
    let fanouts: Vec<(i64, i64)> = messages
        .iter()
        .zip(&inserted)
        .filter_map(|(m, inserted)| match (inserted, m.to) {
            (Inserted::New(id), Recipient::Group(_)) => Some((*id, m.now)),
            _ => None,
        })
        .collect();
    if !fanouts.is_empty() {
        sqlx::query(
            "INSERT INTO fanout_jobs (message_id, created_at) SELECT value ->> 0, value ->> 1 FROM json_each(?1)",
        )
        .bind(json_rows(&fanouts))
        .execute(&mut *conn)
        .await?;
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
    let mut users: Vec<&String> = recipients.iter().flatten().collect();
    users.sort_unstable();
    users.dedup();
    let mut devices_of: HashMap<String, Vec<String>> = HashMap::new();
    if !users.is_empty() {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT user_id, id FROM devices WHERE user_id IN (SELECT value FROM json_each(?1))
             ORDER BY user_id, created_at, id",
        )
        .bind(json_rows(&users))
        .fetch_all(&mut *conn)
        .await?;
        for (user, device) in rows {
            devices_of.entry(user).or_default().push(device);
        }
    }
    let no_devices = Vec::new();
    let devices =
        |recipient: &Option<String>| recipient.as_ref().and_then(|u| devices_of.get(u)).unwrap_or(&no_devices);
    let mut counts: HashMap<String, u64> = HashMap::new();
    for device in recipients.iter().flat_map(devices) {
        *counts.entry(device.clone()).or_default() += 1;
    }
    let mut next = reserve_seqs(conn, counts).await?;

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
            rows.push((device.clone(), seq, 0, id, None, m.now));
            deliveries.push(InboxEntry {
                device: uuid(device)?,
                seq,
                frame: ServerFrame::Message { seq, message: delivery.clone() },
            });
        }
        outcomes.push(SendOutcome::Stored { sent_at: m.now, deliveries, fanout: None });
    }
    insert_inbox(conn, &rows).await?;
    Ok(outcomes)
}

/// A run of cumulative acks, `(device, up_to, now)` in job order: every entry up to
/// `up_to` in the device's inbox has arrived. The first ack of a message by any of its
/// recipient devices makes it DELIVERED. One outcome per ack, in order.
pub async fn ack_all(
    conn: &mut SqliteConnection,
    acks: &[(DeviceId, u64, i64)],
) -> Result<Vec<ReceiptsOutcome>, sqlx::Error> {
    // Each ack takes the sequences above what its device acked earlier in the run: every
    // entry is then acked by the first ack that reaches it, at that ack's time, exactly
    // as if the acks ran one by one. The ranges of one device never overlap.
    let devices: Vec<String> = acks.iter().map(|(device, _, _)| device.to_string()).collect();
    let mut reached: HashMap<&str, u64> = HashMap::new();
    let mut ranges: HashMap<&str, Vec<(u64, u64, usize)>> = HashMap::new();
    let mut rows: Vec<(&str, u64, u64, i64)> = Vec::new();
    for (job, ((_, up_to, now), device)) in acks.iter().zip(&devices).enumerate() {
        let above = reached.get(device.as_str()).copied().unwrap_or(0);
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
    let newly_acked: Vec<(String, i64, i64, i64)> = sqlx::query_as(
        "UPDATE inbox SET acked_at = c.acked
         FROM (SELECT value ->> 0 AS device, value ->> 1 AS lo, value ->> 2 AS hi, value ->> 3 AS acked
               FROM json_each(?1)) AS c
         WHERE inbox.device_id = c.device AND inbox.seq > c.lo AND inbox.seq <= c.hi AND inbox.acked_at IS NULL
         RETURNING device_id, seq, kind, message_id",
    )
    .bind(json_rows(&rows))
    .fetch_all(&mut *conn)
    .await?;
    let highest: Vec<(&str, u64)> = reached.into_iter().collect();
    sqlx::query(
        "UPDATE devices SET acked_seq = MAX(acked_seq, c.up_to)
         FROM (SELECT value ->> 0 AS device, value ->> 1 AS up_to FROM json_each(?1)) AS c
         WHERE devices.id = c.device",
    )
    .bind(json_rows(&highest))
    .execute(&mut *conn)
    .await?;

    // Which ack took which message (receipts acked by the sender need nothing more).
    let mut taken: Vec<Vec<i64>> = vec![Vec::new(); acks.len()];
    for (device, seq, kind, message_id) in newly_acked {
        if kind != 0 {
            continue;
        }
        let seq = seq as u64;
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
    let facts_rows: Vec<IdAndFacts> = sqlx::query_as(
        "SELECT id, client_id, sender_user, sender_device, recipient_user, group_id
         FROM messages WHERE id IN (SELECT value FROM json_each(?1))",
    )
    .bind(json_rows(&ids))
    .fetch_all(&mut *conn)
    .await?;
    let mut facts: HashMap<i64, MessageFacts> = HashMap::with_capacity(facts_rows.len());
    for row in facts_rows {
        facts.insert(row.id, MessageFacts::from_row(row.facts)?);
    }
    let facts_of = |id: &i64| facts.get(id).ok_or(sqlx::Error::RowNotFound);

    // 1:1 messages: DELIVERED, forward only (from SENT; never back from READ, never out
    // of FAILED), and a receipt in the sender's inbox for each that moved.
    let one_to_one: Vec<i64> =
        ids.iter().copied().filter(|id| facts.get(id).is_some_and(|f| matches!(f.to, Recipient::User(_)))).collect();
    let mut moved: HashSet<i64> = HashSet::new();
    if !one_to_one.is_empty() {
        let rows: Vec<i64> = sqlx::query_scalar(
            "UPDATE messages SET state = 1 WHERE id IN (SELECT value FROM json_each(?1)) AND state = 0 RETURNING id",
        )
        .bind(json_rows(&one_to_one))
        .fetch_all(&mut *conn)
        .await?;
        moved.extend(rows);
    }
    for job in &mut taken {
        job.sort_unstable();
    }
    let mut counts: HashMap<String, u64> = HashMap::new();
    for id in taken.iter().flatten().filter(|id| moved.contains(id)) {
        *counts.entry(facts_of(id)?.sender_device.clone()).or_default() += 1;
    }
    let mut next = reserve_seqs(conn, counts).await?;
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
            receipts.push((facts.sender_device.clone(), seq, 1, *id, Some(delivered), *now));
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
    insert_inbox(conn, &receipts).await?;

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
    group_acks::count_group_acks(conn, &group_taken, &nows, &mut outcomes).await?;
    Ok(outcomes)
}
