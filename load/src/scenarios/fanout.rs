//! `fanout`: one group of 1 + M members (1,024 by default, the cap), every member online
//! over its own connection. First S messages one at a time: send → the last member has
//! it (p50/p99), and send → group DELIVERED at the sender. Then T seconds of sustained
//! sending with a window of group messages in flight: member deliveries per second.
//! The ledger counts per member: each message must reach each member exactly once.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluetick_client::{ClientError, Connection, DeviceState, Event};
use bluetick_shared::frames::{ClientFrame, GroupId, MessageId, Recipient, Registration, TickState};
use futures_util::FutureExt;
use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

use crate::net::{Dialer, backoff};
use crate::pair::BATCH;
use crate::report::{Latency, Report, progress};
use crate::target::{Error, Setup, TargetArgs};
use bluetick_shared::ledger::Ledger;

const HEARTBEAT: Duration = Duration::from_secs(5);
/// How long one message may take to reach every member before the run gives up on it.
const MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, clap::Args)]
pub struct FanoutArgs {
    /// Members besides the sender (1,023 fills a group to the 1,024 cap).
    #[arg(long, default_value_t = 1023)]
    pub members: usize,
    /// Messages sent one at a time for the latency figures.
    #[arg(long, default_value_t = 50)]
    pub sends: usize,
    /// Seconds of sustained sending for the deliveries/s figure (0 skips it).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// Group messages in flight during sustained sending.
    #[arg(long, default_value_t = 8)]
    pub window: usize,
    #[arg(long, default_value_t = 32)]
    pub body_bytes: usize,
    #[arg(long, default_value_t = 4)]
    pub sources: u8,
    #[command(flatten)]
    pub target: TargetArgs,
}

#[derive(Clone, Copy)]
struct Arrivals {
    count: usize,
    last: Instant,
}

/// What the members saw, shared by all of them.
#[derive(Default)]
struct Board {
    arrivals: Mutex<HashMap<MessageId, Arrivals>>,
    complete: Notify,
    members: usize,
    delivered: AtomicU64,
    duplicated: AtomicU64,
    unexpected: AtomicU64,
    ready: AtomicU64,
    reconnects: AtomicU64,
}

impl Board {
    fn expect(&self, id: MessageId) {
        self.arrivals.lock().unwrap().insert(id, Arrivals { count: 0, last: Instant::now() });
    }

    fn arrive(&self, id: MessageId) {
        let mut arrivals = self.arrivals.lock().unwrap();
        let Some(a) = arrivals.get_mut(&id) else {
            self.unexpected.fetch_add(1, Ordering::Relaxed);
            return;
        };
        a.count += 1;
        a.last = Instant::now();
        self.delivered.fetch_add(1, Ordering::Relaxed);
        if a.count == self.members {
            self.complete.notify_one();
        }
    }

    fn get(&self, id: &MessageId) -> Option<Arrivals> {
        self.arrivals.lock().unwrap().get(id).copied()
    }

    fn incomplete(&self) -> usize {
        self.arrivals.lock().unwrap().values().filter(|a| a.count < self.members).count()
    }
}

