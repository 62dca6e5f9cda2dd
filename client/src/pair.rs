//! One sender and one recipient device, driven by one task over two real WebSockets: the
//! unit of every load run, the lab's (in the page) and `bluetick-load`'s alike.
//!
//! The sender keeps at most a window of messages not yet DELIVERED (and, with an
//! interval, sends on a schedule); the recipient acknowledges whatever arrived together
//! in one cumulative ack. Every message is tracked from send to SENT, to the recipient's
//! screen, to DELIVERED at the sender; a [`Meter`] hears each of those moments as it
//! happens, and the run ends with an exact [`Ledger`]. A connection that fails is
//! reopened: the library resumes the inbox and resends unacknowledged sends with their
//! original ids, so a reconnect can neither lose nor duplicate anything. After sending
//! ends the pair keeps going until every message is delivered and ticked, the drain
//! time passes, or the run is stopped.
//!
//! How a socket is opened is the caller's ([`Dial`]): the lab dials its own server's
//! URL, the load generator spreads its clients over loopback source addresses.

use std::collections::HashMap;
use std::future::Future;
use std::time::Duration;

use bluetick_shared::frames::{ClientFrame, MessageId, Recipient, ServerFrame, TickState};
use tokio::time::Instant;
use uuid::Uuid;

use crate::{ClientError, Connection, DeviceState, Event};
use bluetick_shared::ledger::{Fate, Ledger, tally};

/// Opens a connection for one device of a run.
pub trait Dial: Sync {
    /// Connects `state`'s device; `side` numbers the run's devices (2 per pair).
    fn dial(&self, side: usize, state: DeviceState) -> impl Future<Output = Result<Connection, ClientError>> + Send;
}

/// Hears a pair's moments as they happen (counters, per-second samples, histograms).
/// Every method does nothing unless implemented.
pub trait Meter {
    /// A message was sent.
    fn sent(&mut self) {}
    /// The server acknowledged a message SENT (it is durably stored).
    fn committed(&mut self) {}
    /// The recipient was shown a message `latency` after it was sent: for the first
    /// time, or (`again`) once more, which a correct server never causes.
    fn shown(&mut self, _latency: Duration, _again: bool) {}
    /// The sender saw DELIVERED `latency` after sending; `in_time` if before sending ended.
    fn ticked(&mut self, _latency: Duration, _in_time: bool) {}
    /// A lost connection was opened again.
    fn reconnected(&mut self) {}
}

/// How every pair of a run behaves.
#[derive(Debug, Clone)]
pub struct PairPlan {
    /// Time between one pair's sends; `None` for as fast as the window allows.
    pub interval: Option<Duration>,
    /// Messages sent but not yet DELIVERED, at most.
    pub window: usize,
    pub heartbeat: Duration,
    pub body: String,
    /// How long to wait before opening a lost connection again, by attempt (1, 2, …).
    pub reconnect_delay: fn(u32) -> Duration,
}

/// When a run sends and how long it drains.
#[derive(Debug, Clone, Copy)]
pub struct Timetable {
    /// This pair's first send (runs spread their pairs' first sends over one interval so
    /// they do not send in lockstep).
    pub first_send: Instant,
    pub send_end: Instant,
    /// After sending ends, how long to wait for the last ticks.
    pub drain_end: Instant,
}

/// What a pair's run came to.
#[derive(Debug, Default)]
pub struct Outcome {
    pub ledger: Ledger,
    pub reconnects: u64,
    /// Whether the run was stopped before it drained: then a missing message is not
    /// proven lost, only not seen yet.
    pub stopped: bool,
}

/// One device's connection, or the state to reopen it with.
struct Side {
    index: usize,
    conn: Option<Connection>,
    parked: Option<DeviceState>,
    attempt: u32,
    retry_at: Instant,
    /// Whether the last connection was lost (so the next one is a reconnect).
    was_lost: bool,
    reconnects: u64,
    /// Redeliveries the library dropped on connections already closed.
    redeliveries: u64,
}

impl Side {
    fn new(index: usize, state: DeviceState) -> Side {
        Side {
            index,
            conn: None,
            parked: Some(state),
            attempt: 0,
            retry_at: Instant::now(),
            was_lost: false,
            reconnects: 0,
            redeliveries: 0,
        }
    }

