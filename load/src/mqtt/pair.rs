//! One MQTT publisher and one subscriber on a topic of their own, driven by one task:
//! the unit of `mqtt-baseline`, shaped like bluetick's pair (see [`crate::pair`]).
//!
//! The publisher sends QoS 2 PUBLISHes, at most a window of them unfinished (PUBCOMP
//! not yet received: the broker has the message and the handshake is over) and, with an
//! interval, on a schedule. Each payload starts with the message's sequence number and
//! its send time (µs since the run's epoch), so the subscriber, like any real
//! subscriber, learns both from the message alone. The subscriber delivers a message
//! when its PUBLISH arrives and answers the QoS 2 handshake (PUBREC, then PUBCOMP for the
//! broker's PUBREL); a PUBLISH repeating a packet id still awaiting its PUBREL is the
//! broker's retransmission and is not delivered again (MQTT 3.1.1, 4.3.3).
//!
//! The ledger: sent, committed (PUBCOMP received: the analogue of bluetick's SENT), and
//! per sequence number how often the subscriber got it: lost (committed, never
//! received), duplicated (received more than once), unconfirmed (no PUBCOMP), unexpected
//! (a payload this publisher never sent); and, beyond bluetick's ledger, out of order
//! (received after a later sequence number was). There are no reconnects: a connection
//! that fails fails the pair.

use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bluetick_shared::ledger::Ledger;
use tokio::sync::watch;
use tokio::time::Instant;

use super::codec::{Packet, Publish};
use super::conn::{Conn, Error};
use crate::pair::Counters;
use crate::report::Latency;

/// Sequence number and send time, before the body.
pub const HEADER_BYTES: usize = 16;

/// How every pair of a run behaves.
#[derive(Debug, Clone)]
pub struct MqttPlan {
    pub broker: SocketAddr,
    /// Loopback source addresses to spread the connections over.
    pub sources: u8,
    pub duration: Duration,
    /// Messages per second for this pair; `None` for as fast as the window allows.
    pub rate: Option<f64>,
    /// QoS 2 PUBLISHes without PUBCOMP, at most (below 65,535: each needs a packet id).
    pub window: usize,
    pub body_bytes: usize,
    pub drain_timeout: Duration,
    /// Send times in payloads count from here.
    pub epoch: Instant,
}

impl MqttPlan {
    fn source(&self, i: usize) -> Ipv4Addr {
        Ipv4Addr::new(127, 0, 0, 1 + (i % self.sources.max(1) as usize) as u8)
    }
}

/// What one pair measured.
#[derive(Debug, Default)]
pub struct MqttOutcome {
    pub ledger: Ledger,
    pub out_of_order: u64,
    /// Send → the subscriber has it.
    pub receive: Latency,
    /// Send → PUBCOMP at the publisher.
    pub pubcomp: Latency,
    /// Distinct messages the subscriber received before sending ended.
    pub received_in_time: u64,
    /// PUBCOMPs before sending ended.
    pub completed_in_time: u64,
    /// Why the pair stopped early (a connection failed, the broker broke the protocol).
    pub failure: Option<String>,
}

/// Everything the pair tracks while it runs.
#[derive(Default)]
struct Books {
    /// Unfinished PUBLISHes by packet id: sequence number and send time.
    inflight: HashMap<u16, (u64, Instant)>,
    /// By sequence number: PUBCOMP seen, and how often the subscriber received it.
    committed: Vec<bool>,
    received: Vec<u32>,
    /// Packet ids the subscriber answered with PUBREC and awaits PUBREL for.
    awaiting_release: HashSet<u16>,
    highest: Option<u64>,
    distinct: u64,
    unexpected: u64,
    redeliveries: u64,
    out: MqttOutcome,
}

