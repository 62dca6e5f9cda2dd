//! The second half of the lesson page's guided path (the first is in `steps`):
//!
//! - `fanout`: Alice makes a group (`POST /api/groups`) and starts a crowd in it
//!   (`POST /api/groups/{g}/crowd {"size": N}`; `fanout_crowd_ready` is the POST → every
//!   member online in `GET /api/crowds/{c}`), sends one group message; reaction: send →
//!   the crowd report shows every member got it (polled every 100 ms);
//!   `fanout_delivered` is send → the group's DELIVERED tick at Alice. The crowd is
//!   stopped (`DELETE`) however the step ends. A crowd cap's 429 or a full group's 409 is
//!   a refusal, not an error. The message's ledger counts per member (its delivered
//!   ticks: all of them once the group's DELIVERED came).
//! - `presence`: Bob watches Alice (`watch_presence`), Alice's network drops; reaction:
//!   the drop's POST → Bob sees Alice offline.
//! - `encrypted`: Alice and Bob publish keys (not timed); reaction: Alice starts to send
//!   (Bob's devices looked up, a key claimed, Olm encryption: what `send_text` does) →
//!   Bob has decrypted the plaintext. The stored body must not contain it. The crypto
//!   runs on blocking threads, off the runtime the phones heartbeat on; in a debug
//!   build it dominates this figure.
//! - `load_run`: `POST /api/lab/load`; reaction: the run is the server's (the accepted
//!   POST, or the poll that saw it leave the line) → the first poll (every 200 ms) that
//!   sees it `running`. A 409 is a refusal and is retried after 500 ms; a queued run
//!   (any `queue_position`-like field, or state `queued`, see `lab_http::queue_position`)
//!   is polled until it leaves the line. Both are queue wait: first POST → the run is the server's. `load_run_total`
//!   is first POST → `running`, what the student waits in all. Polling makes both
//!   figures coarse (200 ms): a run seen leaving the line may already be running (0 ms).
//!   The run's own ledger joins the scenario's.

use std::time::Duration;

use bluetick_client::Event;
use bluetick_client::e2e::{E2eClientError, E2eDevice};
use bluetick_shared::e2e::Decrypted;
use bluetick_shared::frames::{ClientFrame, GroupId, TickState};
use bluetick_shared::lab::MessageCopies;
use bluetick_shared::ledger::Ledger;
use serde_json::{Value, json};
use tokio::time::Instant;

use super::lab_http::{CallError, Refusal, load_state, queue_position};
use super::student::{As, Fail, STEP_TIMEOUT, Seen, StepOutcome, Student, Who, no_loss};

/// How often the crowd report and the load run are polled.
const CROWD_POLL: Duration = Duration::from_millis(100);
const LOAD_POLL: Duration = Duration::from_millis(200);
/// How long a refused load run waits before asking again.
const LOAD_RETRY: Duration = Duration::from_millis(500);

/// Step 8: Fan-out to a crowd.
pub async fn fanout(s: &mut Student, out: &mut StepOutcome, size: usize) -> Result<(), Fail> {
    s.alice.connect(&s.dialer).await?;
    let body = json!({ "name": format!("Fan-out of {}", size + 1) });
    let group: Value = s.call(As::Alice, "POST", "/api/groups", Some(&body)).await.map_err(|e| out.refused(e))?;
    let group: GroupId = group["id"].as_str().and_then(|id| id.parse().ok()).ok_or("POST /api/groups: no id")?;
    let t0 = Instant::now();
    let path = format!("/api/groups/{group}/crowd");
    let started: Value =
        s.call(As::Alice, "POST", &path, Some(&json!({ "size": size }))).await.map_err(|e| out.refused(e))?;
    let crowd = started["crowd_id"].as_str().ok_or("the crowd's answer has no crowd_id")?.to_string();
    let result = fan_out_to(s, out, group, &crowd, t0).await;
    let stopped = s.call::<Value>(As::Alice, "DELETE", &format!("/api/crowds/{crowd}"), None).await;
    result?;
    stopped.map_err(|e| out.refused(e))?;
    Ok(())
}

