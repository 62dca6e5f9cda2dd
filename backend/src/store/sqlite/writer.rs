//! The single writer: every message, ack, read and expiry is committed by this one task,
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

use bluetick_shared::frames::DeviceId;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{Connection, SqliteConnection};
use std::sync::{Arc, Mutex};

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::{batch, fanout, receipts};
use crate::store::{FanoutOutcome, NewMessage, Pending, ReceiptsOutcome, SendOutcome, StorageError};

/// Jobs taken into one transaction at most.
const MAX_BATCH: usize = 512;
/// Jobs waiting for the writer at most; senders wait (backpressure) beyond that.
const QUEUE_CAPACITY: usize = 4096;

#[derive(Debug)]
enum Op {
    Send(NewMessage),
    Ack { device: DeviceId, up_to: u64, now: i64 },
    Read { device: DeviceId, seqs: Vec<u64>, now: i64 },
    Expire { now: i64, limit: i64 },
    Wakeup { device: DeviceId, seq: u64, now: i64 },
    Fanout { job: i64, limit: i64, now: i64 },
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

/// The handle to the writer task; cheap to clone.
#[derive(Clone, Debug)]
pub struct Writer {
    jobs: mpsc::Sender<Job>,
    task: Arc<Mutex<Option<JoinHandle<()>>>>,
    stop: CancellationToken,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.op.fmt(f)
    }
}

impl Writer {
    pub(crate) async fn start(options: SqliteConnectOptions) -> Result<Writer, StorageError> {
        let conn = SqliteConnection::connect_with(&options).await?;
        let (jobs, queue) = mpsc::channel(QUEUE_CAPACITY);
        let stop = CancellationToken::new();
        let task = tokio::spawn(run(conn, queue, stop.clone()));
        Ok(Writer { jobs, task: Arc::new(Mutex::new(Some(task))), stop })
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

    /// Commits everything already queued, then stops the task.
    pub async fn shutdown(&self) {
        self.stop.cancel();
        let task = self.task.lock().expect("writer task lock").take();
        if let Some(task) = task {
            let _ = task.await;
        }
    }
}

async fn run(mut conn: SqliteConnection, mut queue: mpsc::Receiver<Job>, stop: CancellationToken) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let first = tokio::select! {
            job = queue.recv() => job,
            _ = stop.cancelled() => {
                queue.close();
                queue.recv().await
            }
        };
        let Some(first) = first else { break };
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        commit_batch(&mut conn, &mut batch).await;
    }
    let _ = conn.close().await;
}

async fn commit_batch(conn: &mut SqliteConnection, batch: &mut Vec<Job>) {
    match apply_all(conn, batch).await {
        Ok(outputs) => {
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
                let result = apply_all(conn, &single).await;
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
async fn apply_all(conn: &mut SqliteConnection, jobs: &[Job]) -> Result<Vec<Output>, StorageError> {
    let mut tx = conn.begin().await?;
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
        for (i, outcome) in send_jobs.into_iter().zip(batch::store_messages(&mut tx, &messages).await?) {
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
                for (j, outcome) in run.into_iter().zip(batch::ack_all(&mut tx, &acks).await?) {
                    outputs[j] = Some(Output::Receipts(outcome));
                }
                continue;
            }
            Op::Read { device, seqs, now } => Output::Receipts(receipts::read(&mut tx, *device, seqs, *now).await?),
            Op::Expire { now, limit } => Output::Receipts(receipts::expire(&mut tx, *now, *limit).await?),
            Op::Fanout { job, limit, now } => Output::Fanout(fanout::fanout_batch(&mut tx, *job, *limit, *now).await?),
            Op::Wakeup { device, seq, now } => {
                receipts::record_wakeup(&mut tx, *device, *seq, *now).await?;
                Output::Done
            }
        };
        outputs[i] = Some(output);
        i += 1;
    }
    tx.commit().await?;
    Ok(outputs.into_iter().map(|output| output.expect("every job was applied")).collect())
}
