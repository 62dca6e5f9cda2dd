//! A phone's side of the protocol as plain state: what it received and shows, what it
//! sent and how far each message got, and the frames it answers with. No sockets, no
//! timers, no storage: the caller hands it every frame that arrives and a [`PhoneIo`]
//! to put frames on the wire, write its log and decrypt; the page's `LiveDevice` binds
//! it to signals, and tests drive it directly.
//!
//! Built on [`InboxCursor`] (drop redeliveries, acknowledge cumulatively) and
//! [`Outbox`] (resend unacknowledged sends with the same id; ticks only move forward).
//! Pushed entries queue in the phone and are handled one at a time by
//! [`Phone::handle_next`], so a caller can pace a backlog's flush for a student to
//! watch; every other frame is handled at once.

use std::collections::{HashMap, VecDeque};

use crate::e2e::envelope::Envelope;
use crate::e2e::receiver::Opened;
use crate::errors::ErrorCode;
use crate::frames::{ClientFrame, Delivery, GroupProgress, MessageId, Recipient, ServerFrame, TickState, UserId};
use crate::inbox::{Arrival, InboxCursor};
use crate::outbox::Outbox;

mod shown;

use shown::loggable;
pub use shown::{KEPT, MemberTrace, PresenceState, Received, SentMessage, StageEvent, short};

/// What the phone needs from the world around it.
pub trait PhoneIo {
    /// Puts a frame on the wire; false if it could not be sent (the connection is down),
    /// having logged why.
    fn put(&mut self, frame: &ClientFrame) -> bool;
    /// One line of the phone's log.
    fn log(&mut self, text: String);
    /// Decrypts an encrypted delivery, or None if this phone has no keys. A group
    /// message whose key is late comes back later, with the delivery that unlocks it.
    fn open(&mut self, delivery: Delivery) -> Option<Vec<Opened>>;
    /// A per-member step of one of this phone's group messages (a fan-out grid's cell).
    fn member_trace(&mut self, trace: MemberTrace);
}

/// Which parts of a [`Phone`]'s state a call changed, so a view redraws only those.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Changed {
    pub received: bool,
    pub sent: bool,
    pub progress: bool,
    pub presence: bool,
    /// How many pushed entries wait to be handled.
    pub handling: bool,
    /// The server said the backlog was pushed, and the phone has handled it.
    pub drained: Option<u64>,
    /// An ack went out: where a reload of the page should resume.
    pub acked: Option<u64>,
    /// The server expired this phone's presence.
    pub presence_expired: bool,
}

impl Changed {
    fn and(mut self, other: Changed) -> Changed {
        self.received |= other.received;
        self.sent |= other.sent;
        self.progress |= other.progress;
        self.presence |= other.presence;
        self.handling |= other.handling;
        self.drained = other.drained.or(self.drained);
        self.acked = other.acked.or(self.acked);
        self.presence_expired |= other.presence_expired;
        self
    }
}

/// A message about to be sent: `shown` is what the phone shows while `wire` (say, an
/// envelope of ciphertext) travels.
#[derive(Debug, Clone)]
pub struct Draft {
    pub id: MessageId,
    pub to: Recipient,
    pub shown: String,
    pub wire: String,
}

/// A phone's protocol state (see the module docs).
#[derive(Debug)]
pub struct Phone {
    inbox: InboxCursor,
    outbox: Outbox,
    pending: VecDeque<ServerFrame>,
    received: Vec<Received>,
    sent: Vec<SentMessage>,
    progress: HashMap<MessageId, GroupProgress>,
    presence: HashMap<UserId, PresenceState>,
    /// Inbox numbers of encrypted messages waiting for their group key.
    waiting_seqs: HashMap<MessageId, u64>,
    observe: Vec<Recipient>,
    watching: Vec<UserId>,
}

impl Phone {
    /// A phone that has already acknowledged everything up to `have` (0: nothing).
    pub fn new(have: u64) -> Phone {
        Phone {
            inbox: InboxCursor::new(have),
            outbox: Outbox::new(),
            pending: VecDeque::new(),
            received: Vec::new(),
            sent: Vec::new(),
            progress: HashMap::new(),
            presence: HashMap::new(),
            waiting_seqs: HashMap::new(),
            observe: Vec::new(),
            watching: Vec::new(),
        }
    }

    pub fn received(&self) -> &[Received] {
        &self.received
    }

    pub fn sent(&self) -> &[SentMessage] {
        &self.sent
    }

    pub fn progress(&self) -> &HashMap<MessageId, GroupProgress> {
        &self.progress
    }

    pub fn presence(&self) -> &HashMap<UserId, PresenceState> {
        &self.presence
    }

    /// Pushed entries not handled yet.
    pub fn handling(&self) -> usize {
        self.pending.len()
    }

    /// Where a `hello` should resume the inbox.
    pub fn resume_after(&self) -> u64 {
        self.inbox.resume_after()
    }