async fn crowd_report(s: &mut Student, out: &mut StepOutcome, crowd: &str) -> Result<Vec<Value>, Fail> {
    let path = format!("/api/crowds/{crowd}");
    let report: Value = s.call(As::Alice, "GET", &path, None).await.map_err(|e| out.refused(e))?;
    report["members"].as_array().cloned().ok_or_else(|| "the crowd report has no members".into())
}

async fn fan_out_to(
    s: &mut Student,
    out: &mut StepOutcome,
    group: GroupId,
    crowd: &str,
    t0: Instant,
) -> Result<(), Fail> {
    loop {
        let members = crowd_report(s, out, crowd).await?;
        if members.iter().all(|m| m["online"] == json!(true)) {
            break;
        }
        if t0.elapsed() > STEP_TIMEOUT {
            let online = members.iter().filter(|m| m["online"] == json!(true)).count();
            return Err(format!("only {online} of {} crowd members came online", members.len()).into());
        }
        tokio::time::sleep(CROWD_POLL).await;
    }
    out.reactions.push(("fanout_crowd_ready", t0.elapsed()));
    let sent_at = Instant::now();
    let id = s.alice.live()?.send_to_group(group, "Hello, everyone!").await?;
    // The crowd report is polled while Alice's socket is read: each figure is taken when
    // it shows, not after the other.
    let (http, alice) = (s.http, s.alice.reg.clone());
    let path = format!("/api/crowds/{crowd}");
    let poll = async {
        let (mut last, id) = (Vec::new(), id.to_string());
        while sent_at.elapsed() < STEP_TIMEOUT {
            let report: Value = http.call(Some(&alice), "GET", &path, None).await?;
            last = report["members"].as_array().cloned().unwrap_or_default();
            let got = |m: &Value| m["received"].as_array().is_some_and(|r| r.iter().any(|x| x.as_str() == Some(&id)));
            if !last.is_empty() && last.iter().all(got) {
                return Ok((Some(Instant::now()), last));
            }
            tokio::time::sleep(CROWD_POLL).await;
        }
        Ok((None, last))
    };
    let (mut committed, mut delivered) = (false, None);
    let ticks = s.pump(sent_at + STEP_TIMEOUT, "the group message's SENT and DELIVERED", |seen, _| {
        no_loss(&seen)?;
        if let Seen::Event(Who::Alice, Event::Tick(c), at) = seen
            && c.id == id
        {
            committed = true;
            if c.to >= TickState::Delivered {
                delivered.get_or_insert(at);
            }
        }
        Ok(delivered.is_some())
    });
    let (polled, ticks) = tokio::join!(poll, ticks);
    let (reached, members) = polled.map_err(|e| out.refused(e))?;
    // The message's ledger, per member, from the crowd's own account of what it showed.
    let n = members.len() as u64;
    let mut ledger = Ledger { sent: n, ..Ledger::default() };
    for member in &members {
        let received = member["received"].as_array().map(Vec::as_slice).unwrap_or_default();
        let copies = received.iter().filter(|x| x.as_str() == Some(&id.to_string())).count() as u64;
        ledger.delivered += (copies > 0) as u64;
        ledger.duplicated += copies.saturating_sub(1);
        ledger.unexpected += received.len() as u64 - copies;
        ledger.redeliveries += member["duplicates_dropped"].as_u64().unwrap_or(0);
    }
    if delivered.is_some() {
        ledger.delivered_ticks = n;
    }
    if committed {
        ledger.committed = n;
        ledger.lost = n - ledger.delivered;
    } else {
        ledger.unconfirmed = n - ledger.delivered;
    }
    s.ledgers.push(("fanout", ledger));
    let reached = reached.ok_or_else(|| format!("{} of {n} members got the group message", ledger.delivered))?;
    out.reactions.push(("fanout", reached - sent_at));
    ticks?;
    out.reactions.push(("fanout_delivered", delivered.expect("DELIVERED came") - sent_at));
    Ok(())
}

