//! A device in the page: a [`LiveConnection`] plus what a phone keeps between
//! connections — the shared [`InboxCursor`] (drop redeliveries, ack cumulatively) and
//! [`Outbox`] (resend unacknowledged sends with the same id, ticks only move forward) —
//! and the signals the offline-queue and tick-pipeline labs draw.
//!
//! A device can be *paced*: it handles one pushed entry every `pace_ms` and acks each
//! as it goes, so a student can watch a backlog flush in order instead of seeing it
//! land in one frame. Pacing delays only the phone's handling; what the server does is
//! untouched, and the server-side queue view shows the acks draining it.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;

use bluetick_shared::e2e::Decrypted;
use bluetick_shared::e2e::envelope::Envelope;
use bluetick_shared::e2e::inspect::fingerprint;
use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{
    ClientFrame, Credentials, Delivery, DeviceId, GroupProgress, MessageId, Recipient, Registration, ServerFrame,
    TickState, TraceStage, UserId,
};
use bluetick_shared::inbox::{Arrival, InboxCursor};
use bluetick_shared::outbox::Outbox;
use gloo_timers::callback::Interval;
use leptos::prelude::*;

use super::connection::{Hooks, LiveConnection};
use super::e2e::PageCrypto;
use crate::clock;
use crate::components::event_log::LogLine;

const LOG_LIMIT: usize = 200;
/// Messages and sent items a phone keeps on screen.
const KEPT: usize = 100;

/// A message this device received.
#[derive(Debug, Clone, PartialEq)]
pub struct Received {
    pub seq: u64,
    pub id: MessageId,
    pub from_name: String,
    /// What the phone shows: the plaintext (decrypted, if it came encrypted).
    pub body: String,
    pub read: bool,
    /// How it was protected on the way ("Olm pre-key message", "Megolm #3"), if it was.
    pub lock: Option<String>,
}

/// One server step of a sent message, from its trace events.
#[derive(Debug, Clone, PartialEq)]
pub struct StageEvent {
    pub stage: TraceStage,
    /// Microseconds after the send button was pressed.
    pub after_us: i64,
    pub detail: String,
}

/// A message this device sent, and how far it got.
#[derive(Debug, Clone, PartialEq)]
pub struct SentMessage {
    pub id: MessageId,
    pub body: String,
    pub tick: Option<TickState>,
    /// `sent` acks received for this id (a retry storm gets one per resend).
    pub acks: u32,
    /// Send frames put on the wire for this id.
    pub sends: u32,
    pub failed_reason: Option<String>,
    pub error: Option<String>,
    pub sent_at_us: i64,
    /// The message's own steps (for a group: those not about one member's device).
    pub stages: Vec<StageEvent>,
    pub group: bool,
}

/// What a watched user's presence is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PresenceState {
    pub online: bool,
    pub last_seen: Option<i64>,
}

/// One member-level step of a group message: which device, what, when (µs since epoch).
pub type MemberTrace = (MessageId, TraceStage, Option<DeviceId>, i64);

#[derive(Clone, Copy)]
pub struct DeviceSignals {
    pub received: RwSignal<Vec<Received>>,
    pub sent: RwSignal<Vec<SentMessage>>,
    /// The frames this device sent and handled, for its log.
    pub log: RwSignal<Vec<LogLine>>,
    /// Pushed entries not handled yet (a paced device's backlog on screen).
    pub handling: RwSignal<usize>,
    /// Set once the server said the backlog was pushed and the phone handled it all.
    pub drained: RwSignal<Option<u64>>,
    /// Delivered and read counts of group messages, kept apart from `sent` because they
    /// change hundreds of times a second during a fan-out.
    pub progress: RwSignal<HashMap<MessageId, GroupProgress>>,
    /// Presence of the users this device watches.
    pub presence: RwSignal<HashMap<UserId, PresenceState>>,
}

struct Inner {
    registration: Registration,
    inbox: InboxCursor,
    outbox: Outbox,
    pending: VecDeque<ServerFrame>,
    pace_ms: u32,
    pacer: Option<Interval>,
    observe: Vec<Recipient>,
    watching: Vec<UserId>,
    /// Gets each group message's per-member traces (the fan-out grid), which are far too
    /// many to keep in a signal.
    member_traces: Option<Rc<dyn Fn(MemberTrace)>>,
    /// This device's end-to-end keys and sessions, if it encrypts.
    crypto: Option<Rc<PageCrypto>>,
    /// Inbox numbers of encrypted messages waiting for their group key.
    waiting_seqs: HashMap<MessageId, u64>,
    next_log_id: u64,
}

