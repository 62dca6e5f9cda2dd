//! # bluetick-frontend
//!
//! The lesson page, in Leptos (client-side rendering), compiled to WebAssembly by
//! `scripts/build-frontend.sh` (or by `trunk serve` while authoring).
//! Nothing on it is simulated in the browser: every state and frame comes over a real
//! WebSocket from the backend.
//!
//! ## Where things live
//! - [`app`]: the page, top to bottom.
//! - [`lessons`]: one folder per section of the lesson, in the page's order (`scale`,
//!   `connection`, `offline`, `ticks`, `fanout`, `presence`, `encryption`,
//!   `technologies`, `quiz`): its prose, its live lab, and the pieces only it uses.
//! - [`components`]: widgets several sections share (the event log, the tick mark, a
//!   phone's message list, the gate that waits for the lab) and the page's chrome
//!   (header, section nav, wire inspector).
//! - [`live`]: the browser side of the protocol: [`live::socket`] wraps the browser's
//!   WebSocket; [`live::connection`] drives the shared
//!   [`ConnectionMachine`](bluetick_shared::connection::ConnectionMachine) with it;
//!   [`live::device`] binds the shared [`Phone`](bluetick_shared::phone::Phone) model
//!   (what a phone shows, acks and resends) to signals and `localStorage`.
//! - [`class`]: the student's class, if any: joining by the instructor's link and
//!   reporting progress; [`teach`]: the instructor's page at `/teach`.
//! - [`lab`]: this browser's lab sandbox on the server and its controls, over HTTP.
//! - [`clock`]: wall-clock time and random draws from the browser.

pub mod app;
pub mod class;
pub mod clock;
pub mod components;
pub mod lab;
pub mod lessons;
pub mod live;
pub mod storage;
pub mod teach;
