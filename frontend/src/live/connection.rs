//! A live connection: the shared [`ConnectionMachine`] driven by a real browser socket
//! and real timers, with its state exposed as signals for the page.
//!
//! The machine decides; this file only carries out its [`Action`]s and feeds it the
//! socket's events. Each socket gets a generation number so that a late event from an
//! old socket (say, the close of the one we just replaced) cannot confuse the new one.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use bluetick_shared::backoff_timeline::BackoffTimeline;
use bluetick_shared::connection::{Action, ConnectionMachine, ConnectionState, Event};
use bluetick_shared::connection_diagram::Step;
use bluetick_shared::frames::{ClientFrame, ServerFrame};
use gloo_timers::callback::{Interval, Timeout};
use leptos::prelude::*;

use super::socket::{LabSocket, SocketEvent};
use crate::clock;
use crate::components::event_log::{self, LogLine};

/// How often the retry countdown refreshes.
const COUNTDOWN_TICK_MS: u32 = 100;

/// What the page shows about a connection.
#[derive(Clone, Copy)]
pub struct ConnectionSignals {
    pub state: RwSignal<ConnectionState>,
    /// The reconnect attempt in flight or scheduled (0 when none).
    pub attempt: RwSignal<u32>,
    /// When the next reconnect attempt starts (ms since epoch), while one is scheduled.
    pub retry_at: RwSignal<Option<u64>>,
    /// The time, refreshed while a countdown runs.
    pub now: RwSignal<u64>,
    pub log: RwSignal<Vec<LogLine>>,
    /// The last transition the machine made (ignored events leave it be), for the
    /// diagram's highlighted arrow.
    pub last: RwSignal<Option<Step>>,
    /// The reconnect attempts of the latest outage, for the backoff timeline.
    pub timeline: RwSignal<BackoffTimeline>,
}

/// What a device layered on a connection wants to hear about (see `live::device`).
pub struct Hooks {
    /// The `hello` to send when a socket opens (credentials, where to resume).
    pub hello: Box<dyn Fn() -> ClientFrame>,
    /// Every frame after the handshake frames the connection itself handles.
    pub on_frame: Box<dyn Fn(ServerFrame)>,
    /// The handshake completed.
    pub on_welcome: Box<dyn Fn()>,
    /// The socket is gone (closed, dropped or refused).
    pub on_down: Box<dyn Fn()>,
}

/// A handle to one live connection; clones share it.
#[derive(Clone)]
pub struct LiveConnection {
    driver: Rc<RefCell<Driver>>,
}

struct Driver {
    url: String,
    /// The device's name, for the wire inspector.
    label: String,
    /// Heartbeats stopped on purpose (a frozen phone, for the presence lab).
    heartbeats_paused: bool,
    /// When this connection last put a frame on the wire (ms since epoch).
    last_sent_ms: u64,
    /// The presence TTL the server announced in its welcome.
    presence_ttl_ms: u64,
    machine: ConnectionMachine,
    socket: Option<LabSocket>,
    generation: u64,
    retry_timer: Option<Timeout>,
    countdown: Option<Interval>,
    heartbeat: Option<Interval>,
    signals: ConnectionSignals,
    hooks: Option<Rc<Hooks>>,
    /// Whether the current socket completed its handshake.
    ready: bool,
}

impl LiveConnection {
    pub fn new(url: String, label: &str) -> LiveConnection {
        let signals = ConnectionSignals {
            state: RwSignal::new(ConnectionState::Disconnected),
            attempt: RwSignal::new(0),
            retry_at: RwSignal::new(None),
            now: RwSignal::new(clock::now_ms()),
            log: RwSignal::new(Vec::new()),
            last: RwSignal::new(None),
            timeline: RwSignal::new(BackoffTimeline::new(ConnectionMachine::default().backoff())),
        };
        let connection = LiveConnection {
            driver: Rc::new(RefCell::new(Driver {
                url,
                label: label.to_string(),
                heartbeats_paused: false,
                last_sent_ms: 0,
                presence_ttl_ms: 0,
                machine: ConnectionMachine::default(),
                socket: None,
                generation: 0,
                retry_timer: None,
                countdown: None,
                heartbeat: None,
                signals,
                hooks: None,
                ready: false,
            })),
        };
        connection.log("WebSocket client initialized, state=DISCONNECTED".into());
        connection
    }

    pub fn signals(&self) -> ConnectionSignals {
        self.driver.borrow().signals
    }

    /// Lets a device take part: its hello, and the frames for it.
    pub fn set_hooks(&self, hooks: Hooks) {
        self.driver.borrow_mut().hooks = Some(Rc::new(hooks));
    }