#[derive(Clone)]
pub struct LiveDevice {
    inner: Rc<RefCell<Inner>>,
    pub connection: LiveConnection,
    pub signals: DeviceSignals,
}

fn cursor_key(registration: &Registration) -> String {
    format!("bluetick.cursor.{}", registration.device_id)
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok()?
}

impl LiveDevice {
    /// A device that will connect as `registration`, handling one pushed entry every
    /// `pace_ms` (0: at once), and observing the pipeline of its conversation with
    /// `observe` once connected.
    pub fn new(registration: Registration, pace_ms: u32, observe: Option<Recipient>) -> LiveDevice {
        // Where this phone got to on an earlier visit, so a reload does not replay history.
        let have = storage()
            .and_then(|s| s.get_item(&cursor_key(&registration)).ok().flatten())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let name = registration.name.clone();
        let signals = DeviceSignals {
            received: RwSignal::new(Vec::new()),
            sent: RwSignal::new(Vec::new()),
            log: RwSignal::new(Vec::new()),
            handling: RwSignal::new(0),
            drained: RwSignal::new(None),
            presence: RwSignal::new(HashMap::new()),
            progress: RwSignal::new(HashMap::new()),
        };
        let device = LiveDevice {
            inner: Rc::new(RefCell::new(Inner {
                registration,
                inbox: InboxCursor::new(have),
                outbox: Outbox::new(),
                pending: VecDeque::new(),
                pace_ms,
                pacer: None,
                observe: observe.into_iter().collect(),
                watching: Vec::new(),
                member_traces: None,
                crypto: None,
                waiting_seqs: HashMap::new(),
                next_log_id: 0,
            })),
            connection: LiveConnection::new(super::ws_url(), &name),
            signals,
        };
        device.install_hooks();
        device
    }

    pub fn user_id(&self) -> bluetick_shared::frames::UserId {
        self.inner.borrow().registration.user_id
    }

    pub fn device_id(&self) -> bluetick_shared::frames::DeviceId {
        self.inner.borrow().registration.device_id
    }

    /// Also observe the pipeline of the conversation with `with`, now and after every
    /// reconnect.
    pub fn observe(&self, with: Recipient) {
        let known = self.inner.borrow().observe.contains(&with);
        if !known {
            self.inner.borrow_mut().observe.push(with);
        }
        if self.connection.is_ready() {
            self.put(&ClientFrame::Observe { with });
        }
    }

    /// Watch these users' presence, now and after every reconnect.
    pub fn watch(&self, users: Vec<UserId>) {
        {
            let mut inner = self.inner.borrow_mut();
            for user in &users {
                if !inner.watching.contains(user) {
                    inner.watching.push(*user);
                }
            }
        }
        if self.connection.is_ready() {
            self.put(&ClientFrame::WatchPresence { users });
        }
    }

    /// From now on, decrypt what arrives with `crypto` (and let senders use it).
    pub fn set_crypto(&self, crypto: Rc<PageCrypto>) {
        self.inner.borrow_mut().crypto = Some(crypto);
    }

    pub fn crypto(&self) -> Option<Rc<PageCrypto>> {
        self.inner.borrow().crypto.clone()
    }

    /// Where per-member traces of group messages go.
    pub fn on_member_trace(&self, listener: impl Fn(MemberTrace) + 'static) {
        self.inner.borrow_mut().member_traces = Some(Rc::new(listener));
    }

    fn install_hooks(&self) {
        let weak = Rc::downgrade(&self.inner);
        let (signals, connection) = (self.signals, self.connection.clone());
        let rebuild = move || weak.upgrade().map(|inner| LiveDevice { inner, connection: connection.clone(), signals });
        let hello = {
            let rebuild = rebuild.clone();
            move || {
                let device = rebuild().expect("the device outlives its connection");
                let inner = device.inner.borrow();
                let credentials =
                    Credentials { device_id: inner.registration.device_id, token: inner.registration.token.clone() };
                ClientFrame::hello_as("bluetick-web", credentials, inner.inbox.resume_after())
            }
        };
        let on_frame = {
            let rebuild = rebuild.clone();
            move |frame| {
                if let Some(device) = rebuild() {
                    device.on_frame(frame);
                }
            }
        };
        let on_welcome = {
            let rebuild = rebuild.clone();
            move || {
                if let Some(device) = rebuild() {
                    device.on_welcome();
                }
            }
        };
        let on_down = move || {
            if let Some(device) = rebuild() {
                device.on_down();
            }
        };
        self.connection.set_hooks(Hooks {
            hello: Box::new(hello),
            on_frame: Box::new(on_frame),
            on_welcome: Box::new(on_welcome),
            on_down: Box::new(on_down),
        });
    }