/// Step 9: Bob sees Alice go offline when her network drops.
pub async fn presence(s: &mut Student, out: &mut StepOutcome) -> Result<(), Fail> {
    s.alice.connect(&s.dialer).await?;
    s.bob.connect(&s.dialer).await?;
    let alice = s.alice.reg.user_id;
    s.bob.live()?.send_frame(&ClientFrame::WatchPresence { users: vec![alice] }).await?;
    s.pump(Instant::now() + STEP_TIMEOUT, "Alice's presence", |seen, _| {
        no_loss(&seen)?;
        Ok(matches!(seen, Seen::Event(Who::Bob, Event::Presence { user, online: true, .. }, _) if *user == alice))
    })
    .await?;
    let (http, you) = (s.http, s.you.reg.clone());
    let path = format!("/api/lab/devices/{}/drop", s.alice.reg.device_id);
    let (mut offline, mut cut) = (None, false);
    let t0 = Instant::now();
    let (answer, seen) = tokio::join!(
        http.call::<Value>(Some(&you), "POST", &path, None),
        s.pump(t0 + STEP_TIMEOUT, "Bob to see Alice offline", |seen, _| {
            match seen {
                Seen::Event(Who::Bob, Event::Presence { user, online: false, .. }, at) if *user == alice => {
                    offline.get_or_insert(at);
                }
                Seen::Lost(Who::Alice, _) => cut = true,
                other => no_loss(&other)?,
            }
            Ok(offline.is_some() && cut)
        })
    );
    answer.map_err(|e| out.refused(e))?;
    seen?;
    out.reactions.push(("presence", offline.expect("Bob saw it") - t0));
    s.alice.connect(&s.dialer).await?;
    Ok(())
}

/// An encryption call's failure as the step's: a 4xx/5xx is a refusal.
fn e2e_failed(out: &mut StepOutcome, e: E2eClientError) -> Fail {
    match e {
        E2eClientError::Status { status, body, .. } => {
            out.refused(CallError::Refused(Refusal::from_answer(status, &body)))
        }
        other => Fail::Error(other.to_string()),
    }
}

/// Step 10: An end-to-end encrypted message, Alice → Bob. The crypto runs off the shared
/// runtime ([`Student::busy`]); the reaction counts it: key look-up and claim, Olm
/// encryption, the send, the delivery, and Bob's decryption.
pub async fn encrypted(s: &mut Student, out: &mut StepOutcome) -> Result<(), Fail> {
    s.alice.connect(&s.dialer).await?;
    s.bob.connect(&s.dialer).await?;
    let (addr, a, b) = (s.http.addr, s.alice.reg.clone(), s.bob.reg.clone());
    let keys = s.busy(move || async move {
        let (mut alice, mut bob) = (E2eDevice::new(addr, a), E2eDevice::new(addr, b));
        alice.publish_keys().await?;
        bob.publish_keys().await?;
        Ok((alice, bob))
    });
    let (alice, bob) = keys.await?.map_err(|e| e2e_failed(out, e))?;
    let (to, text) = (s.bob.reg.user_id, format!("a secret for Bob from student {}", s.index));
    let t0 = Instant::now();
    let plaintext = text.clone();
    // What `E2eDevice::send_text` does, but with the send itself left to this task's
    // connection.
    let sealed = s.busy(move || async move {
        let mut alice = alice;
        let devices = alice.user_devices(to).await?;
        let devices = alice.ensure_sessions(&devices).await?;
        if devices.is_empty() {
            return Err(E2eClientError::NoRecipientDevice);
        }
        Ok(alice.crypto.encrypt_text(&devices, &plaintext)?.to_json())
    });
    let envelope = sealed.await?.map_err(|e| e2e_failed(out, e))?;
    let id = s.alice.live()?.send_message(to, envelope).await?;
    s.book.sent(id);
    let mut arrived = None;
    s.pump(t0 + STEP_TIMEOUT, "Bob's copy", |seen, _| {
        no_loss(&seen)?;
        if let Seen::Event(Who::Bob, Event::Message { message, .. }, at) = seen
            && message.id == id
        {
            arrived = Some((message.clone(), at));
        }
        Ok(arrived.is_some())
    })
    .await?;
    let (delivery, at) = arrived.expect("Bob has it");
    let opening = Instant::now();
    let opened = s.busy(move || async move {
        let mut bob = bob;
        bob.receive(delivery).into_iter().map(|got| got.content.map_err(|e| e.to_string())).collect::<Vec<_>>()
    });
    let opened = opened.await?;
    let took = (at - t0) + opening.elapsed();
    match opened.as_slice() {
        [Ok(Decrypted::Text { body, .. })] if *body == text => {}
        other => return Err(format!("Bob opened {other:?}, not the text Alice sent").into()),
    }
    out.reactions.push(("encrypted", took));
    let path = format!("/api/lab/messages/{id}");
    let copies: MessageCopies = s.call(As::You, "GET", &path, None).await.map_err(|e| out.refused(e))?;
    if copies.stored_body.as_deref().is_none_or(|body| body.contains(&text)) {
        return Err("the server's stored body is missing or holds the plaintext".into());
    }
    Ok(())
}

