//! One student's lab as `classroom` drives it: the lab's three phones (You, Alice, Bob)
//! with their connections, the ledger book of every 1:1 message Alice sends Bob, and
//! what one step records ([`StepOutcome`]). The book itself is in `book`.
//!
//! [`Student::pump`] reads Alice's and Bob's sockets together, the way the page's two
//! phones listen at once: every event passes through the book first (a SENT or DELIVERED
//! tick at Alice, a message shown at Bob), then to the step that waits for it. So a
//! receipt that arrives while another step runs is still counted, and the ledger at the
//! end is exact whatever order things happened in.
//!
//! Open connections heartbeat every second whenever the student waits (thinking, an HTTP
//! call, a pump; CPU-heavy crypto runs on a blocking thread meanwhile): the lab's
//! presence TTL is 8 s, and a silent phone would be closed with `presence_expired`.

use std::future::pending;
use std::time::Duration;

use bluetick_client::{ClientError, Connection, DeviceState, Event};
use bluetick_shared::frames::{ClientFrame, Registration, ServerFrame};
use bluetick_shared::ledger::Ledger;
use serde::de::DeserializeOwned;
use tokio::time::Instant;

pub use super::book::Book;
use super::lab_http::{CallError, LabHttp, Refusal};
use crate::net::Dialer;

/// How long one step may wait for what it expects before it is an error.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(15);
/// How often an open connection that has nothing to say sends a heartbeat (the lab's
/// presence TTL is 8 s by default; lab devices heartbeat four times per TTL).
const HEARTBEAT: Duration = Duration::from_secs(1);
/// Loopback source addresses the phones' connections are spread over.
const SOURCES: u8 = 4;

/// What one step of one student recorded.
#[derive(Debug, Default)]
pub struct StepOutcome {
    /// The step's reaction time, and any further figures (`ticks` also records send →
    /// READ), by name; the first is the step's own.
    pub reactions: Vec<(&'static str, Duration)>,
    /// Every 4xx/5xx answer the step got.
    pub refusals: Vec<Refusal>,
    /// Counters the step keeps (hellos refused during an outage, …), by name.
    pub counts: Vec<(&'static str, u64)>,
    /// Time spent waiting for the server's one load-run slot.
    pub queue_wait: Option<Duration>,
    /// Why the step did not complete, if it did not; `None` with `completed` false means
    /// it was refused (see `refusals`).
    pub error: Option<String>,
    /// Whether the step did everything it should.
    pub completed: bool,
}

/// How a step ended early.
#[derive(Debug)]
pub enum Fail {
    /// Something unexpected: a timeout, a wrong answer, a lost connection.
    Error(String),
    /// The server said no (already in the step's refusals).
    Refused,
}

impl From<String> for Fail {
    fn from(why: String) -> Fail {
        Fail::Error(why)
    }
}

impl From<&str> for Fail {
    fn from(why: &str) -> Fail {
        Fail::Error(why.to_string())
    }
}

impl From<ClientError> for Fail {
    fn from(e: ClientError) -> Fail {
        Fail::Error(e.to_string())
    }
}

impl StepOutcome {
    /// Records a call's refusal and turns the call's error into the step's.
    pub fn refused(&mut self, e: CallError) -> Fail {
        match e {
            CallError::Refused(r) => {
                self.refusals.push(r);
                Fail::Refused
            }
            CallError::Broken(why) => Fail::Error(why),
        }
    }
}

/// Whose token authorises a call: You's (the lab controls, as the page does) or
/// Alice's (her group and its crowd).
#[derive(Debug, Clone, Copy)]
pub enum As {
    /// The lab's first device.
    You,
    /// The sender.
    Alice,
}

/// Which of the two phones an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// Alice, who sends.
    Alice,
    /// Bob, who receives.
    Bob,
}

/// What [`Student::pump`] shows a waiting step.
pub enum Seen<'a> {
    /// An event on a phone's connection, and when it was read.
    Event(Who, &'a Event, Instant),
    /// A phone's connection ended (it is now offline, its state kept).
    Lost(Who, &'a ClientError),
}

/// One phone: its registration and either a live connection or its state between
/// connections.
pub struct Phone {
    /// The device's identity and token.
    pub reg: Registration,
    /// The live connection, if it is online.
    pub conn: Option<Connection>,
    idle: Option<DeviceState>,
    last_frame: Instant,
    /// Which loopback source address the dialer gives it.
    source: usize,
}

impl Phone {
    fn new(reg: Registration, source: usize) -> Phone {
        Phone { idle: Some(DeviceState::new(reg.clone())), reg, conn: None, last_frame: Instant::now(), source }
    }

    /// Opens a connection (resuming after the inbox cursor, resending what has no SENT),
    /// with Nagle off as a browser's WebSocket has it: otherwise an ack followed by a
    /// read frame waits ~40 ms for a delayed TCP ACK, and the figures show the client.
    pub async fn connect(&mut self, dialer: &Dialer) -> Result<(), ClientError> {
        if self.conn.is_some() {
            return Ok(());
        }
        let state = self.idle.clone().expect("an offline phone keeps its state");
        let conn = dialer.connect(self.source, state).await?;
        self.idle = None;
        self.conn = Some(conn);
        self.last_frame = Instant::now();
        Ok(())
    }

    /// Closes the connection cleanly, if open.
    pub async fn close(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.idle = Some(conn.close().await);
        }
    }

    /// Forgets a connection that ended (without a close handshake).
    pub fn lost(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.idle = Some(conn.drop_abruptly());
        }
    }

