//! The WebSocket gateway: from the HTTP upgrade to the end of one connection.
//!
//! A message's way through here: [`upgrade`](fn@upgrade) → `session` (reads the frame)
//! → `dispatch` (`on_send`: validate, trace `received`, queue the idempotent insert).
//! The gateway ends there: the frame is valid and its write is queued. What follows the
//! commit (`sent`, pushing to the recipient's connection, receipts) is
//! `crate::delivery`'s; the gateway comes back in at the recipient's end, where
//! `inbox_pusher` writes the entry to the socket (in order, after any backlog), and the
//! recipient's `ack` arrives through `dispatch::on_ack` to be queued in turn.
//!
//! - `upgrade`: the `/ws` handler; sizes the socket's buffers.
//! - `session`: one connection's life: a writer task fed by a bounded queue, the read
//!   loop, timers (handshake, presence TTL) and clean-up.
//! - `handshake`: `hello`: version check, authentication, taking over the device's route.
//! - `dispatch`: every frame after `hello`; each send or ack holds one of the connection's
//!   in-flight permits until delivery is done with it.
//! - `inbox_pusher`: pushes a device's inbox in sequence order: the backlog first (the
//!   offline queue), then `drained`, then live entries as they come; a task only while
//!   there is something to push.
//! - `refusal`: a frame refused, and the `error` frame that says why.
//! - `close`: why a connection ends and the close frame that says so.
//! - [`in_process`]: the door for clients inside this process (the simulated crowd): an
//!   in-memory pipe served by the same router, so a member holds no open file.

mod close;
mod dispatch;
mod handshake;
pub mod in_process;
mod inbox_pusher;
mod refusal;
mod session;
mod upgrade;

pub(crate) use inbox_pusher::{InboxFeed, Offered};
pub use upgrade::upgrade;