    /// Opens the connection; on failure, parks the state and schedules the next attempt.
    async fn open(&mut self, dial: &impl Dial, plan: &PairPlan, meter: &mut impl Meter) -> Result<(), ClientError> {
        let Some(state) = self.parked.take() else { return Ok(()) };
        match dial.dial(self.index, state.clone()).await {
            Ok(mut conn) => {
                conn.auto_ack = false;
                if self.was_lost {
                    self.was_lost = false;
                    self.reconnects += 1;
                    meter.reconnected();
                }
                self.attempt = 0;
                self.conn = Some(conn);
                Ok(())
            }
            Err(e) => {
                self.parked = Some(state);
                self.attempt += 1;
                self.retry_at = Instant::now() + (plan.reconnect_delay)(self.attempt);
                Err(e)
            }
        }
    }

    fn lose(&mut self, plan: &PairPlan) {
        if let Some(conn) = self.conn.take() {
            self.redeliveries += conn.duplicates_dropped;
            self.parked = Some(conn.drop_abruptly());
            self.was_lost = true;
            self.attempt = 1;
            self.retry_at = Instant::now() + (plan.reconnect_delay)(1);
        }
    }

    /// Closes the connection cleanly and hands back the device's state.
    async fn finish(mut self) -> (DeviceState, u64) {
        match self.conn.take() {
            Some(conn) => {
                let redeliveries = self.redeliveries + conn.duplicates_dropped;
                (conn.close().await, redeliveries)
            }
            None => (self.parked.take().expect("a side is connected or parked"), self.redeliveries),
        }
    }
}

async fn recv(conn: &mut Option<Connection>) -> Result<ServerFrame, ClientError> {
    match conn {
        Some(conn) => conn.recv_frame().await,
        None => std::future::pending().await,
    }
}

struct Track {
    sent_at: Instant,
    fate: Fate,
}

/// A sender and a recipient device and everything the pair has sent.
pub struct Pair {
    sender: Side,
    recipient: Side,
    to: Recipient,
    tracks: HashMap<MessageId, Track>,
    outstanding: usize,
    /// Messages both ticked DELIVERED and shown to the recipient.
    complete: usize,
    /// Messages shown to the recipient that this pair never sent.
    unexpected: u64,
}

impl Pair {
    /// The pair's two devices, not connected yet; `index` numbers the pair in its run.
    pub fn new(index: usize, sender: DeviceState, recipient: DeviceState) -> Pair {
        Pair {
            to: Recipient::User(recipient.user()),
            sender: Side::new(2 * index, sender),
            recipient: Side::new(2 * index + 1, recipient),
            tracks: HashMap::new(),
            outstanding: 0,
            complete: 0,
            unexpected: 0,
        }
    }

