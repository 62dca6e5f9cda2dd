//! The single writer: every message, ack, read and expiry is committed by this one thread,
//! in batches.
//!
//! Why one writer: SQLite allows one writer at a time anyway, and a queue in front of it
//! turns lock contention into batching. Why batches (group commit): with
//! `synchronous = FULL` every commit waits for an fsync; taking everything that queued up
//! during the last fsync and committing it together makes the fsync cost per batch, not
//! per message. Callers still get their answer only after *their* batch committed, so
//! "SENT only after the commit" holds.
//!
//! If a batch fails, it is rolled back and each of its jobs is retried alone, so one bad
//! job cannot fail its neighbours.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bluetick_shared::frames::DeviceId;
use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::{mpsc, oneshot};

use super::{batch, fanout, receipts};
use crate::store::commit_log::CommitLog;
use crate::store::{FanoutOutcome, NewMessage, Pending, ReceiptsOutcome, SendOutcome, StorageError};

/// Jobs taken into one transaction at most.
const MAX_BATCH: usize = 512;
/// Jobs waiting for the writer at most; senders wait (backpressure) beyond that.
const QUEUE_CAPACITY: usize = 4096;

#[derive(Debug)]
enum Op {
    Send(NewMessage),
    Ack {
        device: DeviceId,
        up_to: u64,
        now: i64,
    },
    Read {
        device: DeviceId,
        seqs: Vec<u64>,
        now: i64,
    },
    Expire {
        now: i64,
        limit: i64,
    },
    Wakeup {
        device: DeviceId,
        seq: u64,
        now: i64,
    },
    Fanout {
        job: i64,
        limit: i64,
        now: i64,
    },
    /// Commit what came before, then take no more jobs.
    Stop,
}

#[derive(Debug)]
enum Output {
    Send(SendOutcome),
    Receipts(ReceiptsOutcome),
    Fanout(FanoutOutcome),
    Done,
}

struct Job {
    op: Op,
    reply: oneshot::Sender<Result<Output, StorageError>>,
}

/// The handle to the writer thread; cheap to clone.
#[derive(Clone, Debug)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    thread: Arc<Mutex<Option<JoinHandle<()>>>>,
    /// Each committed batch's size and time.
    pub(crate) commits: Arc<CommitLog>,
    /// Held by a test while it queues jobs that must land in one batch.
    #[cfg(test)]
    gate: Arc<Mutex<()>>,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.op.fmt(f)
    }
}

impl Writer {
    /// Opens the writer's own connection to the database at `path` (already migrated)
    /// and starts its thread.
    pub(crate) fn start(path: &Path) -> Result<Writer, StorageError> {
        let conn = Connection::open(path)?;
        // The same promises as the pool's connections: WAL, and an fsync before a commit
        // returns (see the module doc of `sqlite`).
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")?;
        conn.busy_timeout(Duration::from_secs(5))?;
        // Every statement the writer runs, prepared once.
        conn.set_prepared_statement_cache_capacity(64);
        let (jobs, queue) = mpsc::channel(QUEUE_CAPACITY);
        #[cfg(test)]
        let (gate, batch_gate) = {
            let gate = Arc::new(Mutex::new(()));
            (gate.clone(), Some(gate))
        };
        #[cfg(not(test))]
        let batch_gate = None;
        let commits = Arc::new(CommitLog::default());
        let log = commits.clone();
        let thread = std::thread::Builder::new()
            .name("bluetick-writer".into())
            .spawn(move || run(conn, queue, batch_gate, &log))
            .map_err(StorageError::WriterThread)?;
        Ok(Writer {
            jobs,
            commits,
            thread: Arc::new(Mutex::new(Some(thread))),
            #[cfg(test)]
            gate,
        })
    }

