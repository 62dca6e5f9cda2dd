//! One sender and one recipient device, driven by one task: the unit of `throughput`,
//! `chaos` and `relay-baseline`.
//!
//! The sender sends 1:1 messages (at a target rate, or as fast as a window of messages
//! not yet DELIVERED allows); the recipient acknowledges what arrives, in batches of
//! whatever arrived together (acks are cumulative). Both sides feed one ledger, so the
//! task knows each message's send time, when the recipient was shown it and when the
//! sender saw DELIVERED. A connection that fails is reconnected with the shared backoff;
//! the client library resumes its inbox and resends unacknowledged sends with their ids.
//! After the sending time, the pair keeps going until every message is delivered and
//! ticked, or the drain timeout passes.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use bluetick_client::{ClientError, Connection, DeviceState, Event};
use bluetick_shared::frames::{ClientFrame, MessageId, Recipient, Registration, ServerFrame, TickState};
use tokio::sync::watch;
use tokio::time::Instant;
use uuid::Uuid;

use crate::ledger::{Fate, Ledger, tally};
use crate::net::{Dialer, backoff};
use crate::report::Latency;

/// Frames taken from one socket before acknowledging them together (the client
/// library's own burst size, so every scenario acks alike).
pub const BATCH: usize = bluetick_client::ABSORB_BATCH;
const HEARTBEAT: Duration = Duration::from_secs(5);

/// How every pair of a run behaves.
#[derive(Debug, Clone)]
pub struct PairPlan {
    pub dialer: Dialer,
    /// How long sending lasts, from when every pair is connected.
    pub duration: Duration,
    /// Messages per second for this pair; `None` for as fast as the window allows.
    pub rate: Option<f64>,
    /// Messages sent but not yet DELIVERED, at most.
    pub window: usize,
    pub body: String,
    pub drain_timeout: Duration,
}

/// Live counts for the progress line.
#[derive(Debug, Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub delivered: AtomicU64,
    pub reconnects: AtomicU64,
    /// Pairs connected and waiting for the start.
    pub ready: AtomicU64,
}

/// What one pair measured.
#[derive(Debug, Default)]
pub struct PairOutcome {
    pub ledger: Ledger,
    /// Send → the recipient has it.
    pub delivery: Latency,
    /// Send → DELIVERED at the sender.
    pub ticked: Latency,
    /// DELIVERED ticks seen before the sending time ended.
    pub ticked_in_time: u64,
    pub reconnects: u64,
}

struct Track {
    sent_at: Instant,
    fate: Fate,
}

/// One side's connection, or when to try again.
struct Link {
    index: usize,
    conn: Option<Connection>,
    parked: Option<DeviceState>,
    attempt: u32,
    retry_at: Instant,
    redeliveries: u64,
    /// Whether the last connection was lost (so the next one is a reconnect).
    was_lost: bool,
    reconnects: u64,
}

impl Link {
    fn new(index: usize, registration: Registration) -> Link {
        Link {
            index,
            conn: None,
            parked: Some(DeviceState::new(registration)),
            attempt: 0,
            retry_at: Instant::now(),
            redeliveries: 0,
            was_lost: false,
            reconnects: 0,
        }
    }

    async fn reconnect(&mut self, dialer: &Dialer, counters: &Counters) {
        let Some(state) = self.parked.take() else { return };
        match dialer.connect(self.index, state.clone()).await {
            Ok(mut conn) => {
                conn.auto_ack = false;
                if self.was_lost {
                    counters.reconnects.fetch_add(1, Ordering::Relaxed);
                    self.reconnects += 1;
                    self.was_lost = false;
                }
                self.attempt = 0;
                self.conn = Some(conn);
            }
            Err(_) => {
                self.parked = Some(state);
                self.attempt += 1;
                let delay = backoff().delay_ms(self.attempt, fastrand::f64());
                self.retry_at = Instant::now() + Duration::from_millis(delay);
            }
        }
    }

    fn lose(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.redeliveries += conn.duplicates_dropped;
            self.parked = Some(conn.drop_abruptly());
            self.was_lost = true;
            self.attempt = 1;
            let delay = backoff().delay_ms(1, fastrand::f64());
            self.retry_at = Instant::now() + Duration::from_millis(delay);
        }
    }
}

async fn recv(conn: &mut Option<Connection>) -> Result<ServerFrame, ClientError> {
    match conn {
        Some(conn) => conn.recv_frame().await,
        None => std::future::pending().await,
    }
}

/// The pair's ledger and measurements while it runs.
#[derive(Default)]
struct Book {
    tracks: HashMap<MessageId, Track>,
    complete: usize,
    outstanding: usize,
    unexpected: u64,
    delivery: Latency,
    ticked: Latency,
    ticked_in_time: u64,
}

impl Book {
    fn on_sender_event(&mut self, event: Event, send_end: Instant, counters: &Counters) {
        let Event::Tick(change) = event else { return };
        let Some(track) = self.tracks.get_mut(&change.id) else { return };
        track.fate.committed = true;
        if change.to >= TickState::Delivered && !track.fate.delivered_tick {
            track.fate.delivered_tick = true;
            self.outstanding -= 1;
            let now = Instant::now();
            self.ticked.record(now - track.sent_at);
            if now <= send_end {
                self.ticked_in_time += 1;
            }
            counters.delivered.fetch_add(1, Ordering::Relaxed);
            if track.fate.shown > 0 {
                self.complete += 1;
            }
        }
    }

