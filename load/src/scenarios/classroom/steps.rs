//! The first half of the lesson page's guided path, one function per step, each making
//! the HTTP and WebSocket calls the page makes and recording its reaction time: from the
//! student's action to the first change the page would show.
//!
//! - `connect`: You's WebSocket opens; reaction: hello → welcome.
//! - `drop`: `POST /api/lab/devices/{you}/drop`; reaction: the POST → the client sees its
//!   connection end. The reconnect that follows is its own figure, `reconnect` (connect
//!   → welcome), recorded by this step.
//! - `outage`: `POST …/outage {"seconds": 2}`; reaction: the POST → the cut. Three
//!   hellos during the outage must be refused (counted as `refused_hellos`); then the
//!   page's reset (`DELETE …/outage`) and a reconnect, `outage_reset` (DELETE → welcome).
//! - `offline_queue`: Bob offline (closed, and `GET /api/lab` says so), Alice sends 5,
//!   all SENT, Bob's server-side queue holds them (`GET …/queue`); Bob connects; reaction:
//!   connect → Bob's first delivery; all 5 must come, in the order sent.
//! - `retry_storm`: Alice writes one `send` frame (one client id) 10 times; reaction: the
//!   first SENT; `GET /api/lab/messages/{id}` must report one stored row.
//! - `ticks`: Alice → Bob, both online; reaction: send → DELIVERED at Alice; Bob then
//!   reads it: `ticks_read` is send → READ at Alice.
//! - `expiry`: `PUT /api/lab/expiry` to the minimum ([`MIN_LAB_EXPIRY_SECS`]), Bob
//!   offline, Alice sends; reaction: send → FAILED at Alice (the expiry itself included,
//!   and up to one expiry sweep); `expiry_late` is the part after the expiry. The expiry
//!   is put back (`null`) however the step ends.
//!
//! The rest of the path is in `later_steps`.

use std::collections::HashSet;
use std::time::Duration;

use bluetick_client::{Connection, Event};
use bluetick_shared::frames::{MessageId, Recipient, TickState};
use bluetick_shared::lab::{MIN_LAB_EXPIRY_SECS, MessageCopies};
use serde_json::{Value, json};
use tokio::time::Instant;
use uuid::Uuid;

use super::student::{As, Fail, STEP_TIMEOUT, Seen, StepOutcome, Student, Who, no_loss};

/// Messages Alice queues for an offline Bob.
pub const OFFLINE_MESSAGES: usize = 5;
/// Times the retry storm writes the same `send` frame.
pub const RETRIES: usize = 10;
/// The outage the page injects.
const OUTAGE_SECS: u64 = 2;
/// Hellos tried (and refused) during the outage before the reset.
const OUTAGE_ATTEMPTS: u64 = 3;

/// Reads `conn` until it ends; when it did.
async fn until_cut(conn: &mut Connection, deadline: Instant) -> Result<Instant, Fail> {
    loop {
        match tokio::time::timeout_at(deadline, conn.recv_frame()).await {
            Err(_) => return Err("timed out waiting for the connection to be cut".into()),
            Ok(Err(_)) => return Ok(Instant::now()),
            Ok(Ok(_)) => {}
        }
    }
}

/// Step 1: You's WebSocket: hello → welcome.
pub async fn connect(s: &mut Student, out: &mut StepOutcome) -> Result<(), Fail> {
    let t0 = Instant::now();
    s.you.connect(&s.dialer).await?;
    out.reactions.push(("connect", t0.elapsed()));
    Ok(())
}

/// Cuts You's connection with a lab control at `path` and waits for the client to see
/// it: the time from the request to the end.
async fn cut_you(s: &mut Student, out: &mut StepOutcome, path: String, body: Option<Value>) -> Result<Duration, Fail> {
    let (http, reg) = (s.http, s.you.reg.clone());
    let conn = s.you.live()?;
    let t0 = Instant::now();
    let (answer, cut) =
        tokio::join!(http.call::<Value>(Some(&reg), "POST", &path, body.as_ref()), until_cut(conn, t0 + STEP_TIMEOUT));
    s.you.lost();
    let answer = answer.map_err(|e| out.refused(e))?;
    let cut = cut?;
    if answer["dropped"].as_u64() != Some(1) {
        return Err(format!("POST {path} cut {} connections, not 1", answer["dropped"]).into());
    }
    Ok(cut - t0)
}

/// Step 2: Drop the network, then reconnect.
pub async fn drop_network(s: &mut Student, out: &mut StepOutcome) -> Result<(), Fail> {
    let path = format!("/api/lab/devices/{}/drop", s.you.reg.device_id);
    let cut = cut_you(s, out, path, None).await?;
    out.reactions.push(("drop", cut));
    let t0 = Instant::now();
    s.you.connect(&s.dialer).await?;
    out.reactions.push(("reconnect", t0.elapsed()));
    Ok(())
}