/// Step 11: A bounded load run of the lab's own pairs, through the server's one-run slot.
pub async fn load_run(
    s: &mut Student,
    out: &mut StepOutcome,
    pairs: u32,
    seconds: u32,
    queue_timeout: Duration,
) -> Result<(), Fail> {
    let (http, you) = (s.http, s.you.reg.clone());
    let body = json!({ "pairs": pairs, "seconds": seconds });
    let first = Instant::now();
    let (mut view, posted) = loop {
        let posted = Instant::now();
        match http.call::<Value>(Some(&you), "POST", "/api/lab/load", Some(&body)).await {
            Ok(view) => break (view, posted),
            Err(CallError::Refused(r)) if r.status == 409 && first.elapsed() < queue_timeout => {
                out.refusals.push(r);
                tokio::time::sleep(LOAD_RETRY).await;
            }
            Err(e) => return Err(out.refused(e)),
        }
    };
    let poll = || async { http.call::<Value>(Some(&you), "GET", "/api/lab/load", None).await };
    let mut ours = posted;
    if let Some(position) = queue_position(&view) {
        out.counts.push(("queued_runs", 1));
        out.counts.push(("queue_position", position));
        while queue_position(&view).is_some() {
            if first.elapsed() > queue_timeout {
                return Err(format!("still queued after {queue_timeout:?}").into());
            }
            tokio::time::sleep(LOAD_POLL).await;
            view = poll().await.map_err(|e| out.refused(e))?;
            ours = Instant::now();
        }
    }
    out.queue_wait = Some(ours - first);
    let deadline = Instant::now() + Duration::from_secs(seconds as u64) + 2 * STEP_TIMEOUT;
    let mut running = None;
    loop {
        let state = load_state(&view).ok_or("the load view has no run")?.to_string();
        if matches!(state.as_str(), "running" | "draining" | "finished") {
            running.get_or_insert(Instant::now());
        }
        if state == "failed" {
            return Err(format!("the load run failed: {}", view["run"]["reason"]).into());
        }
        if state == "finished" {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!("the load run is still {state} past its time").into());
        }
        tokio::time::sleep(LOAD_POLL).await;
        view = poll().await.map_err(|e| out.refused(e))?;
    }
    let ledger: Ledger = serde_json::from_value(view["run"]["ledger"].clone())
        .map_err(|e| format!("the finished run's ledger does not parse: {e}"))?;
    s.ledgers.push(("load_run", ledger));
    let running = running.expect("it finished");
    out.reactions.push(("load_run", running - ours));
    out.reactions.push(("load_run_total", running - first));
    Ok(())
}