    /// Connects both devices, retrying until `deadline`; the last error if one could not.
    pub async fn connect(&mut self, dial: &impl Dial, plan: &PairPlan, deadline: Instant) -> Result<(), ClientError> {
        let mut meter = ();
        for side in [&mut self.sender, &mut self.recipient] {
            while side.conn.is_none() {
                tokio::time::sleep_until(side.retry_at).await;
                match side.open(dial, plan, &mut meter).await {
                    Err(e) if Instant::now() >= deadline => return Err(e),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    fn on_sender_event(&mut self, event: Event, send_end: Instant, meter: &mut impl Meter) {
        let Event::Tick(change) = event else { return };
        let Some(track) = self.tracks.get_mut(&change.id) else { return };
        if !track.fate.committed {
            track.fate.committed = true;
            meter.committed();
        }
        // FAILED sorts after DELIVERED but is not a delivery.
        if matches!(change.to, TickState::Delivered | TickState::Read) && !track.fate.delivered_tick {
            track.fate.delivered_tick = true;
            self.outstanding -= 1;
            let now = Instant::now();
            meter.ticked(now - track.sent_at, now <= send_end);
            if track.fate.shown > 0 {
                self.complete += 1;
            }
        }
    }

    fn on_recipient_event(&mut self, event: Event, meter: &mut impl Meter) {
        let Event::Message { message, .. } = event else { return };
        let Some(track) = self.tracks.get_mut(&message.id) else {
            self.unexpected += 1;
            return;
        };
        track.fate.shown += 1;
        meter.shown(track.sent_at.elapsed(), track.fate.shown > 1);
        if track.fate.shown == 1 && track.fate.delivered_tick {
            self.complete += 1;
        }
    }

    /// Sends what is due now; false if the sender's connection failed.
    async fn send_due(
        &mut self,
        plan: &PairPlan,
        send_end: Instant,
        next_send: &mut Instant,
        meter: &mut impl Meter,
    ) -> bool {
        let Some(conn) = self.sender.conn.as_mut() else { return true };
        while Instant::now() < send_end && self.outstanding < plan.window {
            let sent_at = match plan.interval {
                Some(interval) if *next_send <= Instant::now() => {
                    let at = *next_send;
                    *next_send += interval;
                    at
                }
                Some(_) => break,
                None => Instant::now(),
            };
            let id = Uuid::now_v7();
            let frame = conn.state.outbox.queue(id, self.to, plan.body.clone());
            self.tracks.insert(id, Track { sent_at, fate: Fate::default() });
            self.outstanding += 1;
            meter.sent();
            if conn.send_frame(&frame).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Runs the pair until every message is delivered and ticked after sending ends, the
    /// drain time passes, or `stop` completes; closes both devices. Returns what the
    /// pair came to and both devices' states (for a later run to resume from).
    pub async fn run(
        mut self,
        dial: &impl Dial,
        plan: &PairPlan,
        times: Timetable,
        meter: &mut impl Meter,
        stop: impl Future<Output = ()>,
    ) -> (Outcome, DeviceState, DeviceState) {
        let mut stop = std::pin::pin!(stop);
        let mut stopped = false;
        let mut next_send = times.first_send;
        let mut next_heartbeat = Instant::now() + plan.heartbeat;
        loop {
            let now = Instant::now();
            if now >= times.drain_end || (now >= times.send_end && self.complete == self.tracks.len()) {
                break;
            }
            for side in [&mut self.sender, &mut self.recipient] {
                if side.conn.is_none() && now >= side.retry_at {
                    // A failure has already scheduled the next attempt.
                    let _ = side.open(dial, plan, meter).await;
                }
            }
            if !self.send_due(plan, times.send_end, &mut next_send, meter).await {
                self.sender.lose(plan);
            }
            if Instant::now() >= next_heartbeat {
                for side in [&mut self.sender, &mut self.recipient] {
                    if let Some(conn) = side.conn.as_mut()
                        && conn.send_frame(&ClientFrame::Heartbeat).await.is_err()
                    {
                        side.lose(plan);
                    }
                }
                next_heartbeat = Instant::now() + plan.heartbeat;
            }

            let mut wake = times.drain_end.min(next_heartbeat);
            if Instant::now() < times.send_end {
                wake = wake.min(times.send_end);
                if plan.interval.is_some() && self.outstanding < plan.window {
                    wake = wake.min(next_send);
                }
            }
            for side in [&self.sender, &self.recipient] {
                if side.conn.is_none() {
                    wake = wake.min(side.retry_at);
                }
            }
            let arrived = tokio::select! {
                _ = &mut stop => {
                    stopped = true;
                    break;
                }
                frame = recv(&mut self.sender.conn) => Some((true, frame)),
                frame = recv(&mut self.recipient.conn) => Some((false, frame)),
                _ = tokio::time::sleep_until(wake) => None,
            };
            let Some((from_sender, frame)) = arrived else { continue };
            let side = if from_sender { &mut self.sender } else { &mut self.recipient };
            let conn = side.conn.as_mut().expect("a frame came from it");
            let mut events = Vec::new();
            let result = match frame {
                Ok(frame) => conn.absorb_waiting(frame, |e| events.push(e)).await,
                Err(e) => Err(e),
            };
            if result.is_err() {
                side.lose(plan);
            }
            for event in events {
                match from_sender {
                    true => self.on_sender_event(event, times.send_end, meter),
                    false => self.on_recipient_event(event, meter),
                }
            }
        }
        let reconnects = self.sender.reconnects + self.recipient.reconnects;
        let mut ledger = tally(self.tracks.values().map(|t| &t.fate));
        ledger.unexpected = self.unexpected;
        let (sender, sender_redeliveries) = self.sender.finish().await;
        let (recipient, recipient_redeliveries) = self.recipient.finish().await;
        ledger.redeliveries = sender_redeliveries + recipient_redeliveries;
        (Outcome { ledger, reconnects, stopped }, sender, recipient)
    }
}

/// A meter that hears nothing.
impl Meter for () {}