/// Step 3: A 2-second outage: cut, hellos refused, the page's reset, reconnected.
pub async fn outage(s: &mut Student, out: &mut StepOutcome) -> Result<(), Fail> {
    let path = format!("/api/lab/devices/{}/outage", s.you.reg.device_id);
    let cut = cut_you(s, out, path.clone(), Some(json!({ "seconds": OUTAGE_SECS }))).await?;
    out.reactions.push(("outage", cut));
    let mut refused = 0;
    for _ in 0..OUTAGE_ATTEMPTS {
        if s.you.connect(&s.dialer).await.is_ok() {
            return Err(format!("a hello during the outage was let in (after {refused} refused)").into());
        }
        refused += 1;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    out.counts.push(("refused_hellos", refused));
    let t0 = Instant::now();
    s.call::<Value>(As::You, "DELETE", &path, None).await.map_err(|e| out.refused(e))?;
    s.you.connect(&s.dialer).await?;
    out.reactions.push(("outage_reset", t0.elapsed()));
    // The connection-state section is over; the lab controls need only You's token.
    s.you.close().await;
    Ok(())
}

/// Takes Bob offline and waits until the server agrees.
async fn bob_offline(s: &mut Student, out: &mut StepOutcome) -> Result<(), Fail> {
    s.bob.close().await;
    let bob = s.bob.reg.clone();
    s.wait_offline(out, &bob).await
}

/// Sends `n` messages Alice → Bob and waits for every SENT.
async fn send_committed(s: &mut Student, n: usize, text: &str) -> Result<Vec<MessageId>, Fail> {
    let bob = s.bob.reg.user_id;
    let mut ids = Vec::with_capacity(n);
    for i in 1..=n {
        let id = s.alice.live()?.send_message(bob, format!("{text} {i}")).await?;
        s.book.sent(id);
        ids.push(id);
    }
    let mut committed = HashSet::new();
    s.pump(Instant::now() + STEP_TIMEOUT, "SENT", |seen, _| {
        no_loss(&seen)?;
        if let Seen::Event(Who::Alice, Event::Tick(change), _) = seen
            && ids.contains(&change.id)
        {
            committed.insert(change.id);
        }
        Ok(committed.len() == ids.len())
    })
    .await?;
    Ok(ids)
}

/// Step 4: The offline queue: 5 messages wait for Bob and come in order when he connects.
pub async fn offline_queue(s: &mut Student, out: &mut StepOutcome) -> Result<(), Fail> {
    s.alice.connect(&s.dialer).await?;
    bob_offline(s, out).await?;
    let ids = send_committed(s, OFFLINE_MESSAGES, "queued").await?;
    let path = format!("/api/lab/devices/{}/queue", s.bob.reg.device_id);
    let queue: Value = s.call(As::You, "GET", &path, None).await.map_err(|e| out.refused(e))?;
    let waiting = queue["waiting"].as_u64().unwrap_or(0);
    out.counts.push(("queued_server_side", waiting));
    if waiting < ids.len() as u64 {
        return Err(format!("Bob's server-side queue holds {waiting}, not {}", ids.len()).into());
    }
    let t0 = Instant::now();
    s.bob.connect(&s.dialer).await?;
    let (mut first, mut order) = (None, Vec::new());
    s.pump(t0 + STEP_TIMEOUT, "Bob's queued messages", |seen, _| {
        no_loss(&seen)?;
        if let Seen::Event(Who::Bob, Event::Message { message, .. }, at) = seen
            && ids.contains(&message.id)
        {
            first.get_or_insert(at);
            order.push(message.id);
        }
        Ok(order.len() >= ids.len())
    })
    .await?;
    out.reactions.push(("offline_queue", first.expect("a message came") - t0));
    if order != ids {
        return Err(format!("Bob got the queue out of order: {order:?}, sent {ids:?}").into());
    }
    Ok(())
}

/// Step 5: One `send` frame written 10 times: one SENT (again and again), one stored row.
pub async fn retry_storm(s: &mut Student, out: &mut StepOutcome) -> Result<(), Fail> {
    let id = Uuid::now_v7();
    let bob = s.bob.reg.user_id;
    let conn = s.alice.live()?;
    let frame = conn.state.outbox.queue(id, Recipient::User(bob), "retry storm".into());
    s.book.sent(id);
    let t0 = Instant::now();
    for _ in 0..RETRIES {
        conn.send_frame(&frame).await?;
    }
    let (mut sent, mut shown) = (None, false);
    s.pump(t0 + STEP_TIMEOUT, "SENT and Bob's copy", |seen, _| {
        no_loss(&seen)?;
        match seen {
            Seen::Event(Who::Alice, Event::Tick(change), at) if change.id == id => {
                sent.get_or_insert(at);
            }
            Seen::Event(Who::Bob, Event::Message { message, .. }, _) if message.id == id => shown = true,
            _ => {}
        }
        Ok(sent.is_some() && shown)
    })
    .await?;
    out.reactions.push(("retry_storm", sent.expect("SENT came") - t0));
    let path = format!("/api/lab/messages/{id}");
    let copies: MessageCopies = s.call(As::You, "GET", &path, None).await.map_err(|e| out.refused(e))?;
    out.counts.push(("stored_rows", copies.stored_rows));
    if copies.stored_rows != 1 || copies.deliveries != 1 {
        return Err(format!(
            "{RETRIES} sends of one id: {} stored rows, {} deliveries (1 and 1 expected)",
            copies.stored_rows, copies.deliveries
        )
        .into());
    }
    Ok(())
}

/// Step 6: SENT, DELIVERED, then READ once Bob reads it.
pub async fn ticks(s: &mut Student, out: &mut StepOutcome) -> Result<(), Fail> {
    let bob = s.bob.reg.user_id;
    let t0 = Instant::now();
    let id = s.alice.live()?.send_message(bob, "ticks").await?;
    s.book.sent(id);
    let (mut delivered, mut seq) = (None, None);
    s.pump(t0 + STEP_TIMEOUT, "DELIVERED", |seen, _| {
        no_loss(&seen)?;
        match seen {
            Seen::Event(Who::Alice, Event::Tick(c), at) if c.id == id && c.to >= TickState::Delivered => {
                delivered.get_or_insert(at);
            }
            Seen::Event(Who::Bob, Event::Message { seq: n, message }, _) if message.id == id => seq = Some(*n),
            _ => {}
        }
        Ok(delivered.is_some() && seq.is_some())
    })
    .await?;
    out.reactions.push(("ticks", delivered.expect("DELIVERED came") - t0));
    s.bob.live()?.read(vec![seq.expect("Bob has it")]).await?;
    let mut read = None;
    s.pump(t0 + STEP_TIMEOUT, "READ", |seen, _| {
        no_loss(&seen)?;
        if let Seen::Event(Who::Alice, Event::Tick(c), at) = seen
            && c.id == id
            && c.to == TickState::Read
        {
            read = Some(at);
        }
        Ok(read.is_some())
    })
    .await?;
    out.reactions.push(("ticks_read", read.expect("READ came") - t0));
    Ok(())
}

/// Step 7: The compressed expiry: a message to an offline Bob turns FAILED.
pub async fn expiry(s: &mut Student, out: &mut StepOutcome) -> Result<(), Fail> {
    let set = json!({ "seconds": MIN_LAB_EXPIRY_SECS });
    let view: Value = s.call(As::You, "PUT", "/api/lab/expiry", Some(&set)).await.map_err(|e| out.refused(e))?;
    let result = expire_one(s, out, &view).await;
    let default = json!({ "seconds": null });
    let reset = s.call::<Value>(As::You, "PUT", "/api/lab/expiry", Some(&default)).await;
    let reset = reset.map_err(|e| out.refused(e));
    result?;
    reset?;
    Ok(())
}

async fn expire_one(s: &mut Student, out: &mut StepOutcome, view: &Value) -> Result<(), Fail> {
    if view["expiry_secs"].as_u64() != Some(MIN_LAB_EXPIRY_SECS) {
        return Err(format!("PUT /api/lab/expiry answered expiry_secs {}", view["expiry_secs"]).into());
    }
    bob_offline(s, out).await?;
    let bob = s.bob.reg.user_id;
    let t0 = Instant::now();
    let id = s.alice.live()?.send_message(bob, "expiring").await?;
    s.book.expiring.insert(id);
    let mut failed = None;
    s.pump(t0 + STEP_TIMEOUT, "FAILED", |seen, _| {
        no_loss(&seen)?;
        if let Seen::Event(Who::Alice, Event::Tick(c), at) = seen
            && c.id == id
        {
            if c.to != TickState::Sent && c.to != TickState::Failed {
                return Err(format!("the expiring message went {:?} instead of FAILED", c.to));
            }
            if c.to == TickState::Failed {
                failed = Some(at);
            }
        }
        Ok(failed.is_some())
    })
    .await?;
    let took = failed.expect("FAILED came") - t0;
    out.reactions.push(("expiry", took));
    out.reactions.push(("expiry_late", took.saturating_sub(Duration::from_secs(MIN_LAB_EXPIRY_SECS))));
    Ok(())
}
