//! # bluetick-shared
//!
//! The protocol crate: everything the browser page, the backend, the simulated crowd and
//! the tests must agree on, and nothing that does I/O. It compiles to native code and to
//! wasm32 alike, so the state machine a student watches in the page is byte for byte the
//! one the tests drive with a fake clock.
//!
//! ## Where things live
//! - [`frames`]: the JSON frames sent over `/ws`, one enum per direction, and the
//!   protocol's rules (handshake, ack and ordering rules, receipts, presence, errors) in
//!   its module docs. Start there.
//! - [`groups`]: the JSON bodies of the groups API (a group, its owner and members).
//! - [`errors`]: the typed error codes an `error` frame carries and the WebSocket close
//!   codes that go with them.
//! - [`backoff`]: exponential backoff with jitter and a cap, as a pure function of the
//!   attempt number and a random draw.
//! - [`connection`]: the client's connection state machine
//!   (DISCONNECTED → CONNECTING → CONNECTED ⇄ RECONNECTING). It takes events and the
//!   current time and returns the actions to perform; the caller owns sockets and timers.
//!   [`connection_diagram`] is the machine as the lab draws it (its arrows, and which one
//!   a transition took); [`backoff_timeline`] the reconnect attempts of an outage, each
//!   with its delay and jitter window, as the lab plots them.
//! - [`e2e`]: end-to-end encryption on the device with vodozemac (Olm for 1:1, Megolm
//!   for groups): key bundles and signatures, the envelope carried in `send.body`,
//!   sessions, rotation, and the encrypted pickle a browser keeps across reloads.
//! - [`outbox`]: the sending side of a device: messages awaiting their `sent` ack (resent
//!   with the same id after a reconnect) and each message's forward-only tick.
//! - [`inbox`]: the receiving side: drop redeliveries, acknowledge cumulatively.
//! - [`phone`]: a whole phone's protocol state on top of those two (what it shows,
//!   each sent message's ticks and steps, pushed entries handled one at a time), driven
//!   frame by frame; the page binds it to signals, tests drive it directly.
//! - [`journey`]: a message's way through the lesson's eight stops (sender device →
//!   WebSocket → chat server → Redis check → dedup → recipient server → push →
//!   recipient device) and its read receipt back, worked out from trace events and
//!   ticks; [`replay`]: the same redrawn at any recorded event of a finished run, and
//!   the offline queue's run likewise (which messages were in the inbox at an instant).
//! - [`ledger`]: what became of every message of a load run: lost, duplicated,
//!   unconfirmed, and the verdict.
//! - [`lab`]: the JSON bodies of the lab API (a student's sandbox, its controls and
//!   the server-side queue view, the lab's pace); [`lab_load`]: the lab's bounded load run (request,
//!   caps, per-second samples, ledger).
//! - [`prediction`]: the labs' predict-then-reveal questions and a student's book of
//!   them (commit before the run, reveal from the real outcome, progress, saved form).
//! - [`class`]: classes: an instructor's class, its join code, a student's progress
//!   reports and the instructor's live view of them.
//! - [`quiz`]: the lesson's five questions and a student's answers (commit once, score,
//!   retry, a compact saved form for the page's `localStorage`).
//!
//! ## Glossary: one word per idea, on both sides
//! - **user**: a person (Alice); **device**: one of a user's phones or browsers, the
//!   unit that connects, is authenticated by a token, and owns an inbox.
//! - **message**: what a sender sends, stored once under `(sender device, id)`; its
//!   **id** is a client-chosen UUID v7, so a retry is the same message (**dedup**).
//! - **inbox**: a device's durable, gap-free sequence of **entries** (`seq` 1, 2, …):
//!   messages for it and **receipts** about messages it sent. The part not yet
//!   acknowledged is the **offline queue**; `drained` says it has all been pushed.
//! - **ack**: a device's cumulative "I have every entry up to n"; **SENT** is the
//!   server's ack of a `send`, after the commit.
//! - **tick**: a sent message's state as its sender sees it (SENT ✓, DELIVERED ✓✓,
//!   READ blue ✓✓, FAILED ⚠); a **receipt** is the inbox entry that moves a tick.
//! - **outbox**: a client's sent messages not yet acknowledged (resent with their id).
//!   On the server, the bounded queue of frames waiting to be written to one socket is
//!   its **socket queue** (a quarter of `--connection-queue`), never an outbox. (The
//!   table of push wake-ups is still named `push_outbox`, as its migration made it.)
//! - **push wake-up**: what the server records for an offline device instead of
//!   pushing (a phone's notification would wake it).
//! - **group**: up to 1,024 members; **fan-out**: turning one stored group message into
//!   one inbox entry per member device; **crowd**: simulated members a lab starts.
//! - **presence**: online, or offline with a last-seen time, kept alive by
//!   **heartbeats** within a **TTL**.
//! - **trace**: a server event about one step of a message; the page draws a
//!   message's **hops** (sender device → chat server → dedup → recipient server →
//!   recipient device) from them.
//! - **lab**: a browser's sandbox on the server (its devices You, Alice and Bob, their
//!   groups and crowds; `/api/labs`). Each section's hands-on part of the page is an
//!   **exercise** of that lab (the connection exercise, the offline-queue exercise…),
//!   though component names still end in `_lab`.
//! - **load run**: a bounded run of device **pairs** sending 1:1 messages, with a
//!   **ledger** (sent, committed, delivered, lost, duplicated).

pub mod backoff;
pub mod backoff_timeline;
pub mod class;
pub mod connection;
pub mod connection_diagram;
pub mod e2e;
pub mod errors;
pub mod frames;
pub mod groups;
pub mod guide;
pub mod inbox;
pub mod journey;
pub mod lab;
pub mod lab_load;
pub mod ledger;
pub mod outbox;
pub mod phone;
pub mod prediction;
pub mod quiz;
pub mod replay;