    fn hooks(&self) -> Option<Rc<Hooks>> {
        self.driver.borrow().hooks.clone()
    }

    /// Sends a frame on the open, handshaken socket.
    pub fn send(&self, frame: &ClientFrame) -> Result<(), String> {
        let mut driver = self.driver.borrow_mut();
        match (&driver.socket, driver.ready) {
            (Some(socket), true) => {
                socket.send(frame)?;
                driver.last_sent_ms = clock::now_ms();
                Ok(())
            }
            _ => Err("not connected".into()),
        }
    }

    /// Stops (or resumes) heartbeats, as a frozen phone would.
    pub fn set_heartbeats_paused(&self, paused: bool) {
        self.driver.borrow_mut().heartbeats_paused = paused;
        self.log(if paused { "heartbeats paused".into() } else { "heartbeats resumed".into() });
    }

    pub fn heartbeats_paused(&self) -> bool {
        self.driver.borrow().heartbeats_paused
    }

    /// The presence TTL from the last welcome (0 before the first).
    pub fn presence_ttl_ms(&self) -> u64 {
        self.driver.borrow().presence_ttl_ms
    }

    /// When a frame last left on this connection (ms since epoch; 0 if never).
    pub fn last_sent_ms(&self) -> u64 {
        self.driver.borrow().last_sent_ms
    }

    pub fn is_ready(&self) -> bool {
        self.driver.borrow().ready
    }

    pub fn connect(&self) {
        self.dispatch(Event::ConnectRequested);
    }

    /// Connects unless connected or on its way already.
    pub fn bring_online(&self) {
        if self.signals().state.get_untracked() == ConnectionState::Disconnected {
            self.connect();
        }
    }

    pub fn disconnect(&self) {
        self.dispatch(Event::DisconnectRequested);
    }

    /// Back to how the lab begins: DISCONNECTED, with an empty log, no arrow drawn and
    /// no backoff timeline (a lab's reset).
    pub fn reset(&self) {
        self.disconnect();
        let signals = self.driver.borrow().signals;
        signals.log.set(Vec::new());
        signals.last.set(None);
        signals.timeline.set(BackoffTimeline::new(ConnectionMachine::default().backoff()));
    }

    fn log(&self, text: String) {
        let log = self.driver.borrow().signals.log;
        event_log::append(log, text);
    }

    /// Feeds one event to the machine and carries out what it decides.
    fn dispatch(&self, event: Event) {
        let transition = {
            let mut driver = self.driver.borrow_mut();
            let now = clock::now_ms();
            let transition = driver.machine.handle(event.clone(), now, clock::random());
            let step = Step::of(&event, &transition);
            let signals = driver.signals;
            if step.is_some() {
                signals.last.set(step);
            }
            signals.timeline.update(|timeline| timeline.observe(&transition, now));
            signals.state.set(driver.machine.state());
            signals.attempt.set(driver.machine.attempt());
            signals.retry_at.set(driver.machine.retry_at_ms());
            signals.now.set(clock::now_ms());
            transition
        };
        if transition.from != transition.to {
            self.log(format!("{} → {}: {}", transition.from.label(), transition.to.label(), transition.note));
        } else if !transition.actions.is_empty() {
            self.log(format!("{}: {}", transition.to.label(), transition.note));
        }
        for action in transition.actions {
            self.perform(action);
        }
    }

    fn perform(&self, action: Action) {
        if matches!(action, Action::CloseSocket | Action::ScheduleRetry { .. }) {
            self.went_down();
        }
        match action {
            Action::OpenSocket { .. } => self.open_socket(),
            Action::CloseSocket => {
                if let Some(socket) = self.driver.borrow_mut().socket.take() {
                    socket.close();
                }
            }
            Action::ScheduleRetry { delay_ms, .. } => {
                // The old socket is dead; drop it so its late events are ignored.
                self.driver.borrow_mut().socket = None;
                let weak = self.weak();
                let timer = Timeout::new(delay_ms.min(u32::MAX as u64) as u32, move || {
                    if let Some(connection) = upgrade(&weak) {
                        connection.driver.borrow_mut().countdown = None;
                        connection.dispatch(Event::RetryTimerFired);
                    }
                });
                let now = self.driver.borrow().signals.now;
                let countdown = Interval::new(COUNTDOWN_TICK_MS, move || now.set(clock::now_ms()));
                let mut driver = self.driver.borrow_mut();
                driver.retry_timer = Some(timer);
                driver.countdown = Some(countdown);
            }
            Action::CancelRetry => {
                let mut driver = self.driver.borrow_mut();
                driver.retry_timer = None;
                driver.countdown = None;
            }
        }
    }

