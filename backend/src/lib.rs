//! # bluetick-backend
//!
//! The server behind the lab: one axum app that upgrades `/ws` to the messaging
//! protocol, answers the lab's HTTP endpoints and serves the built page.
//!
//! ## A tour, in the order a request meets it
//! - [`cli`]: the `bluetick` command (flags, logging, Ctrl-C).
//! - [`config`]: the command line and environment (`--addr`, `--data-dir`, …).
//! - [`server`]: [`server::run`] takes a bound listener and a shutdown future, opens the
//!   storage, serves until shutdown, then closes every socket with a close frame.
//!   Tests call it on `127.0.0.1:0`.
//! - [`routes`]: the router: `/ws`, `/healthz`, and the static page.
//! - [`gateway`]: one WebSocket connection's life: the upgrade, the hello/welcome
//!   handshake, then a reader and a writer task joined by a bounded queue.
//! - [`storage`]: the SQLite file (WAL) in the data dir and its embedded migrations.
//! - [`state`]: what every handler shares: config, storage, the shutdown token and the
//!   tracker that lets shutdown wait for open sockets.
//! - [`error`]: the HTTP error type and how it becomes a response.

pub mod cli;
pub mod config;
pub mod error;
pub mod gateway;
pub mod routes;
pub mod server;
pub mod state;
pub mod storage;

pub use config::Config;
pub use server::run;

/// `bluetick/<version>`, as sent in `welcome` and `/healthz`.
pub const SERVER_NAME: &str = concat!("bluetick/", env!("CARGO_PKG_VERSION"));