    fn log(&self, text: String) {
        let id = {
            let mut inner = self.inner.borrow_mut();
            inner.next_log_id += 1;
            inner.next_log_id
        };
        let line = LogLine { id, time: clock::time_of_day(clock::now_ms()), text };
        self.signals.log.update(|log| {
            log.push(line);
            if log.len() > LOG_LIMIT {
                log.remove(0);
            }
        });
    }

    fn put(&self, frame: &ClientFrame) -> bool {
        match self.connection.send(frame) {
            Ok(()) => true,
            Err(e) => {
                self.log(format!("could not send: {e}"));
                false
            }
        }
    }

    /// Sends a new message; it waits in the outbox (and is resent with the same id) until
    /// the server acknowledges it.
    pub fn send_text(&self, to: Recipient, body: String) -> MessageId {
        self.send_body(to, body.clone(), body)
    }

    /// Sends `wire` (say, an envelope of ciphertext) while the phone shows `shown`.
    pub fn send_body(&self, to: Recipient, shown: String, wire: String) -> MessageId {
        let id = uuid::Uuid::now_v7();
        let frame = self.inner.borrow_mut().outbox.queue(id, to, wire.clone());
        let body = wire;
        self.signals.sent.update(|sent| {
            sent.push(SentMessage {
                id,
                body: shown,
                tick: None,
                acks: 0,
                sends: 0,
                failed_reason: None,
                error: None,
                sent_at_us: clock::now_ms() as i64 * 1000,
                stages: Vec::new(),
                group: matches!(to, Recipient::Group(_)),
            });
            if sent.len() > KEPT {
                sent.remove(0);
            }
        });
        if self.connection.is_ready() {
            self.transmit(&frame, &body);
        } else {
            self.log(format!("offline: {} waits in the outbox", loggable(&body)));
        }
        id
    }

    /// Puts the send frame of message `id` on the wire again, same id: what a client
    /// does when it is unsure the first one arrived.
    pub fn resend(&self, id: MessageId) {
        let frame =
            self.inner.borrow().outbox.get(&id).map(|m| ClientFrame::Send { id, to: m.to, body: m.body.clone() });
        if let Some(frame) = frame {
            let body = match &frame {
                ClientFrame::Send { body, .. } => body.clone(),
                _ => String::new(),
            };
            self.transmit(&frame, &body);
        }
    }

    fn transmit(&self, frame: &ClientFrame, body: &str) {
        let Some(id) = frame.message_id() else { return };
        if self.put(frame) {
            self.log(format!("→ send {} (id …{})", loggable(body), short(id)));
            self.signals.sent.update(|sent| {
                if let Some(m) = sent.iter_mut().find(|m| m.id == id) {
                    m.sends += 1;
                }
            });
        }
    }

    /// Marks every unread received message read and tells the sender (blue ticks).
    pub fn read_all(&self) -> usize {
        let unread: Vec<u64> =
            self.signals.received.with_untracked(|r| r.iter().filter(|m| !m.read).map(|m| m.seq).collect());
        if unread.is_empty() {
            return 0;
        }
        if self.put(&ClientFrame::Read { seqs: unread.clone() }) {
            self.log(format!("→ read {} message(s)", unread.len()));
            self.signals.received.update(|r| r.iter_mut().for_each(|m| m.read = true));
        }
        unread.len()
    }

    fn on_welcome(&self) {
        self.log("← welcome: connected as this device".into());
        self.signals.drained.set(None);
        let (observe, watching, unacknowledged) = {
            let inner = self.inner.borrow();
            (inner.observe.clone(), inner.watching.clone(), inner.outbox.unacknowledged())
        };
        for with in observe {
            self.put(&ClientFrame::Observe { with });
        }
        if !watching.is_empty() {
            self.put(&ClientFrame::WatchPresence { users: watching });
        }
        // An ack whose connection died before the server read it goes again.
        self.ack();
        for frame in unacknowledged {
            if let ClientFrame::Send { body, .. } = &frame {
                let body = body.clone();
                self.log(format!("resending {} with its original id", loggable(&body)));
                self.transmit(&frame, &body);
            }
        }
    }