    /// Holds the next batch open: jobs queued until the guard drops join it.
    #[cfg(test)]
    pub fn hold(&self) -> std::sync::MutexGuard<'_, ()> {
        self.gate.lock().expect("batch gate")
    }

    async fn enqueue(&self, op: Op) -> Result<oneshot::Receiver<Result<Output, StorageError>>, StorageError> {
        let (reply, answer) = oneshot::channel();
        self.jobs.send(Job { op, reply }).await.map_err(|_| StorageError::WriterGone)?;
        Ok(answer)
    }

    async fn submit(&self, op: Op) -> Result<Output, StorageError> {
        self.enqueue(op).await?.await.map_err(|_| StorageError::WriterGone)?
    }

    /// Stores a message (idempotently) and its inbox entries, waiting for the commit (the
    /// gateway queues with [`Writer::enqueue_send`] instead, so it never waits in line).
    #[cfg(test)]
    pub async fn send(&self, message: NewMessage) -> Result<SendOutcome, StorageError> {
        self.enqueue_send(message).await?.await
    }

    /// Queues a message for storing and returns at once with a future of the outcome.
    /// Jobs are applied in the order they were queued, so a connection that queues its
    /// sends one after another keeps their order while it waits for none of them.
    pub async fn enqueue_send(&self, message: NewMessage) -> Result<Pending<SendOutcome>, StorageError> {
        let answer = self.enqueue(Op::Send(message)).await?;
        Ok(Box::pin(async move {
            match answer.await.map_err(|_| StorageError::WriterGone)?? {
                Output::Send(outcome) => Ok(outcome),
                other => unreachable!("send answered with {other:?}"),
            }
        }))
    }

    /// Queues a cumulative ack; the future yields the receipts it produced.
    pub async fn enqueue_ack(
        &self,
        device: DeviceId,
        up_to: u64,
        now: i64,
    ) -> Result<Pending<ReceiptsOutcome>, StorageError> {
        let answer = self.enqueue(Op::Ack { device, up_to, now }).await?;
        Ok(Box::pin(async move {
            match answer.await.map_err(|_| StorageError::WriterGone)?? {
                Output::Receipts(outcome) => Ok(outcome),
                other => unreachable!("ack answered with {other:?}"),
            }
        }))
    }

    /// Read receipts from `device`.
    pub async fn read(&self, device: DeviceId, seqs: Vec<u64>, now: i64) -> Result<ReceiptsOutcome, StorageError> {
        self.receipts(Op::Read { device, seqs, now }).await
    }

    /// Dead-letters up to `limit` expired messages.
    pub async fn expire(&self, now: i64, limit: i64) -> Result<ReceiptsOutcome, StorageError> {
        self.receipts(Op::Expire { now, limit }).await
    }

    /// Records a push wake-up for an offline device.
    pub async fn wakeup(&self, device: DeviceId, seq: u64, now: i64) -> Result<(), StorageError> {
        self.submit(Op::Wakeup { device, seq, now }).await.map(|_| ())
    }

    /// Fans a group message out to up to `limit` more members, in one transaction.
    pub async fn fanout(&self, job: i64, limit: i64, now: i64) -> Result<FanoutOutcome, StorageError> {
        match self.submit(Op::Fanout { job, limit, now }).await? {
            Output::Fanout(outcome) => Ok(outcome),
            other => unreachable!("fan-out answered with {other:?}"),
        }
    }

    async fn receipts(&self, op: Op) -> Result<ReceiptsOutcome, StorageError> {
        match self.submit(op).await? {
            Output::Receipts(outcome) => Ok(outcome),
            other => unreachable!("receipt job answered with {other:?}"),
        }
    }

    /// Commits everything already queued, then stops the thread.
    pub async fn shutdown(&self) {
        let thread = self.thread.lock().expect("writer thread lock").take();
        let Some(thread) = thread else { return };
        let _ = self.submit(Op::Stop).await;
        let _ = tokio::task::spawn_blocking(move || thread.join()).await;
    }
}

/// The writer thread: takes whatever queued up while the last batch committed, up to
/// [`MAX_BATCH`], and commits it as one transaction.
///
/// Why a thread of its own with a synchronous connection: every statement is then a
/// plain function call into SQLite, not a hand-off to a worker thread and back, and the
/// thread sleeps only where it must, in the fsync of each commit.
fn run(mut conn: Connection, mut queue: mpsc::Receiver<Job>, gate: Option<Arc<Mutex<()>>>, log: &CommitLog) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while let Some(first) = queue.blocking_recv() {
        batch.push(first);
        if let Some(gate) = &gate {
            drop(gate.lock());
        }
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        // Jobs queued after a stop are still committed (their callers are waiting);
        // closing the queue refuses new ones, and the loop ends once it is drained.
        if batch.iter().any(|job| matches!(job.op, Op::Stop)) {
            queue.close();
        }
        commit_batch(&mut conn, &mut batch, log);
    }
}

