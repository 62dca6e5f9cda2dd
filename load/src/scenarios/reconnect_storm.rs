//! `reconnect-storm`: N clients online; at one instant every connection drops (no close
//! handshake, like a network change), and while they are away a sender queues K
//! messages for each. They come back with the shared jittered backoff, resume their
//! inboxes and drain them. Figures: time until all are back and drained (and p50/p99 per
//! client), time until every queued message has arrived; the ledger: each message shown
//! exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluetick_client::{ClientError, Connection, DeviceState, Event};
use bluetick_shared::backoff::Backoff;
use bluetick_shared::frames::{MessageId, Recipient, Registration, TickState};
use futures_util::FutureExt;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::net::{Dialer, backoff};
use crate::pair::BATCH;
use crate::report::{Latency, Report, progress};
use crate::target::{Error, Setup, TargetArgs};
use bluetick_shared::ledger::{Fate, tally};

/// How long the storm may take before the run gives up waiting.
const STORM_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, Clone, clap::Args)]
pub struct StormArgs {
    /// Clients that drop at once.
    #[arg(long, default_value_t = 2000)]
    pub clients: usize,
    /// Messages queued for each client while it is away.
    #[arg(long, default_value_t = 2)]
    pub messages: usize,
    /// The first reconnect waits up to this long (ms), jittered; later ones back off.
    #[arg(long, default_value_t = 1000)]
    pub backoff_ms: u64,
    #[arg(long, default_value_t = 8)]
    pub sources: u8,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Default)]
struct Board {
    fates: Mutex<HashMap<MessageId, Fate>>,
    ready: AtomicU64,
    back: AtomicU64,
    complete: AtomicU64,
    attempts: AtomicU64,
    unexpected: AtomicU64,
    back_after: Mutex<Latency>,
    complete_after: Mutex<Latency>,
}

