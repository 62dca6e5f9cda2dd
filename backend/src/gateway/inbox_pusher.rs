//! Pushes one device's inbox over its connection, strictly in sequence order.
//!
//! First the backlog: everything after the sequence the device said it has, read from
//! the database page by page (this is the offline queue flushing, FIFO). Then `drained`.
//! Then live entries as they are committed, handed over by
//! [`Connections`](crate::delivery::connections::Connections) through the connection's
//! [`InboxFeed`]. Entries can overtake each other: a few that do are put back in order;
//! a gap that stays open (an entry expired, or was refused by a full feed) sends the
//! pusher back to the database to fill it. Either way the device never sees sequence
//! n+1 before n. The sender's merged group counts go the same way.
//!
//! A lab's own phone flushes its backlog at its lab's pace (see [`crate::lab::pace`]):
//! each entry waits at the lab's gate before it is pushed, and the push is traced, so
//! the student can watch (or step through) the offline queue emptying in order.
//!
//! The pusher is a task only while there is something to push: it starts when `welcome`
//! has been queued, flushes the backlog, and ends when the feed is empty; the next entry
//! starts it again. An idle connection (nearly all of them) has no pusher task and no
//! queued entries, only the feed's few words of state.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::ws::Message;
use bluetick_shared::frames::{DeviceId, GroupProgress, MessageId, ServerFrame, TraceStage};
use bluetick_shared::lab::LabId;
use tokio::task::JoinHandle;

use crate::delivery::progress::ProgressCounts;
use crate::state::AppState;
use crate::store::{InboxEntry, Store};

/// Entries read from the database per query.
const PAGE: u32 = 256;
/// Times a pusher lets other tasks run while waiting for an entry that was overtaken.
const GAP_YIELDS: usize = 4;
/// Overtaking entries held at most before the database fills the gap instead.
const MAX_EARLY: usize = 64;

/// What became of an entry offered to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Offered {
    Queued,
    /// `capacity` entries are already waiting: the client is not keeping up.
    Full,
    /// The connection is ending.
    Closed,
}

/// One connection's inbox side: entries and group counts waiting for the pusher, and
/// the pusher's place in the inbox.
pub(crate) struct InboxFeed {
    store: Store,
    device: DeviceId,
    socket_queue: flume::Sender<Message>,
    /// The highest sequence pushed on this connection: acks and reads beyond it are
    /// refused. Raised before the frame is queued.
    pushed_up_to: AtomicU64,
    /// Live entries that may wait at once before the client is called a slow consumer.
    capacity: usize,
    /// Set for a lab's own phone: the lab whose pace its backlog flushes at.
    lab: Option<Box<LabFlush>>,
    state: Mutex<FeedState>,
}

/// What a lab phone's flush needs: its lab, and the server's pacing and traces.
pub(crate) struct LabFlush {
    pub lab: LabId,
    pub state: AppState,
}

impl LabFlush {
    /// Waits at the lab's gate before backlog entry `entry` of `device` is pushed, and
    /// traces the push that follows.
    async fn before_push(&self, device: DeviceId, entry: &InboxEntry) {
        let ServerFrame::Message { seq, message } = &entry.frame else { return };
        let (sender, to, id) = (message.from_user, message.to, message.id);
        let gate = self.state.pacing.gate(Some(self.lab), id, TraceStage::Pushed, Some(device));
        let step = format!("inbox #{seq} is pushed from the offline queue");
        crate::delivery::wait_at(&self.state, gate, &step, sender, to, id, Some(device)).await;
        self.state.traces.emit(sender, to, id, TraceStage::Pushed, Some(device), || {
            format!("flushed from the inbox (the offline queue), in order: pushed as inbox #{seq}")
        });
    }
}

struct FeedState {
    entries: VecDeque<InboxEntry>,
    progress: ProgressCounts,
    pusher: Pusher,
    /// The backlog was flushed and `drained` queued.
    drained: bool,
}

enum Pusher {
    /// `welcome` is not queued yet: nothing may be pushed before it.
    NotStarted,
    /// Nothing to push, no task.
    Idle,
    Running(JoinHandle<()>),
    /// The connection is ending: nothing more is pushed.
    Closed,
}

impl InboxFeed {
    /// The feed of `device`'s connection, which has everything up to `resume_after`.
    pub(crate) fn new(
        store: Store,
        device: DeviceId,
        socket_queue: flume::Sender<Message>,
        resume_after: u64,
        capacity: usize,
        lab: Option<LabFlush>,
    ) -> InboxFeed {
        InboxFeed {
            store,
            device,
            socket_queue,
            pushed_up_to: AtomicU64::new(resume_after),
            capacity: capacity.max(1),
            lab: lab.map(Box::new),
            state: Mutex::new(FeedState {
                entries: VecDeque::new(),
                progress: ProgressCounts::default(),
                pusher: Pusher::NotStarted,
                drained: false,
            }),
        }
    }

    pub(crate) fn pushed_up_to(&self) -> u64 {
        self.pushed_up_to.load(Ordering::SeqCst)
    }

    /// Hands a committed entry to the pusher without waiting.
    pub(crate) fn offer(self: &Arc<Self>, entry: InboxEntry) -> Offered {
        let mut state = self.state.lock().unwrap();
        if let Pusher::Closed = state.pusher {
            return Offered::Closed;
        }
        if state.entries.len() >= self.capacity {
            return Offered::Full;
        }
        state.entries.push_back(entry);
        self.wake(&mut state);
        Offered::Queued
    }

