//! The WebSocket gateway: from the HTTP upgrade to the end of one connection.
//!
//! - [`upgrade`](fn@upgrade): the `/ws` handler; sizes the socket's buffers and hands
//!   the socket to a tracked task.
//! - `session`: one connection's life: a writer task fed by a bounded queue, and the
//!   reader loop that does the handshake and answers frames.
//! - `close`: why a connection ends and the close frame that says so.

mod close;
mod session;
mod upgrade;

pub use upgrade::upgrade;
