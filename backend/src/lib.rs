//! # bluetick-backend
//!
//! The server behind the lab: one axum app that upgrades `/ws` to the messaging
//! protocol, answers the lab's HTTP endpoints and serves the built page.
//!
//! ## A tour, in the order a message meets it
//! - [`cli`]: the `bluetick` command (flags, logging, Ctrl-C); [`config`]: its settings.
//! - [`server`]: [`server::run`] takes a bound listener and a shutdown future, opens the
//!   store, serves until shutdown, then closes every socket with a close frame. Tests
//!   call it on `127.0.0.1:0`.
//! - [`routes`]: the router: `/ws`, `/api/…` ([`api`]), `/healthz`, the static page
//!   ([`page`]: precompressed, cached by content hash).
//! - [`gateway`]: one WebSocket connection's life, up to "this frame is valid and its
//!   write is queued"; its module docs follow a frame from the socket to the store.
//! - [`store`]: the storage boundary, a trait per concern (accounts, labs, messages,
//!   groups, fan-out, keys, classes), and SQLite behind it: the idempotent insert, the per-device
//!   inbox (the durable offline queue), receipts, dead letters, push wake-ups; a single
//!   writer with group commit.
//! - `delivery`: everything after a commit; its module docs follow a committed message
//!   to the `delivered` receipt: `sent` or the dedup hit, push to connected devices or
//!   record a push wake-up, the fan-out worker (one inbox entry per group member), the
//!   routing table (which device is connected where), receipts, and the FAILED sweep.
//! - [`peer`]: a connection as others push to it (bounded; slow consumers are
//!   disconnected, never silently skipped); its frames wait in a bounded `flume` queue,
//!   which holds no memory while empty.
//! - [`presence`]: who is online, last seen, and who watches; [`trace`]: the pipeline
//!   events the lesson's tick view is drawn from.
//! - [`state`]: what every handler shares; [`error`]: HTTP errors; [`clock`]: the time
//!   the lesson's timings (presence, outages, crowd schedules, expiry) read, which tests
//!   move forward instead of waiting.
//! - [`lab`]: labs at run time. [`lab::sandbox`]: one per browser, their controls (drop,
//!   outage, compressed expiry) and the sweep that deletes idle ones; [`lab::crowd`]:
//!   simulated group members, each a device of the Rust client library
//!   ([`bluetick_client`], a crate of its own that depends on the protocol crate only);
//!   [`lab::load`]: a lab's bounded load run (real device pairs driven by the client
//!   library, per-second msgs/s and p99, an exact ledger).
//! - [`classes`]: an instructor's class seen live: who of its students is connected, the
//!   server's health, and the watch socket that pushes each change to `/teach`
//!   ([`api::classes`] is its HTTP side, [`store::Classes`] what the store keeps); the
//!   projector, a load run the instructor shows on every student's page, and the
//!   student's socket that follows it ([`api::projector`]).

pub mod api;
pub mod classes;
pub mod cli;
pub mod clock;
pub mod config;
mod delivery;
pub mod error;
pub mod gateway;
pub mod lab;
pub mod page;
pub mod peer;
pub mod presence;
pub mod routes;
pub mod server;
pub mod state;
pub mod store;
pub mod trace;

pub use config::Config;
pub use server::run;

/// `bluetick/<version>`, as sent in `welcome` and `/healthz`.
pub const SERVER_NAME: &str = concat!("bluetick/", env!("CARGO_PKG_VERSION"));
