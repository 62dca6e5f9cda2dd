//! One sender and one recipient device of a load run, driven by one task over two real
//! WebSockets through the server's own gateway.
//!
//! The sender keeps at most a window of messages not yet DELIVERED (and, with a rate,
//! sends on a schedule); the recipient acknowledges whatever arrived together in one
//! cumulative ack. Every message is tracked from send to SENT, to the recipient's screen,
//! to DELIVERED at the sender, which is what the run's throughput counts. A connection
//! that fails is reopened: the client library resumes the inbox and resends unacknowledged
//! sends with their original ids, so a reconnect cannot lose or duplicate anything.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bluetick_shared::frames::{ClientFrame, MessageId, Recipient, ServerFrame, TickState};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use super::meter::Meter;
use bluetick_client::{ClientError, Connection, DeviceState, Event};

/// How long a lost connection waits before it is reopened.
const RECONNECT_AFTER: Duration = Duration::from_millis(250);

/// The timetable every pair of a run shares.
pub struct PairPlan {
    pub url: String,
    pub start: Instant,
    pub send_end: Instant,
    /// After sending ends, how long to wait for the last ticks.
    pub drain_end: Instant,
    /// Time between one pair's sends; `None` for as fast as the window allows.
    pub interval: Option<Duration>,
    pub window: usize,
    pub heartbeat: Duration,
    pub stop: CancellationToken,
}

struct Fate {
    sent_at: Instant,
    committed: bool,
    shown: u32,
    ticked: bool,
}

/// One device's connection, or the state to reopen it with.
struct Side {
    conn: Option<Connection>,
    parked: Option<DeviceState>,
    retry_at: Instant,
}

impl Side {
    async fn open(url: &str, state: DeviceState) -> Result<Side, ClientError> {
        let mut conn = Connection::connect(url, state).await?;
        conn.auto_ack = false;
        Ok(Side { conn: Some(conn), parked: None, retry_at: Instant::now() })
    }

    fn lose(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.parked = Some(conn.drop_abruptly());
            self.retry_at = Instant::now() + RECONNECT_AFTER;
        }
    }

    async fn reopen(&mut self, url: &str) {
        let Some(state) = self.parked.take() else { return };
        match Connection::connect(url, state.clone()).await {
            Ok(mut conn) => {
                conn.auto_ack = false;
                self.conn = Some(conn);
            }
            Err(e) => {
                tracing::debug!(error = %e, "load device could not reconnect");
                self.parked = Some(state);
                self.retry_at = Instant::now() + RECONNECT_AFTER;
            }
        }
    }

    /// Closes the connection cleanly and hands back the device's state for the next run.
    async fn finish(mut self) -> DeviceState {
        match self.conn.take() {
            Some(conn) => conn.close().await,
            None => self.parked.take().expect("a side is connected or parked"),
        }
    }
}

async fn recv(conn: &mut Option<Connection>) -> Result<ServerFrame, ClientError> {
    match conn {
        Some(conn) => conn.recv_frame().await,
        None => std::future::pending().await,
    }
}

/// A pair with both devices connected, ready for the start.
pub struct Pair {
    sender: Side,
    recipient: Side,
    to: Recipient,
    fates: HashMap<MessageId, Fate>,
    outstanding: usize,
    /// Messages both ticked DELIVERED and shown to the recipient.
    complete: usize,
}

impl Pair {
    /// Connects both devices, resuming from their state after an earlier run.
    pub async fn connect(url: &str, sender: DeviceState, recipient: DeviceState) -> Result<Pair, ClientError> {
        let to = Recipient::User(recipient.user());
        let (sender, recipient) = tokio::try_join!(Side::open(url, sender), Side::open(url, recipient))?;
        Ok(Pair { sender, recipient, to, fates: HashMap::new(), outstanding: 0, complete: 0 })
    }

    fn on_sender_event(&mut self, event: Event, meter: &Meter) {
        let Event::Tick(change) = event else { return };
        let Some(fate) = self.fates.get_mut(&change.id) else { return };
        if !fate.committed {
            fate.committed = true;
            meter.committed();
        }
        // FAILED sorts after DELIVERED but is not a delivery.
        if matches!(change.to, TickState::Delivered | TickState::Read) && !fate.ticked {
            fate.ticked = true;
            self.outstanding -= 1;
            meter.delivered_tick(fate.sent_at.elapsed());
            if fate.shown > 0 {
                self.complete += 1;
            }
        }
    }

