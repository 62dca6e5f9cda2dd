//! A device in the page: a [`LiveConnection`] and the shared [`Phone`] model bound to
//! the signals the labs draw, the page's clock and its `localStorage`.
//!
//! Everything a phone decides (what to show, what to ack, which tick a message has) is
//! in [`bluetick_shared::phone`], tested natively; this file only carries frames between
//! the connection and the model and mirrors the model's state into signals.
//!
//! A device can be *paced*: it handles one pushed entry every `pace_ms` and acks each
//! as it goes, so a student can watch a backlog flush in order instead of seeing it
//! land in one frame. Pacing delays only the phone's handling; what the server does is
//! untouched, and the server-side queue view shows the acks draining it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use bluetick_shared::e2e::receiver::Opened;
use bluetick_shared::frames::{
    ClientFrame, Credentials, Delivery, DeviceId, GroupProgress, MessageId, Recipient, Registration, UserId,
};
use bluetick_shared::phone::{Changed, Draft, Phone, PhoneIo};
pub use bluetick_shared::phone::{MemberTrace, PresenceState, Received, SentMessage, StageEvent};
use gloo_timers::callback::Interval;
use leptos::prelude::*;

use super::connection::{Hooks, LiveConnection};
use super::e2e::PageCrypto;
use crate::clock;
use crate::components::event_log::{self, LogLine};

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
    /// How far this phone has acknowledged its inbox; kept in `localStorage` so a
    /// reload resumes there instead of replaying history.
    pub acked: RwSignal<u64>,
}

struct Inner {
    registration: Registration,
    phone: Phone,
    pace_ms: u32,
    pacer: Option<Interval>,
    /// Gets each group message's per-member traces (the fan-out grid), which are far too
    /// many to keep in a signal.
    member_traces: Option<Rc<dyn Fn(MemberTrace)>>,
    /// This device's end-to-end keys and sessions, if it encrypts.
    crypto: Option<Rc<PageCrypto>>,
}

#[derive(Clone)]
pub struct LiveDevice {
    inner: Rc<RefCell<Inner>>,
    pub connection: LiveConnection,
    pub signals: DeviceSignals,
}

/// The phone's world while one of its calls runs: the connection, the log signal, the
/// page's crypto and the fan-out grid's listener.
struct PageIo<'a> {
    connection: &'a LiveConnection,
    log: RwSignal<Vec<LogLine>>,
    crypto: Option<Rc<PageCrypto>>,
    member_traces: Option<Rc<dyn Fn(MemberTrace)>>,
}

impl PhoneIo for PageIo<'_> {
    fn put(&mut self, frame: &ClientFrame) -> bool {
        match self.connection.send(frame) {
            Ok(()) => true,
            Err(e) => {
                self.log(format!("could not send: {e}"));
                false
            }
        }
    }

    fn log(&mut self, text: String) {
        event_log::append(self.log, text);
    }

    fn open(&mut self, delivery: Delivery) -> Option<Vec<Opened>> {
        self.crypto.as_ref().map(|crypto| crypto.open(delivery))
    }

    fn member_trace(&mut self, trace: MemberTrace) {
        if let Some(listener) = &self.member_traces {
            listener(trace);
        }
    }
}

fn cursor_key(registration: &Registration) -> String {
    format!("bluetick.cursor.{}", registration.device_id)
}