pub async fn run(args: &FanoutArgs, visible: bool) -> Result<Report, Error> {
    let mut setup = Setup::new(&args.target).await?;
    let mut devices = setup.register(args.members + 1, "member").await?;
    let sender = devices.remove(0);
    let group = setup.group(&sender, &devices).await?;
    let backend = setup.start().await?;
    let dialer = Arc::new(Dialer::new(backend.addr(), args.sources));
    let board = Arc::new(Board { members: devices.len(), ..Board::default() });
    let stop = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, device) in devices.into_iter().enumerate() {
        tasks.spawn(member(i + 1, device, dialer.clone(), board.clone(), stop.clone()));
    }
    let bar = progress(visible);
    let deadline = Instant::now() + Duration::from_secs(60);
    while (board.ready.load(Ordering::Relaxed) as usize) < board.members && Instant::now() < deadline {
        bar.set_message(format!("members online: {}/{}", board.ready.load(Ordering::Relaxed), board.members));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut report = Report::new("fanout");
    report
        .parameter("group_size", board.members + 1)
        .parameter("sends", args.sends)
        .parameter("duration_s", args.duration)
        .parameter("window", args.window);
    if (board.ready.load(Ordering::Relaxed) as usize) < board.members {
        report.fail("not every member came online within a minute");
    }

    let conn = dialer.connect(0, DeviceState::new(sender)).await.map_err(|e| e.to_string())?;
    let mut s = GroupSender { conn, group, body: "x".repeat(args.body_bytes), sent: HashMap::new(), ticked: 0 };
    s.conn.auto_ack = false;
    let mut last_member = Latency::default();
    let mut group_delivered = Latency::default();
    for i in 0..args.sends {
        bar.set_message(format!("one at a time: {i}/{}", args.sends));
        let id = s.send(&board).await.map_err(|e| e.to_string())?;
        let until = Instant::now() + MESSAGE_TIMEOUT;
        s.pump(&board, until, |s, board| {
            board.get(&id).is_some_and(|a| a.count == board.members) && s.sent[&id].delivered.is_some()
        })
        .await
        .map_err(|e| e.to_string())?;
        let sent = s.sent[&id];
        if let Some(a) = board.get(&id).filter(|a| a.count == board.members) {
            last_member.record(a.last - sent.at);
        }
        if let Some(at) = sent.delivered {
            group_delivered.record(at - sent.at);
        }
    }

    let mut sustained = 0.0;
    if args.duration > 0.0 {
        let start = Instant::now();
        let before = board.delivered.load(Ordering::Relaxed);
        let end = start + Duration::from_secs_f64(args.duration);
        while Instant::now() < end {
            while board.incomplete() < args.window.max(1) {
                s.send(&board).await.map_err(|e| e.to_string())?;
            }
            bar.set_message(format!(
                "sustained: {} member deliveries",
                board.delivered.load(Ordering::Relaxed) - before
            ));
            let window = args.window.max(1);
            s.pump(&board, end, |_, board| board.incomplete() < window).await.map_err(|e| e.to_string())?;
        }
        let during = board.delivered.load(Ordering::Relaxed) - before;
        sustained = during as f64 / start.elapsed().as_secs_f64();
    }
    bar.set_message("draining");
    let drain_end = Instant::now() + MESSAGE_TIMEOUT;
    let total = s.sent.len();
    s.pump(&board, drain_end, |s, board| board.incomplete() == 0 && s.ticked == total)
        .await
        .map_err(|e| e.to_string())?;
    bar.finish_and_clear();

    stop.cancel();
    let redeliveries = s.conn.duplicates_dropped;
    let _ = s.conn.close().await;
    let _ = tokio::time::timeout(Duration::from_secs(30), async { while tasks.join_next().await.is_some() {} }).await;
    backend.stop().await;

    report.latency("send_to_last_member", &last_member);
    report.latency("send_to_group_delivered", &group_delivered);
    report.figure("member_deliveries_per_s", sustained, "deliveries/s sustained");
    report.figure("member_reconnects", board.reconnects.load(Ordering::Relaxed), "");
    let members = board.members as u64;
    let mut ledger = Ledger { sent: total as u64 * members, ..Ledger::default() };
    for (id, sent) in &s.sent {
        let got = board.get(id).map_or(0, |a| a.count as u64);
        ledger.delivered += got;
        ledger.delivered_ticks += sent.delivered.is_some() as u64 * members;
        if sent.committed {
            ledger.committed += members;
            ledger.lost += members.saturating_sub(got);
        } else if got == 0 {
            ledger.unconfirmed += members;
        }
    }
    ledger.duplicated = board.duplicated.load(Ordering::Relaxed);
    ledger.unexpected = board.unexpected.load(Ordering::Relaxed);
    ledger.redeliveries = redeliveries;
    report.note(format!("{} group messages; ledger counts are per member", total));
    report.ledger = ledger;
    Ok(report)
}

#[derive(Clone, Copy)]
struct Sent {
    at: Instant,
    committed: bool,
    delivered: Option<Instant>,
}