/// Runs one pair to the end of its drain and returns what it measured.
pub async fn run_pair(
    index: usize,
    plan: Arc<MqttPlan>,
    counters: Arc<Counters>,
    mut start: watch::Receiver<Option<Instant>>,
) -> MqttOutcome {
    let topic = format!("bluetick-load/pair/{index}");
    let connected = async {
        let mut subscriber = Conn::connect(plan.broker, plan.source(2 * index + 1), &format!("sub-{index}")).await?;
        subscriber.subscribe_qos2(&topic).await?;
        let publisher = Conn::connect(plan.broker, plan.source(2 * index), &format!("pub-{index}")).await?;
        Ok::<_, Error>((publisher, subscriber))
    }
    .await;
    counters.ready.fetch_add(1, Ordering::Relaxed);
    let (mut publisher, mut subscriber) = match connected {
        Ok(both) => both,
        Err(e) => return MqttOutcome { failure: Some(e), ..MqttOutcome::default() },
    };
    let start = match start.wait_for(|s| s.is_some()).await {
        Ok(start) => start.expect("waited for it"),
        Err(_) => Instant::now(),
    };
    let send_end = start + plan.duration;
    let drain_end = send_end + plan.drain_timeout;
    let interval = plan.rate.map(|rate| Duration::from_secs_f64(1.0 / rate.max(0.001)));
    // Spread the pairs' first sends over one interval.
    let mut next_send = start + interval.map_or(Duration::ZERO, |i| i.mul_f64(fastrand::f64()));
    let mut books = Books::default();
    let window = plan.window.clamp(1, u16::MAX as usize - 1);
    let padding = vec![b'x'; plan.body_bytes];

    let failure = loop {
        let now = Instant::now();
        let sent = books.committed.len() as u64;
        let drained = books.inflight.is_empty() && books.distinct == sent && books.awaiting_release.is_empty();
        if now >= drain_end || (now >= send_end && drained) {
            break None;
        }
        // Send what is due, in one write.
        while Instant::now() < send_end && books.inflight.len() < window {
            let sent_at = match interval {
                Some(interval) if next_send <= Instant::now() => {
                    let at = next_send;
                    next_send += interval;
                    at
                }
                Some(_) => break,
                None => Instant::now(),
            };
            let seq = books.committed.len() as u64;
            // Ids 1..=65535 in turn; the window is smaller, so an id is free again
            // long before it comes round.
            let id = (seq % u16::MAX as u64) as u16 + 1;
            let mut payload = Vec::with_capacity(HEADER_BYTES + padding.len());
            payload.extend_from_slice(&seq.to_be_bytes());
            payload.extend_from_slice(&((sent_at - plan.epoch).as_micros() as u64).to_be_bytes());
            payload.extend_from_slice(&padding);
            let publish = Publish { dup: false, qos: 2, retain: false, topic: topic.clone(), id: Some(id), payload };
            publisher.queue(&Packet::Publish(publish));
            books.inflight.insert(id, (seq, sent_at));
            books.committed.push(false);
            books.received.push(0);
            counters.sent.fetch_add(1, Ordering::Relaxed);
        }
        if let Err(e) = publisher.flush().await {
            break Some(e);
        }

        let mut wake = drain_end;
        if Instant::now() < send_end {
            wake = wake.min(send_end);
            if interval.is_some() && books.inflight.len() < window {
                wake = wake.min(next_send);
            }
        }
        let arrived = tokio::select! {
            packet = publisher.recv() => Some((true, packet)),
            packet = subscriber.recv() => Some((false, packet)),
            _ = tokio::time::sleep_until(wake) => None,
        };
        let result = match arrived {
            None => Ok(()),
            Some((_, Err(e))) => Err(e),
            Some((true, Ok(packet))) => on_publisher(&mut publisher, packet, &mut books, send_end).await,
            Some((false, Ok(packet))) => {
                on_subscriber(&mut subscriber, packet, &mut books, &plan, &topic, send_end, &counters).await
            }
        };
        if let Err(e) = result {
            break Some(e);
        }
    };
    if failure.is_none() {
        publisher.disconnect().await;
        subscriber.disconnect().await;
    }
    finish(books, failure)
}