fn commit_batch(conn: &mut Connection, batch: &mut Vec<Job>, log: &CommitLog) {
    let started = Instant::now();
    match apply_all(conn, batch) {
        Ok(outputs) => {
            let messages = batch.iter().filter(|job| matches!(job.op, Op::Send(_))).count();
            log.record(Instant::now(), started.elapsed(), messages);
            // Answer in the order the jobs were applied (sends first, see `apply_all`),
            // which is the order their inbox sequences were taken: live entries then
            // tend to reach each device's pusher in sequence, and it need not go back to
            // the database to fill a gap.
            let (sends, others): (Vec<_>, Vec<_>) =
                batch.drain(..).zip(outputs).partition(|(job, _)| matches!(job.op, Op::Send(_)));
            for (job, output) in sends.into_iter().chain(others) {
                let _ = job.reply.send(Ok(output));
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, jobs = batch.len(), "batch failed; retrying its jobs one by one");
            for job in batch.drain(..) {
                let mut single = vec![job];
                let result = apply_all(conn, &single);
                let job = single.pop().unwrap();
                let _ = job.reply.send(result.map(|mut outputs| outputs.pop().unwrap()));
            }
        }
    }
}

/// Applies every job in one transaction; all or nothing.
///
/// Sends go first, all together, then the other jobs in order with each run of acks
/// together (see [`batch`] for why). Taking the sends first changes no outcome: nothing
/// else in a batch can name what a send creates. Acks, reads and wake-ups name sequences
/// already pushed, so committed by an earlier batch (the gateway refuses an ack beyond
/// what it pushed), and fan-out starts only once its message is SENT. It only changes how
/// a device's new messages and new receipts of the same commit interleave in its inbox,
/// and no one could have told the difference.
fn apply_all(conn: &mut Connection, jobs: &[Job]) -> Result<Vec<Output>, StorageError> {
    // IMMEDIATE: take the write lock at BEGIN, so a pool connection's write (a
    // registration, say) can only make this wait, never fail halfway.
    let started = Instant::now();
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outputs: Vec<Option<Output>> = jobs.iter().map(|_| None).collect();
    let (send_jobs, messages): (Vec<usize>, Vec<&NewMessage>) = jobs
        .iter()
        .enumerate()
        .filter_map(|(i, job)| match &job.op {
            Op::Send(message) => Some((i, message)),
            _ => None,
        })
        .unzip();
    if !messages.is_empty() {
        for (i, outcome) in send_jobs.into_iter().zip(batch::store_messages(&tx, &messages)?) {
            outputs[i] = Some(Output::Send(outcome));
        }
    }
    let mut i = 0;
    while i < jobs.len() {
        let output = match &jobs[i].op {
            Op::Send(_) => {
                i += 1;
                continue;
            }
            Op::Ack { .. } => {
                let mut run = Vec::new();
                let mut acks = Vec::new();
                while let Some(job) = jobs.get(i) {
                    match job.op {
                        Op::Ack { device, up_to, now } => {
                            run.push(i);
                            acks.push((device, up_to, now));
                        }
                        Op::Send(_) => {}
                        _ => break,
                    }
                    i += 1;
                }
                for (j, outcome) in run.into_iter().zip(batch::ack_all(&tx, &acks)?) {
                    outputs[j] = Some(Output::Receipts(outcome));
                }
                continue;
            }
            Op::Read { device, seqs, now } => Output::Receipts(receipts::read(&tx, *device, seqs, *now)?),
            Op::Expire { now, limit } => Output::Receipts(receipts::expire(&tx, *now, *limit)?),
            Op::Fanout { job, limit, now } => Output::Fanout(fanout::fanout_batch(&tx, *job, *limit, *now)?),
            Op::Wakeup { device, seq, now } => {
                receipts::record_wakeup(&tx, *device, *seq, *now)?;
                Output::Done
            }
            Op::Stop => Output::Done,
        };
        outputs[i] = Some(output);
        i += 1;
    }
    let applied = started.elapsed();
    tx.commit()?;
    // The two costs of a batch, for finding where a message's time goes (shown with
    // RUST_LOG=bluetick_backend::store=debug): the statements, then the commit's fsync.
    tracing::debug!(
        jobs = jobs.len(),
        apply_us = applied.as_micros() as u64,
        commit_us = (started.elapsed() - applied).as_micros() as u64,
        "batch committed"
    );
    Ok(outputs.into_iter().map(|output| output.expect("every job was applied")).collect())
}