    /// The open connection, or an error naming the phone.
    pub fn live(&mut self) -> Result<&mut Connection, Fail> {
        let name = self.reg.name.clone();
        self.last_frame = Instant::now();
        self.conn.as_mut().ok_or_else(|| Fail::Error(format!("{name} is not connected")))
    }

    async fn keepalive(&mut self) {
        if let Some(conn) = &mut self.conn
            && self.last_frame.elapsed() >= HEARTBEAT
        {
            self.last_frame = Instant::now();
            if conn.send_frame(&ClientFrame::Heartbeat).await.is_err() {
                self.lost();
            }
        }
    }
}

/// One student: a lab, its phones and its book.
pub struct Student {
    /// Which student (0-based).
    pub index: usize,
    /// The server's HTTP API.
    pub http: LabHttp,
    /// Opens the phones' WebSockets.
    pub dialer: Dialer,
    /// The lab's first device: the page's own, which authorises the lab controls.
    pub you: Phone,
    /// The lab's sender.
    pub alice: Phone,
    /// The lab's recipient.
    pub bob: Phone,
    /// The 1:1 ledger.
    pub book: Book,
    /// Other parts of the ledger (the group message, the load run).
    pub ledgers: Vec<(&'static str, Ledger)>,
}

async fn recv(conn: &mut Option<Connection>) -> Result<ServerFrame, ClientError> {
    match conn {
        Some(conn) => conn.recv_frame().await,
        None => pending().await,
    }
}

impl Student {
    /// A student whose lab has the devices `devices` (You, Alice, Bob).
    pub fn new(index: usize, http: LabHttp, devices: Vec<Registration>) -> Result<Student, String> {
        let [you, alice, bob]: [Registration; 3] =
            devices.try_into().map_err(|d: Vec<_>| format!("a lab has 3 devices, this one {}", d.len()))?;
        Ok(Student {
            index,
            http,
            dialer: Dialer::new(http.addr, SOURCES),
            you: Phone::new(you, 3 * index),
            alice: Phone::new(alice, 3 * index + 1),
            bob: Phone::new(bob, 3 * index + 2),
            book: Book::default(),
            ledgers: Vec::new(),
        })
    }

    /// Sends heartbeats on connections that have been quiet.
    pub async fn keepalive(&mut self) {
        self.you.keepalive().await;
        self.alice.keepalive().await;
        self.bob.keepalive().await;
    }

    /// Runs CPU-heavy client work (making keys, encrypting, decrypting: seconds in a
    /// debug build, longer with a class of students on two cores) on a blocking thread
    /// with its own small runtime, heartbeating meanwhile. On the shared runtime it would
    /// stall every student's heartbeats past the presence TTL, and the figures would show
    /// the load generator starving, not the server.
    pub async fn busy<T, F>(&mut self, work: impl FnOnce() -> F + Send + 'static) -> Result<T, String>
    where
        T: Send + 'static,
        F: Future<Output = T>,
    {
        let handle = tokio::task::spawn_blocking(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
            runtime.block_on(work())
        });
        self.alive(handle).await.map_err(|e| format!("the work failed: {e}"))
    }