pub async fn run(args: &StormArgs, visible: bool) -> Result<Report, Error> {
    let mut setup = Setup::new(&args.target).await?;
    let mut devices = setup.register(args.clients + 1, "storm").await?;
    let sender = devices.remove(0);
    let backend = setup.start().await?;
    let dialer = Arc::new(Dialer::new(backend.addr(), args.sources));
    let board = Arc::new(Board::default());
    let storm = CancellationToken::new();
    let stop = CancellationToken::new();
    let policy =
        Backoff { base_ms: args.backoff_ms.max(1), factor: 2, cap_ms: 10 * args.backoff_ms.max(1), jitter: 0.5 };
    let recipients: Vec<Registration> = devices.clone();
    let mut tasks = tokio::task::JoinSet::new();
    let t0 = Arc::new(Mutex::new(Instant::now()));
    for (i, device) in devices.into_iter().enumerate() {
        let c = Client {
            i: i + 1,
            dialer: dialer.clone(),
            board: board.clone(),
            policy,
            expect: args.messages,
            t0: t0.clone(),
        };
        tasks.spawn(c.run(device, storm.clone(), stop.clone()));
    }
    let bar = progress(visible);
    let deadline = Instant::now() + Duration::from_secs(60);
    while (board.ready.load(Ordering::Relaxed) as usize) < args.clients && Instant::now() < deadline {
        bar.set_message(format!("online: {}/{}", board.ready.load(Ordering::Relaxed), args.clients));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut report = Report::new("reconnect-storm");
    report
        .parameter("clients", args.clients)
        .parameter("messages", args.messages)
        .parameter("backoff_ms", args.backoff_ms);
    if (board.ready.load(Ordering::Relaxed) as usize) < args.clients {
        report.fail("not every client came online");
    }
    let mut s = dialer.connect(0, DeviceState::new(sender)).await.map_err(|e| e.to_string())?;
    s.auto_ack = false;

    // The storm: everyone drops now; the sender queues their messages meanwhile.
    *t0.lock().unwrap() = Instant::now();
    let started = Instant::now();
    storm.cancel();
    for _ in 0..args.messages {
        for r in &recipients {
            let id = Uuid::now_v7();
            board.fates.lock().unwrap().insert(id, Fate::default());
            let frame = s.state.outbox.queue(id, Recipient::User(r.user_id), "while you were away".into());
            s.send_frame(&frame).await.map_err(|e| e.to_string())?;
        }
    }
    let total = args.clients * args.messages;
    let end = started + STORM_TIMEOUT;
    let mut ticked = 0;
    let mut all_back = None;
    let mut all_complete = None;
    while Instant::now() < end && (all_complete.is_none() || ticked < total) {
        if all_back.is_none() && board.back.load(Ordering::Relaxed) as usize == args.clients {
            all_back = Some(started.elapsed());
        }
        if all_complete.is_none() && board.complete.load(Ordering::Relaxed) as usize == args.clients {
            all_complete = Some(started.elapsed());
        }
        bar.set_message(format!(
            "back {}/{} drained+received {} delivered ticks {ticked}/{total}",
            board.back.load(Ordering::Relaxed),
            args.clients,
            board.complete.load(Ordering::Relaxed)
        ));
        ticked += read_ticks(&mut s, &board, Duration::from_millis(50)).await.map_err(|e| e.to_string())?;
    }
    bar.finish_and_clear();
    stop.cancel();
    let redeliveries = s.duplicates_dropped;
    let _ = s.close().await;
    let _ = tokio::time::timeout(Duration::from_secs(30), async { while tasks.join_next().await.is_some() {} }).await;
    backend.stop().await;

    let secs = |d: Option<Duration>| d.map(|d| d.as_secs_f64());
    report.figure("all_back_and_drained_s", secs(all_back), "s from the drop");
    report.figure("all_messages_received_s", secs(all_complete), "s from the drop");
    report.figure("connect_attempts", board.attempts.load(Ordering::Relaxed), "during the storm");
    report.latency("drop_to_back_and_drained", &board.back_after.lock().unwrap());
    report.latency("drop_to_all_received", &board.complete_after.lock().unwrap());
    if all_back.is_none() {
        report.fail("not every client came back and drained in time");
    }
    report.ledger = tally(board.fates.lock().unwrap().values());
    report.ledger.redeliveries += redeliveries;
    report.ledger.unexpected = board.unexpected.load(Ordering::Relaxed);
    Ok(report)
}

/// Reads the sender's frames for up to `wait`; returns how many DELIVERED ticks came.
async fn read_ticks(s: &mut Connection, board: &Board, wait: Duration) -> Result<usize, ClientError> {
    let mut ticked = 0;
    let Ok(frame) = tokio::time::timeout(wait, s.recv_frame()).await else { return Ok(0) };
    let mut frame = Some(frame?);
    let mut taken = 0;
    while let Some(f) = frame.take() {
        taken += 1;
        if let Some(Event::Tick(change)) = s.absorb(f).await? {
            let mut fates = board.fates.lock().unwrap();
            if let Some(fate) = fates.get_mut(&change.id) {
                fate.committed = true;
                if change.to >= TickState::Delivered && !fate.delivered_tick {
                    fate.delivered_tick = true;
                    ticked += 1;
                }
            }
        }
        if taken < BATCH {
            frame = s.recv_frame().now_or_never().transpose()?;
        }
    }
    s.ack().await?;
    Ok(ticked)
}

struct Client {
    i: usize,
    dialer: Arc<Dialer>,
    board: Arc<Board>,
    policy: Backoff,
    expect: usize,
    t0: Arc<Mutex<Instant>>,
}

impl Client {
    async fn run(self, device: Registration, storm: CancellationToken, stop: CancellationToken) {
        let mut state = DeviceState::new(device);
        let mut seen = HashSet::new();
        // Online before the storm.
        let mut conn = None;
        for attempt in 1..=8 {
            match self.dialer.connect(self.i, state.clone()).await {
                Ok(c) => {
                    conn = Some(c);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(backoff().delay_ms(attempt, fastrand::f64()))).await,
            }
        }
        let Some(mut conn) = conn else { return };
        self.board.ready.fetch_add(1, Ordering::Relaxed);
        tokio::select! {
            _ = storm.cancelled() => {}
            _ = stop.cancelled() => return,
            _ = async { while conn.recv_frame().await.is_ok() {} } => {}
        }
        state = conn.drop_abruptly();

        let mut attempt = 1;
        let mut drained = false;
        let mut complete = false;
        while !stop.is_cancelled() && attempt < 30 {
            tokio::time::sleep(Duration::from_millis(self.policy.delay_ms(attempt, fastrand::f64()))).await;
            self.board.attempts.fetch_add(1, Ordering::Relaxed);
            let mut c = match self.dialer.connect(self.i, state.clone()).await {
                Ok(c) => c,
                Err(_) => {
                    attempt += 1;
                    continue;
                }
            };
            attempt = 1;
            let result: Result<(), ClientError> = async {
                loop {
                    let event = tokio::select! {
                        _ = stop.cancelled() => return Ok(()),
                        event = c.next_event() => event?,
                    };
                    match event {
                        Event::Drained { .. } if !drained => {
                            drained = true;
                            self.board.back.fetch_add(1, Ordering::Relaxed);
                            self.board.back_after.lock().unwrap().record(self.since_drop());
                        }
                        Event::Message { message, .. } => {
                            let mut fates = self.board.fates.lock().unwrap();
                            match fates.get_mut(&message.id) {
                                Some(fate) => fate.shown += 1,
                                None => {
                                    self.board.unexpected.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            seen.insert(message.id);
                        }
                        _ => {}
                    }
                    if drained && !complete && seen.len() >= self.expect {
                        complete = true;
                        self.board.complete.fetch_add(1, Ordering::Relaxed);
                        self.board.complete_after.lock().unwrap().record(self.since_drop());
                    }
                }
            }
            .await;
            state = match result {
                Ok(()) => {
                    let _ = c.close().await;
                    return;
                }
                Err(_) => c.drop_abruptly(),
            };
        }
    }

    fn since_drop(&self) -> Duration {
        self.t0.lock().unwrap().elapsed()
    }
}