    fn on_recipient_event(&mut self, event: Event, meter: &Meter) {
        let Event::Message { message, .. } = event else { return };
        let Some(fate) = self.fates.get_mut(&message.id) else { return };
        fate.shown += 1;
        meter.shown(fate.shown > 1);
        if fate.shown == 1 && fate.ticked {
            self.complete += 1;
        }
    }

    /// Sends what is due now; false if the sender's connection failed.
    async fn send_due(&mut self, plan: &PairPlan, next_send: &mut Instant, meter: &Meter) -> bool {
        let Some(conn) = self.sender.conn.as_mut() else { return true };
        while Instant::now() < plan.send_end && self.outstanding < plan.window {
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
            let frame = conn.state.outbox.queue(id, self.to, format!("load {}", self.fates.len() + 1));
            self.fates.insert(id, Fate { sent_at, committed: false, shown: 0, ticked: false });
            self.outstanding += 1;
            meter.sent();
            if conn.send_frame(&frame).await.is_err() {
                return false;
            }
        }
        true
    }

    /// Runs the pair until every message is delivered and ticked after sending ends, the
    /// drain time passes, or the run is stopped; closes both devices and books what was
    /// lost. Returns both devices' states.
    pub async fn run(mut self, plan: Arc<PairPlan>, meter: Arc<Meter>, phase: u64) -> (DeviceState, DeviceState) {
        // Spread the pairs' first sends over one interval so they do not send in lockstep.
        let mut next_send =
            plan.start + plan.interval.map_or(Duration::ZERO, |i| i.mul_f64((phase % 997) as f64 / 997.0));
        let mut next_heartbeat = Instant::now() + plan.heartbeat;
        loop {
            let now = Instant::now();
            if plan.stop.is_cancelled()
                || now >= plan.drain_end
                || (now >= plan.send_end && self.complete == self.fates.len())
            {
                break;
            }
            for side in [&mut self.sender, &mut self.recipient] {
                if side.conn.is_none() && now >= side.retry_at {
                    side.reopen(&plan.url).await;
                }
            }
            if !self.send_due(&plan, &mut next_send, &meter).await {
                self.sender.lose();
            }
            if Instant::now() >= next_heartbeat {
                for side in [&mut self.sender, &mut self.recipient] {
                    if let Some(conn) = side.conn.as_mut()
                        && conn.send_frame(&ClientFrame::Heartbeat).await.is_err()
                    {
                        side.lose();
                    }
                }
                next_heartbeat = Instant::now() + plan.heartbeat;
            }

            let mut wake = plan.drain_end.min(next_heartbeat);
            if Instant::now() < plan.send_end {
                wake = wake.min(plan.send_end);
                if plan.interval.is_some() && self.outstanding < plan.window {
                    wake = wake.min(next_send);
                }
            }
            for side in [&self.sender, &self.recipient] {
                if side.conn.is_none() {
                    wake = wake.min(side.retry_at);
                }
            }
            tokio::select! {
                _ = plan.stop.cancelled() => break,
                frame = recv(&mut self.sender.conn) => {
                    let mut events = Vec::new();
                    let conn = self.sender.conn.as_mut().expect("a frame came from it");
                    let result = match frame {
                        Ok(frame) => conn.absorb_waiting(frame, |e| events.push(e)).await,
                        Err(e) => Err(e),
                    };
                    for event in events {
                        self.on_sender_event(event, &meter);
                    }
                    if result.is_err() {
                        self.sender.lose();
                    }
                }
                frame = recv(&mut self.recipient.conn) => {
                    let mut events = Vec::new();
                    let conn = self.recipient.conn.as_mut().expect("a frame came from it");
                    let result = match frame {
                        Ok(frame) => conn.absorb_waiting(frame, |e| events.push(e)).await,
                        Err(e) => Err(e),
                    };
                    for event in events {
                        self.on_recipient_event(event, &meter);
                    }
                    if result.is_err() {
                        self.recipient.lose();
                    }
                }
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
        // Only a run that waited its drain out may call a missing message lost; a stopped
        // run reports what it saw.
        if !plan.stop.is_cancelled() {
            meter.lost(self.fates.values().filter(|f| f.committed && f.shown == 0).count() as u64);
        }
        (self.sender.finish().await, self.recipient.finish().await)
    }
}
