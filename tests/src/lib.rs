//! # bluetick-tests
//!
//! Cross-crate tests of the real server through its public interfaces: a real TCP port
//! (always `127.0.0.1:0`), a real SQLite file in a temporary data dir, real WebSocket
//! clients (tokio-tungstenite).
//!
//! - [`server`]: [`server::TestServer`] runs the backend in this process;
//!   [`server::ServerProcess`] runs it as a child process, for signals and `kill -9`.
//! - [`classes`]: classes: an instructor, students joining, the watch sockets.
//! - [`client`]: a raw protocol client: send frames, read frames, expect a close.
//! - [`proxy`]: a WebSocket proxy that makes the real server redeliver (it rewrites each
//!   hello's `resume_after`), for testing the client library's side of exactly-once.
//! - `tests/`: the test files, one concern each (`handshake.rs`, `shutdown.rs`, …).
//! - `e2e/`: browser end-to-end tests (Node's test runner + playwright-core), run by
//!   `scripts/test.sh` against a server it starts.

pub mod classes;
pub mod client;
pub mod db;
pub mod events;
pub mod http;
pub mod proxy;
pub mod server;
