//! `GET /ws`: upgrades to a WebSocket and starts the connection's session task.

use std::net::SocketAddr;

use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{ConnectInfo, State};
use axum::response::Response;

use super::session;
use crate::state::AppState;

/// Read and write chunk sizes. tungstenite's defaults (128 KiB each) would cost a quarter
/// of a megabyte per idle connection. The read buffer is allocated up front and kept for
/// the connection's life, so it is sized for the frames that actually arrive (acks,
/// heartbeats and short messages: well under 1 KiB); a bigger frame grows it to fit,
/// only while it is read. The write size is a flush threshold, not an allocation.
const READ_BUFFER_BYTES: usize = 1024;
const WRITE_BUFFER_BYTES: usize = 4 * 1024;
/// A client that does not read lets at most this much pile up before writes fail.
const MAX_WRITE_BUFFER_BYTES: usize = 1024 * 1024;

pub async fn upgrade(
    ws: WebSocketUpgrade,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
) -> Response {
    // tungstenite's own hard limit sits well above ours so that a frame that is merely
    // too large gets a typed `frame_too_large` error from the session instead of a
    // dropped connection; only an absurd frame trips this one.
    let hard_limit = state.config.max_frame_bytes.saturating_mul(4).max(64 * 1024);
    ws.read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(WRITE_BUFFER_BYTES)
        .max_write_buffer_size(MAX_WRITE_BUFFER_BYTES)
        .max_message_size(hard_limit)
        .max_frame_size(hard_limit)
        .on_upgrade(move |socket| {
            let sockets = state.sockets.clone();
            sockets.track_future(session::run(socket, state, peer))
        })
}