    /// Observe the pipeline of the conversation with `with`: now if `connected`, and
    /// after every reconnect.
    pub fn observe(&mut self, with: Recipient, connected: bool, io: &mut impl PhoneIo) {
        if !self.observe.contains(&with) {
            self.observe.push(with);
        }
        if connected {
            io.put(&ClientFrame::Observe { with });
        }
    }

    /// Watch these users' presence: now if `connected`, and after every reconnect.
    pub fn watch(&mut self, users: Vec<UserId>, connected: bool, io: &mut impl PhoneIo) {
        for user in &users {
            if !self.watching.contains(user) {
                self.watching.push(*user);
            }
        }
        if connected {
            io.put(&ClientFrame::WatchPresence { users });
        }
    }

    /// Sends a new message. It waits in the outbox, resent with the same id, until the
    /// server acknowledges it.
    pub fn send(&mut self, draft: Draft, now_us: i64, connected: bool, io: &mut impl PhoneIo) -> Changed {
        let Draft { id, to, shown, wire } = draft;
        let frame = self.outbox.queue(id, to, wire.clone());
        self.sent.push(SentMessage {
            id,
            body: shown,
            tick: None,
            acks: 0,
            sends: 0,
            failed_reason: None,
            error: None,
            sent_at_us: now_us,
            stages: Vec::new(),
            group: matches!(to, Recipient::Group(_)),
        });
        if self.sent.len() > KEPT {
            self.sent.remove(0);
        }
        if connected {
            self.transmit(&frame, io);
        } else {
            io.log(format!("offline: {} waits in the outbox", loggable(&wire)));
        }
        Changed { sent: true, ..Changed::default() }
    }

    /// Puts the send frame of message `id` on the wire again, same id: what a client
    /// does when it is unsure the first one arrived.
    pub fn resend(&mut self, id: MessageId, io: &mut impl PhoneIo) -> Changed {
        let frame = self.outbox.get(&id).map(|m| ClientFrame::Send { id, to: m.to, body: m.body.clone() });
        match frame {
            Some(frame) => self.transmit(&frame, io),
            None => Changed::default(),
        }
    }

    fn transmit(&mut self, frame: &ClientFrame, io: &mut impl PhoneIo) -> Changed {
        let ClientFrame::Send { id, body, .. } = frame else { return Changed::default() };
        if !io.put(frame) {
            return Changed::default();
        }
        io.log(format!("→ send {} (id …{})", loggable(body), short(*id)));
        if let Some(m) = self.sent_mut(*id) {
            m.sends += 1;
        }
        Changed { sent: true, ..Changed::default() }
    }

    /// Marks every unread received message read and tells the sender (blue ticks);
    /// returns how many there were.
    pub fn read_all(&mut self, io: &mut impl PhoneIo) -> (usize, Changed) {
        let unread: Vec<u64> = self.received.iter().filter(|m| !m.read).map(|m| m.seq).collect();
        if unread.is_empty() {
            return (0, Changed::default());
        }
        let mut changed = Changed::default();
        if io.put(&ClientFrame::Read { seqs: unread.clone() }) {
            io.log(format!("→ read {} message(s)", unread.len()));
            self.received.iter_mut().for_each(|m| m.read = true);
            changed.received = true;
        }
        (unread.len(), changed)
    }

    /// The server welcomed this phone: observe and watch again, ack again, and resend
    /// what the outbox still holds.
    pub fn on_welcome(&mut self, io: &mut impl PhoneIo) -> Changed {
        io.log("← welcome: connected as this device".into());
        for with in self.observe.clone() {
            io.put(&ClientFrame::Observe { with });
        }
        if !self.watching.is_empty() {
            io.put(&ClientFrame::WatchPresence { users: self.watching.clone() });
        }
        // An ack whose connection died before the server read it goes again.
        let mut changed = self.ack(io);
        for frame in self.outbox.unacknowledged() {
            if let ClientFrame::Send { body, .. } = &frame {
                io.log(format!("resending {} with its original id", loggable(body)));
                changed = changed.and(self.transmit(&frame, io));
            }
        }
        changed
    }

    /// The connection went down. Entries pushed but not handled were not acknowledged:
    /// the server pushes them again after the next hello, so the phone forgets them
    /// rather than handle them without a connection to ack on.
    pub fn on_down(&mut self, io: &mut impl PhoneIo) -> Changed {
        self.pending.clear();
        io.log("connection lost".into());
        Changed { handling: true, ..Changed::default() }
    }