/// PUBREC → PUBREL; PUBCOMP → the message is the broker's. Answers everything already
/// read in one write.
async fn on_publisher(conn: &mut Conn, first: Packet, books: &mut Books, send_end: Instant) -> Result<(), Error> {
    let mut next = Some(first);
    while let Some(packet) = next {
        match packet {
            Packet::PubRec(id) if books.inflight.contains_key(&id) => conn.queue(&Packet::PubRel(id)),
            Packet::PubComp(id) => {
                let Some((seq, sent_at)) = books.inflight.remove(&id) else {
                    return Err(format!("{}: PUBCOMP for packet id {id}, not in flight", conn.client_id));
                };
                books.committed[seq as usize] = true;
                let now = Instant::now();
                books.out.pubcomp.record(now - sent_at);
                books.out.completed_in_time += (now <= send_end) as u64;
            }
            other => return Err(format!("{}: unexpected {other:?}", conn.client_id)),
        }
        next = conn.buffered()?;
    }
    conn.flush().await
}

/// PUBLISH → deliver (once) and PUBREC; PUBREL → PUBCOMP. Answers everything already
/// read in one write.
async fn on_subscriber(
    conn: &mut Conn,
    first: Packet,
    books: &mut Books,
    plan: &MqttPlan,
    topic: &str,
    send_end: Instant,
    counters: &Counters,
) -> Result<(), Error> {
    let mut next = Some(first);
    while let Some(packet) = next {
        match packet {
            Packet::Publish(Publish { qos: 2, id: Some(id), topic: got, payload, .. }) => {
                if books.awaiting_release.insert(id) {
                    deliver(books, plan, topic == got, &payload, send_end, counters);
                } else {
                    books.redeliveries += 1;
                }
                conn.queue(&Packet::PubRec(id));
            }
            Packet::PubRel(id) => {
                // Answered even for an id not awaited: the broker may resend PUBREL.
                books.awaiting_release.remove(&id);
                conn.queue(&Packet::PubComp(id));
            }
            other => return Err(format!("{}: unexpected {other:?}", conn.client_id)),
        }
        next = conn.buffered()?;
    }
    conn.flush().await
}

/// The subscriber's application receives one message.
fn deliver(
    books: &mut Books,
    plan: &MqttPlan,
    our_topic: bool,
    payload: &[u8],
    send_end: Instant,
    counters: &Counters,
) {
    let header = payload.get(..HEADER_BYTES).filter(|_| our_topic);
    let Some(header) = header else {
        books.unexpected += 1;
        return;
    };
    let seq = u64::from_be_bytes(header[..8].try_into().expect("8 bytes"));
    let sent_us = u64::from_be_bytes(header[8..].try_into().expect("8 bytes"));
    let Some(count) = books.received.get_mut(seq as usize) else {
        books.unexpected += 1;
        return;
    };
    *count += 1;
    if *count > 1 {
        return;
    }
    let now = Instant::now();
    books.distinct += 1;
    books.out.receive.record(now.saturating_duration_since(plan.epoch + Duration::from_micros(sent_us)));
    books.out.received_in_time += (now <= send_end) as u64;
    if books.highest.is_some_and(|highest| seq < highest) {
        books.out.out_of_order += 1;
    }
    books.highest = books.highest.max(Some(seq));
    counters.delivered.fetch_add(1, Ordering::Relaxed);
}

fn finish(books: Books, failure: Option<String>) -> MqttOutcome {
    let mut out = books.out;
    let ledger = &mut out.ledger;
    ledger.sent = books.committed.len() as u64;
    for (&committed, &received) in books.committed.iter().zip(&books.received) {
        ledger.committed += committed as u64;
        ledger.delivered += (received > 0) as u64;
        ledger.lost += (committed && received == 0) as u64;
        ledger.duplicated += (received > 1) as u64;
        ledger.unconfirmed += !committed as u64;
    }
    ledger.unexpected = books.unexpected;
    ledger.redeliveries = books.redeliveries;
    out.failure = failure;
    out
}

/// Sums the pairs' outcomes; failures are kept, one per pair that had one.
pub fn merge(outcomes: Vec<MqttOutcome>) -> (MqttOutcome, Vec<String>) {
    let mut total = MqttOutcome::default();
    let mut failures = Vec::new();
    for o in outcomes {
        total.ledger.merge(&o.ledger);
        total.out_of_order += o.out_of_order;
        total.receive.merge(&o.receive);
        total.pubcomp.merge(&o.pubcomp);
        total.received_in_time += o.received_in_time;
        total.completed_in_time += o.completed_in_time;
        failures.extend(o.failure);
    }
    (total, failures)
}
