//! The server's settings: flags, each with an environment variable and a default.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

#[derive(Debug, Clone, Parser)]
#[command(name = "bluetick", version, about = "The bluetick lab server: the messaging backend and the lesson page on one port.")]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port; the URL is printed either way.
    #[arg(long, env = "BLUETICK_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory for the embedded database (`bluetick.sqlite3`, created if missing).
    #[arg(long, env = "BLUETICK_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Directory holding the built page (`trunk build --release` output).
    #[arg(long, env = "BLUETICK_STATIC_DIR", default_value = "target/site")]
    pub static_dir: PathBuf,

    /// Largest frame a client may send, in bytes; larger ones get a `frame_too_large` error.
    #[arg(long, env = "BLUETICK_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,

    /// Seconds a new connection has to send `hello` before it is closed.
    #[arg(long, env = "BLUETICK_HANDSHAKE_TIMEOUT_SECS", default_value_t = 10)]
    pub handshake_timeout_secs: u64,
}

impl Config {
    /// The defaults, with the data dir (and only that) chosen by the caller: what tests
    /// and embedders want.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        let mut config = Config::parse_from(["bluetick"]);
        config.data_dir = data_dir.into();
        config
    }
}