    fn on_recipient_event(&mut self, event: Event) {
        let Event::Message { message, .. } = event else { return };
        let Some(track) = self.tracks.get_mut(&message.id) else {
            self.unexpected += 1;
            return;
        };
        track.fate.shown += 1;
        if track.fate.shown == 1 {
            self.delivery.record(track.sent_at.elapsed());
            if track.fate.delivered_tick {
                self.complete += 1;
            }
        }
    }
}

/// Runs one pair to the end of its drain and returns what it measured.
pub async fn run_pair(
    index: usize,
    sender: Registration,
    recipient: Registration,
    plan: Arc<PairPlan>,
    counters: Arc<Counters>,
    mut start: watch::Receiver<Option<Instant>>,
) -> PairOutcome {
    let to = Recipient::User(recipient.user_id);
    let mut s = Link::new(2 * index, sender);
    let mut r = Link::new(2 * index + 1, recipient);
    let mut book = Book::default();
    // Connect both sides before the clock starts (bounded by the drain timeout).
    let connect_deadline = Instant::now() + plan.drain_timeout;
    for link in [&mut s, &mut r] {
        while link.conn.is_none() && Instant::now() < connect_deadline {
            tokio::time::sleep_until(link.retry_at).await;
            link.reconnect(&plan.dialer, &counters).await;
        }
    }
    counters.ready.fetch_add(1, Ordering::Relaxed);
    let start = match start.wait_for(|s| s.is_some()).await {
        Ok(start) => start.expect("waited for it"),
        Err(_) => Instant::now(),
    };
    let plan_start = start;
    let send_end = plan_start + plan.duration;
    let drain_end = send_end + plan.drain_timeout;
    let interval = plan.rate.map(|rate| Duration::from_secs_f64(1.0 / rate.max(0.001)));
    // Spread the pairs' first sends over one interval.
    let mut next_send = plan_start + interval.map_or(Duration::ZERO, |i| i.mul_f64(fastrand::f64()));
    let mut next_heartbeat = Instant::now() + HEARTBEAT;

    loop {
        let now = Instant::now();
        if now >= drain_end || (now >= send_end && book.complete == book.tracks.len()) {
            break;
        }
        for link in [&mut s, &mut r] {
            if link.conn.is_none() && now >= link.retry_at {
                link.reconnect(&plan.dialer, &counters).await;
            }
        }
        // Send what is due.
        let mut failed = false;
        if let Some(conn) = s.conn.as_mut() {
            while Instant::now() < send_end && book.outstanding < plan.window {
                let sent_at = match interval {
                    Some(interval) if next_send <= Instant::now() => {
                        let at = next_send;
                        next_send += interval;
                        at
                    }
                    Some(_) => break,
                    None => Instant::now(),
                };
                let id = Uuid::now_v7();
                let frame = conn.state.outbox.queue(id, to, plan.body.clone());
                book.tracks.insert(id, Track { sent_at, fate: Fate::default() });
                book.outstanding += 1;
                counters.sent.fetch_add(1, Ordering::Relaxed);
                if conn.send_frame(&frame).await.is_err() {
                    failed = true;
                    break;
                }
            }
            if Instant::now() >= next_heartbeat {
                failed |= conn.send_frame(&ClientFrame::Heartbeat).await.is_err();
                if let Some(rc) = r.conn.as_mut()
                    && rc.send_frame(&ClientFrame::Heartbeat).await.is_err()
                {
                    r.lose();
                }
                next_heartbeat = Instant::now() + HEARTBEAT;
            }
        }
        if failed {
            s.lose();
        }

        let mut wake = drain_end.min(next_heartbeat);
        if Instant::now() < send_end {
            wake = wake.min(send_end);
            if interval.is_some() && book.outstanding < plan.window {
                wake = wake.min(next_send);
            }
        }
        for link in [&s, &r] {
            if link.conn.is_none() {
                wake = wake.min(link.retry_at);
            }
        }
        tokio::select! {
            frame = recv(&mut s.conn) => {
                let conn = s.conn.as_mut().expect("a frame came from it");
                let result = match frame {
                    Ok(frame) => conn.absorb_waiting(frame, |e| book.on_sender_event(e, send_end, &counters)).await,
                    Err(e) => Err(e),
                };
                if result.is_err() {
                    s.lose();
                }
            }
            frame = recv(&mut r.conn) => {
                let conn = r.conn.as_mut().expect("a frame came from it");
                let result = match frame {
                    Ok(frame) => conn.absorb_waiting(frame, |e| book.on_recipient_event(e)).await,
                    Err(e) => Err(e),
                };
                if result.is_err() {
                    r.lose();
                }
            }
            _ = tokio::time::sleep_until(wake) => {}
        }
    }

    let mut redeliveries = 0;
    for link in [&mut s, &mut r] {
        redeliveries += link.redeliveries;
        if let Some(conn) = link.conn.take() {
            redeliveries += conn.duplicates_dropped;
            conn.close().await;
        }
    }
    let mut ledger = tally(book.tracks.values().map(|t| &t.fate));
    ledger.unexpected = book.unexpected;
    ledger.redeliveries = redeliveries;
    PairOutcome {
        ledger,
        delivery: book.delivery,
        ticked: book.ticked,
        ticked_in_time: book.ticked_in_time,
        reconnects: s.reconnects + r.reconnects,
    }
}

/// Sums the pairs' outcomes.
pub fn merge(outcomes: &[PairOutcome]) -> PairOutcome {
    let mut total = PairOutcome::default();
    for o in outcomes {
        total.ledger.merge(&o.ledger);
        total.delivery.merge(&o.delivery);
        total.ticked.merge(&o.ticked);
        total.ticked_in_time += o.ticked_in_time;
        total.reconnects += o.reconnects;
    }
    total
}
