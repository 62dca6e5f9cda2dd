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
//! - [`errors`]: the typed error codes an `error` frame carries and the WebSocket close
//!   codes that go with them.
//! - [`backoff`]: exponential backoff with jitter and a cap, as a pure function of the
//!   attempt number and a random draw.
//! - [`connection`]: the client's connection state machine
//!   (DISCONNECTED → CONNECTING → CONNECTED ⇄ RECONNECTING). It takes events and the
//!   current time and returns the actions to perform; the caller owns sockets and timers.
//! - [`e2e`]: end-to-end encryption on the device with vodozemac (Olm for 1:1, Megolm
//!   for groups): key bundles and signatures, the envelope carried in `send.body`,
//!   sessions, rotation, and the encrypted pickle a browser keeps across reloads.
//! - [`outbox`]: the sending side of a device: messages awaiting their `sent` ack (resent
//!   with the same id after a reconnect) and each message's forward-only tick.
//! - [`inbox`]: the receiving side: drop redeliveries, acknowledge cumulatively.
//! - [`phone`]: a whole phone's protocol state on top of those two (what it shows,
//!   each sent message's ticks and steps, pushed entries handled one at a time), driven
//!   frame by frame; the page binds it to signals, tests drive it directly.
//! - [`journey`]: a message's five hops (sender device → chat server → dedup →
//!   recipient server → recipient device) worked out from trace events and ticks.
//! - [`lab`]: the JSON bodies of the lab API (a student's sandbox, its controls and
//!   the server-side queue view); [`lab_load`]: the lab's bounded load run (request,
//!   caps, per-second samples, ledger).
//! - [`quiz`]: the lesson's five questions and a student's answers (commit once, score,
//!   retry, a compact saved form for the page's `localStorage`).

pub mod backoff;
pub mod connection;
pub mod e2e;
pub mod errors;
pub mod frames;
pub mod inbox;
pub mod journey;
pub mod lab;
pub mod lab_load;
pub mod outbox;
pub mod phone;
pub mod quiz;