    fn on_down(&self) {
        // Entries pushed but not handled were not acknowledged: the server pushes them
        // again after the next hello, so the phone forgets them rather than handle them
        // without a connection to ack on.
        let mut inner = self.inner.borrow_mut();
        inner.pending.clear();
        inner.pacer = None;
        drop(inner);
        self.signals.handling.set(0);
        self.log("connection lost".into());
    }

    fn on_frame(&self, frame: ServerFrame) {
        match frame {
            ServerFrame::Sent { id, .. } => {
                self.inner.borrow_mut().outbox.advance(id, TickState::Sent);
                self.log(format!("← sent ✓ (id …{})", short(id)));
                self.signals.sent.update(|sent| {
                    if let Some(m) = sent.iter_mut().find(|m| m.id == id) {
                        m.acks += 1;
                        m.tick = self.inner.borrow().outbox.state(&id);
                    }
                });
            }
            frame @ (ServerFrame::Message { .. } | ServerFrame::Receipt { .. } | ServerFrame::Drained { .. }) => {
                self.inner.borrow_mut().pending.push_back(frame);
                self.signals.handling.set(self.inner.borrow().pending.len());
                self.pump();
            }
            ServerFrame::Trace { id, stage, at_us, detail, device } => {
                let group = self.signals.sent.with_untracked(|s| s.iter().any(|m| m.id == id && m.group));
                if group && device.is_some() {
                    let listener = self.inner.borrow().member_traces.clone();
                    if let Some(listener) = listener {
                        listener((id, stage, device, at_us));
                    }
                    return;
                }
                self.signals.sent.update(|sent| {
                    if let Some(m) = sent.iter_mut().find(|m| m.id == id) {
                        m.stages.push(StageEvent { stage, after_us: (at_us - m.sent_at_us).max(0), detail });
                    }
                });
            }
            ServerFrame::GroupProgress { id, progress } => self.set_progress(id, progress),
            ServerFrame::Presence { user, online, last_seen } => {
                self.signals.presence.update(|p| {
                    p.insert(user, PresenceState { online, last_seen });
                });
            }
            ServerFrame::Error { code, id, message } => {
                self.log(format!("← error {code:?}: {message}"));
                if code == ErrorCode::PresenceExpired && self.connection.heartbeats_paused() {
                    // A frozen phone does not reconnect either: it stays offline until
                    // the student resumes it.
                    self.connection.disconnect();
                }
                if let Some(id) = id {
                    self.signals.sent.update(|sent| {
                        if let Some(m) = sent.iter_mut().find(|m| m.id == id) {
                            m.error = Some(message.clone());
                        }
                    });
                }
            }
            _ => {}
        }
    }

    /// Handles pushed entries: all at once, or one per tick of the pacer.
    fn pump(&self) {
        let pace = self.inner.borrow().pace_ms;
        if pace == 0 {
            while self.handle_next() {}
            return;
        }
        if self.inner.borrow().pacer.is_some() {
            return;
        }
        let weak = Rc::downgrade(&self.inner);
        let (signals, connection) = (self.signals, self.connection.clone());
        let pacer = Interval::new(pace, move || {
            let Some(inner) = weak.upgrade() else { return };
            let device = LiveDevice { inner, connection: connection.clone(), signals };
            if !device.handle_next() {
                device.inner.borrow_mut().pacer = None;
            }
        });
        self.inner.borrow_mut().pacer = Some(pacer);
    }

    /// Handles one pushed entry; false if there was none.
    fn handle_next(&self) -> bool {
        let Some(frame) = self.inner.borrow_mut().pending.pop_front() else { return false };
        self.signals.handling.set(self.inner.borrow().pending.len());
        match frame {
            ServerFrame::Message { seq, message } => {
                if self.arrive(seq) {
                    self.log(format!("← message #{seq} from {}: {}", message.from_name, loggable(&message.body)));
                    let shown = self.open(seq, message);
                    if !shown.is_empty() {
                        self.signals.received.update(|r| {
                            r.extend(shown);
                            while r.len() > KEPT {
                                r.remove(0);
                            }
                        });
                    }
                }
                self.ack();
            }
            ServerFrame::Receipt { seq, id, state, reason, progress, .. } => {
                if let Some(progress) = progress {
                    self.set_progress(id, progress);
                }
                if self.arrive(seq) {
                    let change = self.inner.borrow_mut().outbox.advance(id, state);
                    if change.is_some() {
                        self.log(format!("← receipt {} (id …{})", state_name(state), short(id)));
                        self.signals.sent.update(|sent| {
                            if let Some(m) = sent.iter_mut().find(|m| m.id == id) {
                                m.tick = Some(state);
                                if state == TickState::Failed {
                                    m.failed_reason = reason.clone();
                                }
                            }
                        });
                    }
                }
                self.ack();
            }
            ServerFrame::Drained { up_to } => {
                self.log(format!("← drained: every queued entry up to #{up_to} delivered; queue drained"));
                self.signals.drained.set(Some(up_to));
            }
            _ => {}
        }
        true
    }