struct GroupSender {
    conn: Connection,
    group: GroupId,
    body: String,
    sent: HashMap<MessageId, Sent>,
    ticked: usize,
}

impl GroupSender {
    async fn send(&mut self, board: &Board) -> Result<MessageId, ClientError> {
        let id = Uuid::now_v7();
        board.expect(id);
        let frame = self.conn.state.outbox.queue(id, Recipient::Group(self.group), self.body.clone());
        self.sent.insert(id, Sent { at: Instant::now(), committed: false, delivered: None });
        self.conn.send_frame(&frame).await?;
        Ok(id)
    }

    /// Reads the sender's own frames (SENT, progress, receipts) until `done` or `until`.
    async fn pump(
        &mut self,
        board: &Board,
        until: Instant,
        done: impl Fn(&GroupSender, &Board) -> bool,
    ) -> Result<(), ClientError> {
        while !done(self, board) && Instant::now() < until {
            tokio::select! {
                frame = self.conn.recv_frame() => {
                    let mut frame = Some(frame?);
                    let mut taken = 0;
                    while let Some(f) = frame.take() {
                        taken += 1;
                        if let Some(Event::Tick(change)) = self.conn.absorb(f).await?
                            && let Some(sent) = self.sent.get_mut(&change.id)
                        {
                            sent.committed = true;
                            if change.to >= TickState::Delivered && sent.delivered.is_none() {
                                sent.delivered = Some(Instant::now());
                                self.ticked += 1;
                            }
                        }
                        if taken < BATCH {
                            frame = self.conn.recv_frame().now_or_never().transpose()?;
                        }
                    }
                    self.conn.ack().await?;
                }
                _ = board.complete.notified() => {}
                _ = tokio::time::sleep_until(until) => {}
            }
        }
        Ok(())
    }
}

/// One member: online until stopped, acknowledging what arrives in batches,
/// reconnecting with backoff if its connection fails.
async fn member(i: usize, device: Registration, dialer: Arc<Dialer>, board: Arc<Board>, stop: CancellationToken) {
    let mut state = DeviceState::new(device);
    let mut seen: HashSet<MessageId> = HashSet::new();
    let mut first = true;
    let mut attempt = 0;
    while !stop.is_cancelled() && attempt < 20 {
        let mut conn = match dialer.connect(i, state.clone()).await {
            Ok(conn) => conn,
            Err(_) => {
                attempt += 1;
                tokio::time::sleep(Duration::from_millis(backoff().delay_ms(attempt, fastrand::f64()))).await;
                continue;
            }
        };
        attempt = 0;
        conn.auto_ack = false;
        if first {
            board.ready.fetch_add(1, Ordering::Relaxed);
            first = false;
        } else {
            board.reconnects.fetch_add(1, Ordering::Relaxed);
        }
        let mut next_heartbeat = Instant::now() + HEARTBEAT.mul_f64(fastrand::f64());
        let ended: Result<(), ClientError> = loop {
            tokio::select! {
                _ = stop.cancelled() => {
                    let _ = conn.close().await;
                    return;
                }
                _ = tokio::time::sleep_until(next_heartbeat) => {
                    next_heartbeat += HEARTBEAT;
                    if let Err(e) = conn.send_frame(&ClientFrame::Heartbeat).await {
                        break Err(e);
                    }
                }
                frame = conn.recv_frame() => {
                    let result = async {
                        let mut frame = Some(frame?);
                        let mut taken = 0;
                        while let Some(f) = frame.take() {
                            taken += 1;
                            if let Some(Event::Message { message, .. }) = conn.absorb(f).await? {
                                if seen.insert(message.id) {
                                    board.arrive(message.id);
                                } else {
                                    board.duplicated.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                            if taken < BATCH {
                                frame = conn.recv_frame().now_or_never().transpose()?;
                            }
                        }
                        conn.ack().await
                    }
                    .await;
                    if let Err(e) = result {
                        break Err(e);
                    }
                }
            }
        };
        let _ = ended;
        state = conn.drop_abruptly();
    }
}