    /// A frame from the server. Pushed entries (messages, receipts, `drained`) queue for
    /// [`Phone::handle_next`]; everything else is handled now.
    pub fn on_frame(&mut self, frame: ServerFrame, io: &mut impl PhoneIo) -> Changed {
        match frame {
            ServerFrame::Sent { id, .. } => {
                self.outbox.advance(id, TickState::Sent);
                io.log(format!("← sent ✓ (id …{})", short(id)));
                let tick = self.outbox.state(&id);
                if let Some(m) = self.sent_mut(id) {
                    m.acks += 1;
                    m.tick = tick;
                }
                Changed { sent: true, ..Changed::default() }
            }
            frame @ (ServerFrame::Message { .. } | ServerFrame::Receipt { .. } | ServerFrame::Drained { .. }) => {
                self.pending.push_back(frame);
                Changed { handling: true, ..Changed::default() }
            }
            ServerFrame::Trace { id, stage, at_us, detail, device } => {
                let Some(m) = self.sent.iter_mut().find(|m| m.id == id) else { return Changed::default() };
                if m.group && device.is_some() {
                    io.member_trace((id, stage, device, at_us));
                    return Changed::default();
                }
                m.stages.push(StageEvent { stage, after_us: (at_us - m.sent_at_us).max(0), detail });
                Changed { sent: true, ..Changed::default() }
            }
            ServerFrame::GroupProgress { id, progress } => self.set_progress(id, progress),
            ServerFrame::Presence { user, online, last_seen } => {
                self.presence.insert(user, PresenceState { online, last_seen });
                Changed { presence: true, ..Changed::default() }
            }
            ServerFrame::Error { code, id, message } => {
                io.log(format!("← error {code:?}: {message}"));
                let mut changed =
                    Changed { presence_expired: code == ErrorCode::PresenceExpired, ..Changed::default() };
                if let Some(m) = id.and_then(|id| self.sent_mut(id)) {
                    m.error = Some(message);
                    changed.sent = true;
                }
                changed
            }
            _ => Changed::default(),
        }
    }

    /// Handles the oldest pushed entry, or returns None if none waits.
    pub fn handle_next(&mut self, io: &mut impl PhoneIo) -> Option<Changed> {
        let frame = self.pending.pop_front()?;
        let mut changed = Changed { handling: true, ..Changed::default() };
        match frame {
            ServerFrame::Message { seq, message } => {
                if self.arrive(seq, io) {
                    io.log(format!("← message #{seq} from {}: {}", message.from_name, loggable(&message.body)));
                    let shown = self.open(seq, message, io);
                    if !shown.is_empty() {
                        self.received.extend(shown);
                        let over = self.received.len().saturating_sub(KEPT);
                        self.received.drain(..over);
                        changed.received = true;
                    }
                }
                changed = changed.and(self.ack(io));
            }
            ServerFrame::Receipt { seq, id, state, reason, progress, .. } => {
                if let Some(progress) = progress {
                    changed = changed.and(self.set_progress(id, progress));
                }
                if self.arrive(seq, io) && self.outbox.advance(id, state).is_some() {
                    io.log(format!("← receipt {} (id …{})", state.label(), short(id)));
                    if let Some(m) = self.sent_mut(id) {
                        m.tick = Some(state);
                        if state == TickState::Failed {
                            m.failed_reason = reason;
                        }
                        changed.sent = true;
                    }
                }
                changed = changed.and(self.ack(io));
            }
            ServerFrame::Drained { up_to } => {
                io.log(format!("← drained: every queued entry up to #{up_to} delivered; queue drained"));
                changed.drained = Some(up_to);
            }
            _ => {}
        }
        Some(changed)
    }

    /// What the phone shows for a delivery: as is, or decrypted.
    fn open(&mut self, seq: u64, message: Delivery, io: &mut impl PhoneIo) -> Vec<Received> {
        if Envelope::parse(&message.body).is_none() {
            return vec![Received::plain(seq, message)];
        }
        let id = message.id;
        let Some(opened) = io.open(message.clone()) else { return vec![Received::plain(seq, message)] };
        self.waiting_seqs.insert(id, seq);
        shown::decrypted(opened, &mut self.waiting_seqs, io)
    }

    fn set_progress(&mut self, id: MessageId, progress: GroupProgress) -> Changed {
        let merged = match self.progress.get(&id) {
            Some(old) => old.merge(progress),
            None => progress,
        };
        self.progress.insert(id, merged);
        Changed { progress: true, ..Changed::default() }
    }

    /// Records an arrival; false for a redelivery (dropped, but acknowledged again).
    fn arrive(&mut self, seq: u64, io: &mut impl PhoneIo) -> bool {
        let arrival = self.inbox.arrive(seq);
        if arrival == Arrival::Duplicate {
            io.log(format!("dropped #{seq}: already have it (a redelivery)"));
        }
        arrival == Arrival::New
    }

    fn ack(&mut self, io: &mut impl PhoneIo) -> Changed {
        let Some(up_to) = self.inbox.ack_due() else { return Changed::default() };
        if io.put(&ClientFrame::Ack { up_to }) {
            io.log(format!("→ ack up to #{up_to}"));
            Changed { acked: Some(up_to), ..Changed::default() }
        } else {
            self.inbox.ack_lost(0);
            Changed::default()
        }
    }

    fn sent_mut(&mut self, id: MessageId) -> Option<&mut SentMessage> {
        self.sent.iter_mut().find(|m| m.id == id)
    }
}

#[cfg(test)]
mod tests;
