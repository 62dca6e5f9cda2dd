//! # bluetick-frontend
//!
//! The lesson page, in Leptos (client-side rendering), compiled to WebAssembly by
//! `scripts/build-frontend.sh` (or by `trunk serve` while authoring).
//! Nothing on it is simulated in the browser: every state and frame comes over a real
//! WebSocket from the backend.
//!
//! ## Where things live
//! - [`app`]: the page, top to bottom.
//! - [`components`]: one file per thing the student sees, named for it
//!   (`lesson_header`, `state_machine_diagram`, `connection_lab`, …).
//! - [`live`]: the browser side of the protocol: [`live::socket`] wraps the browser's
//!   WebSocket; [`live::connection`] drives the shared
//!   [`ConnectionMachine`](bluetick_shared::connection::ConnectionMachine) with it and
//!   exposes the machine's state as signals.
//! - [`clock`]: wall-clock time and random draws from the browser.

pub mod app;
pub mod clock;
pub mod components;
pub mod lab;
pub mod live;