impl LiveDevice {
    /// A device that will connect as `registration`, handling one pushed entry every
    /// `pace_ms` (0: at once), and observing the pipeline of its conversation with
    /// `observe` once connected.
    pub fn new(registration: Registration, pace_ms: u32, observe: Option<Recipient>) -> LiveDevice {
        // Where this phone got to on an earlier visit, so a reload does not replay history.
        let key = cursor_key(&registration);
        let have = crate::storage::local()
            .and_then(|s| s.get_item(&key).ok().flatten())
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
            acked: RwSignal::new(have),
        };
        // The model says how far it acked; storage follows, outside the model's logic.
        Effect::new(move || {
            let up_to = signals.acked.get();
            if up_to != have
                && let Some(storage) = crate::storage::local()
            {
                let _ = storage.set_item(&key, &up_to.to_string());
            }
        });
        let mut phone = Phone::new(have);
        let connection = LiveConnection::new(super::ws_url(), &name);
        if let Some(with) = observe {
            phone.observe(with, false, &mut Self::io_for(&connection, signals.log));
        }
        let device = LiveDevice {
            inner: Rc::new(RefCell::new(Inner {
                registration,
                phone,
                pace_ms,
                pacer: None,
                member_traces: None,
                crypto: None,
            })),
            connection,
            signals,
        };
        device.install_hooks();
        device
    }

    pub fn user_id(&self) -> UserId {
        self.inner.borrow().registration.user_id
    }

    pub fn device_id(&self) -> DeviceId {
        self.inner.borrow().registration.device_id
    }

    /// Also observe the pipeline of the conversation with `with`, now and after every
    /// reconnect.
    pub fn observe(&self, with: Recipient) {
        let ready = self.connection.is_ready();
        self.with_phone(|phone, io| {
            phone.observe(with, ready, io);
            Changed::default()
        });
    }

    /// Watch these users' presence, now and after every reconnect.
    pub fn watch(&self, users: Vec<UserId>) {
        let ready = self.connection.is_ready();
        self.with_phone(|phone, io| {
            phone.watch(users, ready, io);
            Changed::default()
        });
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

    /// Sends a new message; it waits in the outbox (and is resent with the same id) until
    /// the server acknowledges it.
    pub fn send_text(&self, to: Recipient, body: String) -> MessageId {
        self.send_body(to, body.clone(), body)
    }

    /// Sends `wire` (say, an envelope of ciphertext) while the phone shows `shown`.
    pub fn send_body(&self, to: Recipient, shown: String, wire: String) -> MessageId {
        let id = uuid::Uuid::now_v7();
        let (now_us, ready) = (clock::now_ms() as i64 * 1000, self.connection.is_ready());
        self.with_phone(|phone, io| phone.send(Draft { id, to, shown, wire }, now_us, ready, io));
        id
    }

    /// Puts the send frame of message `id` on the wire again, same id: what a client
    /// does when it is unsure the first one arrived.
    pub fn resend(&self, id: MessageId) {
        self.with_phone(|phone, io| phone.resend(id, io));
    }

    /// Marks every unread received message read and tells the sender (blue ticks).
    pub fn read_all(&self) -> usize {
        let mut count = 0;
        self.with_phone(|phone, io| {
            let (n, changed) = phone.read_all(io);
            count = n;
            changed
        });
        count
    }

    fn io_for(connection: &LiveConnection, log: RwSignal<Vec<LogLine>>) -> PageIo<'_> {
        PageIo { connection, log, crypto: None, member_traces: None }
    }

    /// Runs one call of the phone model with this page as its world, then mirrors what
    /// the call changed into the signals.
    fn with_phone(&self, call: impl FnOnce(&mut Phone, &mut PageIo<'_>) -> Changed) {
        let changed = {
            let mut inner = self.inner.borrow_mut();
            let mut io = PageIo {
                connection: &self.connection,
                log: self.signals.log,
                crypto: inner.crypto.clone(),
                member_traces: inner.member_traces.clone(),
            };
            call(&mut inner.phone, &mut io)
        };
        self.show(changed);
    }

    fn show(&self, changed: Changed) {
        let inner = self.inner.borrow();
        let (phone, signals) = (&inner.phone, self.signals);
        if changed.received {
            signals.received.set(phone.received().to_vec());
        }
        if changed.sent {
            signals.sent.set(phone.sent().to_vec());
        }
        if changed.progress {
            signals.progress.set(phone.progress().clone());
        }
        if changed.presence {
            signals.presence.set(phone.presence().clone());
        }
        if changed.handling {
            signals.handling.set(phone.handling());
        }
        if let Some(up_to) = changed.drained {
            signals.drained.set(Some(up_to));
        }
        if let Some(up_to) = changed.acked {
            signals.acked.set(up_to);
        }
        drop(inner);
        if changed.presence_expired && self.connection.heartbeats_paused() {
            // A frozen phone does not reconnect either: it stays offline until the
            // student resumes it.
            self.connection.disconnect();
        }
    }

    fn install_hooks(&self) {
        let weak = Rc::downgrade(&self.inner);
        let (signals, connection) = (self.signals, self.connection.clone());
        let rebuild = move || rebuild(&weak, &connection, signals);
        let hello = {
            let rebuild = rebuild.clone();
            move || {
                let device = rebuild().expect("the device outlives its connection");
                let inner = device.inner.borrow();
                let credentials =
                    Credentials { device_id: inner.registration.device_id, token: inner.registration.token.clone() };
                ClientFrame::hello_as("bluetick-web", credentials, inner.phone.resume_after())
            }
        };
        let on_frame = {
            let rebuild = rebuild.clone();
            move |frame| {
                if let Some(device) = rebuild() {
                    device.with_phone(|phone, io| phone.on_frame(frame, io));
                    device.pump();
                }
            }
        };
        let on_welcome = {
            let rebuild = rebuild.clone();
            move || {
                if let Some(device) = rebuild() {
                    device.signals.drained.set(None);
                    device.with_phone(|phone, io| phone.on_welcome(io));
                }
            }
        };
        let on_down = move || {
            if let Some(device) = rebuild() {
                device.inner.borrow_mut().pacer = None;
                // "Drained" speaks of a connection's flush; a phone that is down has none
                // (until now it kept saying so while offline, and a returning phone
                // looked drained before its queue had even started to flush).
                device.signals.drained.set(None);
                device.with_phone(|phone, io| phone.on_down(io));
            }
        };
        self.connection.set_hooks(Hooks {
            hello: Box::new(hello),
            on_frame: Box::new(on_frame),
            on_welcome: Box::new(on_welcome),
            on_down: Box::new(on_down),
        });
    }

    /// Handles pushed entries: all at once, or one per tick of the pacer.
    fn pump(&self) {
        let pace = self.inner.borrow().pace_ms;
        if pace == 0 {
            while self.handle_next() {}
            return;
        }
        if self.inner.borrow().pacer.is_some() || self.inner.borrow().phone.handling() == 0 {
            return;
        }
        let weak = Rc::downgrade(&self.inner);
        let (signals, connection) = (self.signals, self.connection.clone());
        let pacer = Interval::new(pace, move || {
            let Some(device) = rebuild(&weak, &connection, signals) else { return };
            if !device.handle_next() {
                device.inner.borrow_mut().pacer = None;
            }
        });
        self.inner.borrow_mut().pacer = Some(pacer);
    }

    /// Handles one pushed entry; false if there was none.
    fn handle_next(&self) -> bool {
        let mut handled = false;
        self.with_phone(|phone, io| match phone.handle_next(io) {
            Some(changed) => {
                handled = true;
                changed
            }
            None => Changed::default(),
        });
        handled
    }
}

/// The device again from inside one of its own callbacks, which hold it weakly so that
/// a dropped device is not kept alive by its connection's timers.
fn rebuild(weak: &Weak<RefCell<Inner>>, connection: &LiveConnection, signals: DeviceSignals) -> Option<LiveDevice> {
    weak.upgrade().map(|inner| LiveDevice { inner, connection: connection.clone(), signals })
}