    /// Awaits `work` (which must not need this student), heartbeating meanwhile.
    pub async fn alive<T>(&mut self, work: impl Future<Output = T>) -> T {
        let mut work = std::pin::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return done,
                _ = tokio::time::sleep(HEARTBEAT / 2) => self.keepalive().await,
            }
        }
    }

    /// A lab call as `who`, heartbeating while it waits.
    pub async fn call<T: DeserializeOwned>(
        &mut self,
        who: As,
        method: &str,
        path: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<T, CallError> {
        let reg = match who {
            As::You => self.you.reg.clone(),
            As::Alice => self.alice.reg.clone(),
        };
        let http = self.http;
        self.alive(http.call(Some(&reg), method, path, body)).await
    }

    /// Waits `think`, heartbeating meanwhile, as a student reads before the next step.
    pub async fn think(&mut self, think: Duration) {
        let end = Instant::now() + think;
        while Instant::now() < end {
            tokio::time::sleep_until(end.min(Instant::now() + HEARTBEAT / 2)).await;
            self.keepalive().await;
        }
    }

    /// Reads Alice's and Bob's connections until `wait` says done (`Ok(true)`) or fails,
    /// or `deadline` passes. Every event goes through the book first (`wait` sees it
    /// after); a server error
    /// frame fails the wait; a lost connection is shown to `wait` (and the phone goes
    /// offline).
    pub async fn pump(
        &mut self,
        deadline: Instant,
        what: &str,
        mut wait: impl FnMut(Seen<'_>, &Book) -> Result<bool, String>,
    ) -> Result<(), Fail> {
        let mut beat = tokio::time::interval(HEARTBEAT);
        loop {
            let (who, frame) = tokio::select! {
                frame = recv(&mut self.alice.conn) => (Who::Alice, frame),
                frame = recv(&mut self.bob.conn) => (Who::Bob, frame),
                _ = beat.tick() => {
                    self.keepalive().await;
                    continue;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(Fail::Error(format!("timed out waiting for {what}")));
                }
            };
            let now = Instant::now();
            let phone = match who {
                Who::Alice => &mut self.alice,
                Who::Bob => &mut self.bob,
            };
            let absorbed = match frame {
                Ok(frame) => phone.conn.as_mut().expect("a frame came from it").absorb(frame).await,
                Err(e) => Err(e),
            };
            let done = match absorbed {
                Ok(None) => false,
                Ok(Some(Event::Error { code, message, .. })) => {
                    return Err(Fail::Error(format!("{who:?}'s frame was refused: {code:?}: {message}")));
                }
                Ok(Some(event)) => {
                    self.book.observe(who, &event);
                    wait(Seen::Event(who, &event, now), &self.book)?
                }
                Err(e) => {
                    phone.lost();
                    wait(Seen::Lost(who, &e), &self.book)?
                }
            };
            if done {
                return Ok(());
            }
        }
    }

    /// Polls `GET /api/lab` until `device` reads offline (a clean close takes the server a
    /// moment to see), so that what is sent next really waits in its queue.
    pub async fn wait_offline(&mut self, out: &mut StepOutcome, device: &Registration) -> Result<(), Fail> {
        let deadline = Instant::now() + STEP_TIMEOUT;
        loop {
            let view: serde_json::Value =
                self.call(As::You, "GET", "/api/lab", None).await.map_err(|e| out.refused(e))?;
            let online = view["devices"]
                .as_array()
                .and_then(|ds| ds.iter().find(|d| d["device_id"].as_str() == Some(&device.device_id.to_string())))
                .and_then(|d| d["online"].as_bool());
            match online {
                Some(false) => return Ok(()),
                Some(true) if Instant::now() < deadline => tokio::time::sleep(Duration::from_millis(50)).await,
                Some(true) => return Err(format!("{} still reads online", device.name).into()),
                None => return Err(format!("GET /api/lab does not list {}", device.name).into()),
            }
        }
    }

    /// Waits until everything in the book is committed, shown and ticked DELIVERED (or
    /// `wait` passes), reconnecting Alice and Bob whenever they are offline: a
    /// reconnect resends what has no SENT and resumes Bob's inbox, as the page's would.
    pub async fn settle(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        while !self.book.settled() && Instant::now() < deadline {
            let _ = self.alice.connect(&self.dialer).await;
            let _ = self.bob.connect(&self.dialer).await;
            let pumped = self
                .pump(deadline, "the last ticks", |seen, book| Ok(matches!(seen, Seen::Lost(..)) || book.settled()));
            if pumped.await.is_err() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A pump wait for steps that do not expect either phone to go offline.
pub fn no_loss(seen: &Seen<'_>) -> Result<(), String> {
    match seen {
        Seen::Lost(who, e) => Err(format!("{who:?}'s connection ended: {e}")),
        Seen::Event(..) => Ok(()),
    }
}