    /// What the phone shows for a delivery: as is, or decrypted. A group key shows
    /// nothing itself but may release group messages that were waiting for it.
    fn open(&self, seq: u64, message: Delivery) -> Vec<Received> {
        let crypto = self.inner.borrow().crypto.clone();
        let Some(crypto) = crypto.filter(|_| Envelope::parse(&message.body).is_some()) else {
            return vec![Received {
                seq,
                id: message.id,
                from_name: message.from_name,
                body: message.body,
                read: false,
                lock: None,
            }];
        };
        self.inner.borrow_mut().waiting_seqs.insert(message.id, seq);
        let mut shown = Vec::new();
        for opened in crypto.open(message) {
            let delivery = opened.delivery;
            let Some(seq) = self.inner.borrow_mut().waiting_seqs.remove(&delivery.id) else { continue };
            let (body, lock) = match opened.content {
                Ok(Decrypted::Plaintext(body)) => (body, None),
                Ok(Decrypted::Text { body, pre_key }) => {
                    (body, Some(if pre_key { "Olm pre-key message" } else { "Olm message" }.to_string()))
                }
                Ok(Decrypted::Group { body, message_index, .. }) => {
                    (body, Some(format!("Megolm message #{message_index}")))
                }
                Ok(Decrypted::RoomKey { session_id, .. }) => {
                    self.log(format!(
                        "group key from {} (session {}) installed",
                        delivery.from_name,
                        fingerprint(&session_id)
                    ));
                    continue;
                }
                Err(e) => (format!("⚠ cannot decrypt: {e}"), Some("undecryptable".to_string())),
            };
            self.log(format!("decrypted #{seq}: \"{body}\""));
            shown.push(Received { seq, id: delivery.id, from_name: delivery.from_name, body, read: false, lock });
        }
        shown
    }

    fn set_progress(&self, id: MessageId, progress: GroupProgress) {
        self.signals.progress.update(|all| {
            let merged = match all.get(&id) {
                Some(old) => GroupProgress {
                    delivered: old.delivered.max(progress.delivered),
                    read: old.read.max(progress.read),
                    total: old.total.max(progress.total),
                    fanned_out: old.fanned_out || progress.fanned_out,
                },
                None => progress,
            };
            all.insert(id, merged);
        });
    }

    /// Records an arrival; false for a redelivery (dropped, but acknowledged again).
    fn arrive(&self, seq: u64) -> bool {
        let arrival = self.inner.borrow_mut().inbox.arrive(seq);
        if arrival == Arrival::Duplicate {
            self.log(format!("dropped #{seq}: already have it (a redelivery)"));
        }
        arrival == Arrival::New
    }

    fn ack(&self) {
        let (due, key) = {
            let mut inner = self.inner.borrow_mut();
            (inner.inbox.ack_due(), cursor_key(&inner.registration))
        };
        if let Some(up_to) = due {
            if self.put(&ClientFrame::Ack { up_to }) {
                self.log(format!("→ ack up to #{up_to}"));
                if let Some(storage) = storage() {
                    let _ = storage.set_item(&key, &up_to.to_string());
                }
            } else {
                self.inner.borrow_mut().inbox.ack_lost(0);
            }
        }
    }
}

/// A body for the log: encrypted ones by size, not as a screen of base64.
fn loggable(body: &str) -> String {
    match Envelope::parse(body) {
        Some(_) => format!("{} bytes of ciphertext", body.len()),
        None => format!("\"{body}\""),
    }
}

fn short(id: MessageId) -> String {
    let text = id.simple().to_string();
    text[text.len() - 6..].to_string()
}

pub fn state_name(state: TickState) -> &'static str {
    match state {
        TickState::Sent => "SENT",
        TickState::Delivered => "DELIVERED",
        TickState::Read => "READ",
        TickState::Failed => "FAILED",
    }
}
