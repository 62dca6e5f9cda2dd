//! A bounded many-to-one queue that holds no memory while it is empty.
//!
//! Every connection has queues that are empty nearly all the time (an idle device is
//! sent nothing for minutes), and there are tens of thousands of connections. tokio's
//! `mpsc` channel allocates its first block of 32 slots up front and keeps its blocks,
//! plus a cache-padded header: about 2 KiB per queue of WebSocket messages before a
//! single frame is sent. This queue is a `VecDeque` behind a mutex, a semaphore for the
//! free slots and a `Notify` for the receiver: about 150 bytes while empty, the slots
//! allocated only while frames wait and freed again once the queue empties, so a burst
//! (an offline queue flushing) costs memory only while it lasts.
//!
//! The API and the errors are tokio's, so callers read the same: `send` waits for a free
//! slot, `try_send` never waits and says `Full` or `Closed`, `recv` answers `None` once
//! every sender is gone and the queue is empty; dropping the receiver closes the queue
//! and makes every send fail.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::mpsc::error::{SendError, TrySendError};
use tokio::sync::{Notify, Semaphore, TryAcquireError};

/// A queue that holds at most `capacity` items (at least one).
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(Shared {
        items: Mutex::new(VecDeque::new()),
        room: Semaphore::new(capacity.max(1)),
        ready: Notify::new(),
        senders: AtomicUsize::new(1),
    });
    (Sender { shared: shared.clone() }, Receiver { shared })
}

struct Shared<T> {
    items: Mutex<VecDeque<T>>,
    /// One permit per free slot; closed when the receiver is dropped.
    room: Semaphore,
    /// Wakes the receiver after a push, or when the last sender goes.
    ready: Notify,
    senders: AtomicUsize,
}

pub struct Sender<T> {
    shared: Arc<Shared<T>>,
}

pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Sender<T> {
    /// Queues `item`, waiting for a free slot; fails (handing the item back) once the
    /// receiver is gone.
    pub async fn send(&self, item: T) -> Result<(), SendError<T>> {
        match self.shared.room.acquire().await {
            Ok(permit) => permit.forget(),
            Err(_) => return Err(SendError(item)),
        }
        self.push(item);
        Ok(())
    }

    /// Queues `item` if a slot is free right now.
    pub fn try_send(&self, item: T) -> Result<(), TrySendError<T>> {
        match self.shared.room.try_acquire() {
            Ok(permit) => permit.forget(),
            Err(TryAcquireError::NoPermits) => return Err(TrySendError::Full(item)),
            Err(TryAcquireError::Closed) => return Err(TrySendError::Closed(item)),
        }
        self.push(item);
        Ok(())
    }

    /// Whether the receiver is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.room.is_closed()
    }

    fn push(&self, item: T) {
        self.shared.items.lock().unwrap().push_back(item);
        // Stores a wake-up if the receiver is not waiting yet, so none is lost.
        self.shared.ready.notify_one();
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Sender { shared: self.shared.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.ready.notify_one();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("queue::Sender").field("closed", &self.is_closed()).finish()
    }
}

impl<T> Receiver<T> {
    /// The next item, waiting for one; `None` once every sender is gone and nothing is
    /// left.
    pub async fn recv(&mut self) -> Option<T> {
        loop {
            if let Some(item) = self.try_recv() {
                return Some(item);
            }
            if self.shared.senders.load(Ordering::Acquire) == 0 {
                // The last sender's pushes all happened before it went.
                return self.try_recv();
            }
            self.shared.ready.notified().await;
        }
    }

    /// The next item if one is waiting.
    pub fn try_recv(&mut self) -> Option<T> {
        let item = {
            let mut items = self.shared.items.lock().unwrap();
            let item = items.pop_front()?;
            if items.is_empty() {
                // Give the slots back: an idle queue should cost nothing.
                *items = VecDeque::new();
            }
            item
        };
        self.shared.room.add_permits(1);
        Some(item)
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        self.shared.room.close();
        // What nobody will read is dropped now, not when the last sender goes.
        let left = std::mem::take(&mut *self.shared.items.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        drop(left);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn items_come_out_in_order_and_a_full_queue_says_so() {
        let (tx, mut rx) = bounded(2);
        tx.send(1).await.unwrap();
        tx.try_send(2).unwrap();
        assert!(matches!(tx.try_send(3), Err(TrySendError::Full(3))));
        assert_eq!(rx.recv().await, Some(1));
        tx.try_send(3).unwrap();
        assert_eq!(rx.try_recv(), Some(2));
        assert_eq!(rx.recv().await, Some(3));
        assert_eq!(rx.try_recv(), None);
    }

    #[tokio::test]
    async fn a_send_waits_for_room_and_gets_it_when_an_item_is_taken() {
        let (tx, mut rx) = bounded(1);
        tx.send("first").await.unwrap();
        let waiting = tokio::spawn(async move { tx.send("second").await.is_ok() });
        tokio::task::yield_now().await;
        assert!(!waiting.is_finished(), "no room yet");
        assert_eq!(rx.recv().await, Some("first"));
        assert!(waiting.await.unwrap());
        assert_eq!(rx.recv().await, Some("second"));
        assert_eq!(rx.recv().await, None, "the only sender is gone");
    }

    #[tokio::test]
    async fn the_receiver_sees_the_end_only_after_every_sender_is_gone() {
        let (tx, mut rx) = bounded(4);
        let other = tx.clone();
        drop(tx);
        let reader = tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(item) = rx.recv().await {
                got.push(item);
            }
            got
        });
        other.send(7).await.unwrap();
        other.send(8).await.unwrap();
        drop(other);
        assert_eq!(reader.await.unwrap(), vec![7, 8]);
    }

    #[tokio::test]
    async fn dropping_the_receiver_fails_every_send_and_wakes_a_waiting_one() {
        let (tx, rx) = bounded(1);
        tx.try_send(1).unwrap();
        let other = tx.clone();
        let waiting = tokio::spawn(async move { other.send(2).await });
        tokio::task::yield_now().await;
        assert!(!tx.is_closed());
        drop(rx);
        assert!(matches!(waiting.await.unwrap(), Err(SendError(2))));
        assert!(tx.is_closed());
        assert!(matches!(tx.try_send(3), Err(TrySendError::Closed(3))));
        assert!(tx.send(4).await.is_err());
    }

    #[tokio::test]
    async fn an_emptied_queue_gives_its_slots_back() {
        let (tx, mut rx) = bounded(64);
        for i in 0..64 {
            tx.try_send(i).unwrap();
        }
        let slots = |tx: &Sender<u32>| tx.shared.items.lock().unwrap().capacity();
        assert!(slots(&tx) >= 64);
        while rx.try_recv().is_some() {}
        assert_eq!(slots(&tx), 0, "an empty queue holds no slots");
    }
}
