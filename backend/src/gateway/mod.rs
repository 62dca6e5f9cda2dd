//! The WebSocket gateway: from the HTTP upgrade to the end of one connection.
//!
//! A message's way through here: [`upgrade`](fn@upgrade) → `session` (reads the frame)
//! → `dispatch` (`on_send`: validate, queue the idempotent insert, answer `sent` after
//! the commit) → [`crate::delivery`] (push to the recipient's connection) →
//! `inbox_pusher` on the recipient's connection (in order, after any backlog) → the
//! recipient's `ack` comes back through `dispatch::on_ack` → a `delivered` receipt.
//!
//! - `upgrade`: the `/ws` handler; sizes the socket's buffers.
//! - `session`: one connection's life: a writer task fed by a bounded queue, the read
//!   loop, timers (handshake, presence TTL) and clean-up.
//! - `handshake`: `hello`: version check, authentication, taking over the device's route.
//! - `dispatch`: every frame after `hello`.
//! - `inbox_pusher`: the task that pushes a device's inbox in sequence order: the
//!   backlog first (the offline queue), then `drained`, then live entries as they come.
//! - `close`: why a connection ends and the close frame that says so.

mod close;
mod dispatch;
mod handshake;
mod inbox_pusher;
mod session;
mod upgrade;

pub use upgrade::upgrade;
