//! # bluetick-load
//!
//! The load generator: real clients (`bluetick-client`, the Rust client library, over real
//! WebSockets) against a real bluetick server, with an exact ledger of every message.
//!
//! - [`scenarios`]: one module per scenario: `throughput`, `connections`, `fanout`,
//!   `reconnect_storm`, `chaos`, `relay_baseline`, `mqtt_baseline`, `classroom` (N
//!   students walking the lesson page's guided path in their own labs), `crowd_cost`
//!   (what one simulated crowd member costs the server).
//! - [`pair`]: one sender and one recipient driven together (throughput, chaos, relay),
//!   by the client library's pair driver; its ledger (`bluetick_shared::ledger`: lost,
//!   duplicated, unconfirmed; the verdict) is every scenario's.
//! - [`report`]: figures, latency histograms, human and `--json` output, progress line.
//! - [`target`]: devices and groups, then the server: owned (a child process on a fresh
//!   database, seeded by [`seed`], the one module that opens the server's database) or
//!   external (`--url`); [`serve`]: the child processes; [`relay`]: the
//!   bare WebSocket relay; [`net`]: connecting from many loopback source addresses;
//!   [`rss`]: memory and open-file limits; [`cpu`]: a server's CPU time per message.
//! - [`mqtt`]: the Mosquitto broker and the small MQTT 3.1.1 client `mqtt-baseline`
//!   compares bluetick against.

pub mod cpu;
pub mod mqtt;
pub mod net;
pub mod pair;
pub mod relay;
pub mod report;
pub mod rss;
pub mod scenarios;
pub mod seed;
pub mod serve;
pub mod target;