    fn open_socket(&self) {
        let (url, label, generation) = {
            let mut driver = self.driver.borrow_mut();
            driver.generation += 1;
            driver.socket = None;
            driver.ready = false;
            (driver.url.clone(), driver.label.clone(), driver.generation)
        };
        let weak = self.weak();
        let opened = LabSocket::open(&url, &label, move |event| {
            if let Some(connection) = upgrade(&weak) {
                connection.on_socket_event(generation, event);
            }
        });
        match opened {
            Ok(socket) => self.driver.borrow_mut().socket = Some(socket),
            Err(e) => {
                // Report the failure after this call returns, as a browser would.
                let weak = self.weak();
                wasm_bindgen_futures::spawn_local(async move {
                    if let Some(connection) = upgrade(&weak) {
                        connection.dispatch(Event::SocketFailed { reason: format!("cannot open socket: {e}") });
                    }
                });
            }
        }
    }

    fn on_socket_event(&self, generation: u64, event: SocketEvent) {
        if self.driver.borrow().generation != generation {
            return;
        }
        match event {
            SocketEvent::Open => {
                self.log("socket open; sending hello".into());
                let hello = self.hooks().map(|h| (h.hello)()).unwrap_or_else(|| ClientFrame::hello("bluetick-web"));
                let sent = self.driver.borrow().socket.as_ref().map(|s| s.send(&hello));
                self.driver.borrow_mut().last_sent_ms = clock::now_ms();
                if let Some(Err(e)) = sent {
                    self.log(format!("could not send hello: {e}"));
                }
            }
            SocketEvent::Frame(ServerFrame::Welcome {
                connection_id, server, heartbeat_ms, presence_ttl_ms, ..
            }) => {
                self.driver.borrow_mut().presence_ttl_ms = presence_ttl_ms;
                self.log(format!("welcome from {server}, connection {connection_id}"));
                self.start_heartbeats(generation, heartbeat_ms);
                self.driver.borrow_mut().ready = true;
                self.dispatch(Event::HandshakeCompleted);
                if let Some(hooks) = self.hooks() {
                    (hooks.on_welcome)();
                }
            }
            SocketEvent::Frame(ServerFrame::Error { code, id, message }) => {
                self.log(format!("server error {code:?}: {message}"));
                if code.is_fatal() {
                    self.driver.borrow_mut().socket = None;
                    self.went_down();
                    self.dispatch(Event::Rejected { code, reason: message });
                } else if let Some(hooks) = self.hooks() {
                    (hooks.on_frame)(ServerFrame::Error { code, id, message });
                }
            }
            SocketEvent::Frame(frame) => {
                if let Some(hooks) = self.hooks() {
                    (hooks.on_frame)(frame);
                }
            }
            SocketEvent::Undecodable(text) => self.log(format!("undecodable message: {text}")),
            SocketEvent::Closed { code, reason, clean } => {
                let how = if clean { "closed" } else { "dropped" };
                let reason = if reason.is_empty() { String::new() } else { format!(" \"{reason}\"") };
                self.dispatch(Event::SocketFailed { reason: format!("socket {how} (code {code}{reason})") });
            }
        }
    }

    /// Heartbeats keep this connection's presence alive; the server closes connections
    /// that stay silent past the presence TTL.
    fn start_heartbeats(&self, generation: u64, every_ms: u64) {
        let weak = self.weak();
        let interval = Interval::new(every_ms.clamp(250, u32::MAX as u64) as u32, move || {
            let Some(connection) = upgrade(&weak) else { return };
            let mut driver = connection.driver.borrow_mut();
            if driver.generation == generation
                && !driver.heartbeats_paused
                && let Some(socket) = &driver.socket
                && socket.send(&ClientFrame::Heartbeat).is_ok()
            {
                driver.last_sent_ms = clock::now_ms();
            }
        });
        self.driver.borrow_mut().heartbeat = Some(interval);
    }

    /// The socket is gone: tell the device once.
    fn went_down(&self) {
        let was_ready = std::mem::replace(&mut self.driver.borrow_mut().ready, false);
        if was_ready && let Some(hooks) = self.hooks() {
            (hooks.on_down)();
        }
    }

    fn weak(&self) -> Weak<RefCell<Driver>> {
        Rc::downgrade(&self.driver)
    }
}

fn upgrade(weak: &Weak<RefCell<Driver>>) -> Option<LiveConnection> {
    weak.upgrade().map(|driver| LiveConnection { driver })
}
