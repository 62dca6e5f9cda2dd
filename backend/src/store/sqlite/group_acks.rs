//! Counting a run of acks' group deliveries once per message instead of once per ack.
//!
//! Why: when a 1,024-member group message fans out, up to 1,023 member devices ack it
//! within a few batches, and while fan-out runs the progress query counts the entries
//! made so far: counted per ack, a big group's acks would cost O(N²).
//!
//! What holds as before: each message's counter moves by exactly the number of its
//! entries acked in the run; every ack still reports the progress as it stood right after
//! that ack (the counter before the run plus the run's acks up to and including it), in
//! job order; and the tick advances at the first ack that completes it, with that ack's
//! time, as when acks were counted one by one (advancing is forward only, so the later
//! acks that would have tried again change nothing).

use std::collections::HashMap;

use bluetick_shared::frames::{GroupProgress, TickState};
use rusqlite::{Connection, OptionalExtension, params};

use super::messages::MessageFacts;
use super::receipts::advance_and_receipt;
use super::uuid;
use crate::store::{ReceiptsOutcome, StorageError};

/// A group message's counts as stored.
struct ProgressRow {
    id: i64,
    delivered_count: i64,
    read_count: i64,
    /// Set once fan-out is done.
    recipients_total: Option<i64>,
    /// Entries made so far (the total once fan-out is done).
    so_far: i64,
}

/// Counts one member delivery for each `(job, message)` in `taken`, given in job order,
/// for group messages only. `nows[job]` is that ack's time.
pub(super) fn count_group_acks(
    conn: &Connection,
    taken: &[(usize, i64, &MessageFacts)],
    nows: &[i64],
    outcomes: &mut [ReceiptsOutcome],
) -> Result<(), StorageError> {
    if taken.is_empty() {
        return Ok(());
    }
    let mut counts: HashMap<i64, i64> = HashMap::new();
    for (_, id, _) in taken {
        *counts.entry(*id).or_default() += 1;
    }
    let mut count = conn.prepare_cached("UPDATE messages SET delivered_count = delivered_count + ?2 WHERE id = ?1")?;
    // As in `receipts::group_progress`: count the entries made so far only while fan-out runs.
    let mut read_progress = conn.prepare_cached(
        "SELECT delivered_count, read_count, recipients_total,
                CASE WHEN recipients_total IS NULL
                     THEN (SELECT COUNT(*) FROM inbox WHERE message_id = m.id AND kind = 0)
                          + (SELECT COUNT(*) FROM dead_letters WHERE message_id = m.id)
                     ELSE recipients_total END AS so_far
         FROM messages m WHERE id = ?1 AND group_id IS NOT NULL",
    )?;
    let mut progress = Vec::with_capacity(counts.len());
    for (&id, &n) in &counts {
        count.execute(params![id, n])?;
        let row = read_progress
            .query_row([id], |row| {
                Ok(ProgressRow {
                    id,
                    delivered_count: row.get(0)?,
                    read_count: row.get(1)?,
                    recipients_total: row.get(2)?,
                    so_far: row.get(3)?,
                })
            })
            .optional()?;
        progress.extend(row);
    }

    /// One message's counts as the run's acks are replayed in job order.
    struct Replay {
        delivered: i64,
        progress: GroupProgress,
        delivered_tried: bool,
        read_tried: bool,
    }
    let mut replay: HashMap<i64, Replay> = HashMap::with_capacity(progress.len());
    for row in progress {
        let progress = GroupProgress {
            delivered: 0,
            read: row.read_count as u32,
            total: row.recipients_total.unwrap_or(row.so_far) as u32,
            fanned_out: row.recipients_total.is_some(),
        };
        let before_run = row.delivered_count - counts[&row.id];
        replay.insert(row.id, Replay { delivered: before_run, progress, delivered_tried: false, read_tried: false });
    }
    for (job, id, facts) in taken {
        let Some(r) = replay.get_mut(id) else { continue };
        r.delivered += 1;
        r.progress.delivered = r.delivered as u32;
        let outcome = &mut outcomes[*job];
        let now = nows[*job];
        let p = r.progress;
        if p.fanned_out && p.delivered >= p.total && !r.delivered_tried {
            r.delivered_tried = true;
            if let Some((_, receipt)) = advance_and_receipt(conn, *id, TickState::Delivered, None, now)? {
                outcome.receipts.push(receipt);
            }
        }
        if p.fanned_out && p.read >= p.total && !r.read_tried {
            r.read_tried = true;
            if let Some((_, receipt)) = advance_and_receipt(conn, *id, TickState::Read, None, now)? {
                outcome.receipts.push(receipt);
            }
        }
        outcome.progress.push((uuid(&facts.sender_device)?, facts.id, p));
    }
    Ok(())
}