    /// Records new counts of one of this device's group messages, to be sent merged.
    pub(crate) fn progress(self: &Arc<Self>, id: MessageId, progress: GroupProgress) {
        let mut state = self.state.lock().unwrap();
        if let Pusher::Closed = state.pusher {
            return;
        }
        if state.progress.merge(id, progress) {
            self.wake(&mut state);
        }
    }

    /// `welcome` is queued: the backlog may follow it now.
    pub(crate) fn start(self: &Arc<Self>) {
        let mut state = self.state.lock().unwrap();
        if let Pusher::NotStarted = state.pusher {
            state.pusher = Pusher::Idle;
            self.wake(&mut state);
        }
    }

    /// Stops pushing for good (the connection is ending) and drops what waits.
    pub(crate) fn close(&self) {
        let mut state = self.state.lock().unwrap();
        if let Pusher::Running(task) = std::mem::replace(&mut state.pusher, Pusher::Closed) {
            task.abort();
        }
        state.entries = VecDeque::new();
        state.progress = ProgressCounts::default();
    }

    /// Starts the pusher if it is idle: a running one finds the new work itself, since
    /// it only stops under this lock after seeing none.
    fn wake(self: &Arc<Self>, state: &mut FeedState) {
        if let Pusher::Idle = state.pusher {
            state.pusher = Pusher::Running(tokio::spawn(self.clone().run()));
        }
    }

    async fn run(self: Arc<Self>) {
        let mut pushed = self.pushed_up_to();
        // Only one pusher runs at a time, so nobody else changes `drained` meanwhile.
        if !self.state.lock().unwrap().drained {
            if !self.catch_up(&mut pushed).await || !self.push_frame(&ServerFrame::Drained { up_to: pushed }).await {
                return self.stop();
            }
            self.state.lock().unwrap().drained = true;
        }
        loop {
            let (progress, entry) = {
                let mut state = self.state.lock().unwrap();
                let progress = state.progress.take();
                let entry = if progress.is_empty() { state.entries.pop_front() } else { None };
                if progress.is_empty() && entry.is_none() {
                    // Idle until the next offer; an emptied burst frees its slots.
                    state.entries = VecDeque::new();
                    if let Pusher::Running(_) = state.pusher {
                        state.pusher = Pusher::Idle;
                    }
                    return;
                }
                (progress, entry)
            };
            for (id, progress) in progress {
                if !self.push_frame(&ServerFrame::GroupProgress { id, progress }).await {
                    return self.stop();
                }
            }
            let Some(entry) = entry else { continue };
            if entry.seq <= pushed {
                continue;
            }
            // Live entries, in order: a few that overtook each other are put back in
            // order here, and only a gap that stays open goes back to the database.
            let mut early = BTreeMap::from([(entry.seq, entry)]);
            while !early.is_empty() {
                if !early.contains_key(&(pushed + 1)) && !self.wait_for_gap(&mut early, pushed).await {
                    // What is missing is committed, so the database has it.
                    if !self.catch_up(&mut pushed).await {
                        return self.stop();
                    }
                    break;
                }
                while let Some(entry) = early.remove(&(pushed + 1)) {
                    let seq = entry.seq;
                    if !self.push(entry).await {
                        return self.stop();
                    }
                    pushed = seq;
                }
            }
        }
    }

    /// Pushes everything after `pushed` that the database has; false if the connection
    /// is gone.
    async fn catch_up(&self, pushed: &mut u64) -> bool {
        loop {
            let page = match self.store.inbox_after(self.device, *pushed, PAGE).await {
                Ok(page) => page,
                Err(e) => {
                    tracing::warn!(device = %self.device, error = %e, "inbox read failed; retrying");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            };
            let full = page.len() as u32 == PAGE;
            for entry in page {
                let seq = entry.seq;
                if let Some(lab) = &self.lab {
                    lab.before_push(self.device, &entry).await;
                }
                if !self.push(entry).await {
                    return false;
                }
                *pushed = seq;
            }
            if !full {
                return true;
            }
        }
    }

    /// An entry skipped ahead of `pushed`. Entries of one batch are offered by different
    /// tasks and can overtake each other by a few microseconds, so take what else the
    /// feed holds and let those tasks run (a yield, not a timer) a few times: true if
    /// the entry after `pushed` turned up. If not, the gap is real (an entry expired, or
    /// a full feed refused it) and the database fills it.
    async fn wait_for_gap(&self, early: &mut BTreeMap<u64, InboxEntry>, pushed: u64) -> bool {
        for _ in 0..GAP_YIELDS {
            {
                let mut state = self.state.lock().unwrap();
                while let Some(entry) = state.entries.pop_front() {
                    if entry.seq > pushed {
                        early.insert(entry.seq, entry);
                    }
                }
            }
            if early.contains_key(&(pushed + 1)) {
                return true;
            }
            if early.len() > MAX_EARLY {
                return false;
            }
            tokio::task::yield_now().await;
        }
        false
    }

    /// The socket is gone: later entries find the feed closed and stay in the inbox.
    fn stop(&self) {
        let mut state = self.state.lock().unwrap();
        state.pusher = Pusher::Closed;
        state.entries = VecDeque::new();
    }

    async fn push(&self, entry: InboxEntry) -> bool {
        // Raise the ack ceiling before the frame can reach the client.
        self.pushed_up_to.fetch_max(entry.seq, Ordering::SeqCst);
        self.push_frame(&entry.frame).await
    }

    async fn push_frame(&self, frame: &ServerFrame) -> bool {
        self.socket_queue.send_async(crate::peer::text_message(frame)).await.is_ok()
    }
}
