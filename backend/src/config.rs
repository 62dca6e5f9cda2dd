//! The server's settings: flags, each with an environment variable and a default.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::Parser;

use crate::clock::Clock;

#[derive(Debug, Clone, Parser)]
#[command(
    name = "bluetick",
    version,
    about = "The bluetick lab server: the messaging backend and the lesson page on one port."
)]
pub struct Config {
    /// Address to listen on. Port 0 picks a free port; the URL is printed either way.
    #[arg(long, env = "BLUETICK_ADDR", default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,

    /// Directory for the embedded database (`bluetick.sqlite3`, created if missing).
    #[arg(long, env = "BLUETICK_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// Directory holding the built page (`scripts/build-frontend.sh` writes it).
    #[arg(long, env = "BLUETICK_STATIC_DIR", default_value = "target/site")]
    pub static_dir: PathBuf,

    /// Largest frame a client may send, in bytes; larger ones get a `frame_too_large` error.
    #[arg(long, env = "BLUETICK_MAX_FRAME_BYTES", default_value_t = 64 * 1024)]
    pub max_frame_bytes: usize,

    /// Seconds a new connection has to send `hello` before it is closed.
    #[arg(long, env = "BLUETICK_HANDSHAKE_TIMEOUT_SECS", default_value_t = 10)]
    pub handshake_timeout_secs: u64,

    /// How often clients are told (in `welcome`) to heartbeat when they have nothing else
    /// to send, in milliseconds.
    #[arg(long, env = "BLUETICK_HEARTBEAT_MS", default_value_t = 10_000)]
    pub heartbeat_ms: u64,

    /// A connection that sends nothing for this long (no frame of any kind: every frame,
    /// not only heartbeats, refreshes it) is presumed dead: its device goes offline and
    /// the connection is closed with `presence_expired` (milliseconds; the lesson's 30 s
    /// by default). Lab devices use `--lab-presence-ttl-ms` instead.
    #[arg(long, env = "BLUETICK_PRESENCE_TTL_MS", default_value_t = 30_000)]
    pub presence_ttl_ms: u64,

    /// How long a message may wait for delivery before it fails into the dead-letter
    /// table (seconds; 30 days by default).
    #[arg(long, env = "BLUETICK_MESSAGE_TTL_SECS", default_value_t = 30 * 24 * 3600)]
    pub message_ttl_secs: u64,

    /// Inbox entries that may wait for one slow client before it is disconnected as a
    /// slow consumer (its messages stay in its durable inbox); its socket's own frame
    /// queue holds a quarter of this.
    #[arg(long, env = "BLUETICK_CONNECTION_QUEUE", default_value_t = 1024)]
    pub connection_queue: usize,

    /// Simulated crowd members one person may run at once.
    #[arg(long, env = "BLUETICK_CROWD_MAX_PER_OWNER", default_value_t = 1024)]
    pub crowd_max_per_owner: usize,

    /// Simulated crowd members the whole server may run at once: by default a class of
    /// 30 students' 1,024-member groups (about 17 KB each over `pipe`; over `tcp` each
    /// also holds two of the process's open files).
    #[arg(long, env = "BLUETICK_CROWD_MAX_TOTAL", default_value_t = 32_768)]
    pub crowd_max_total: usize,

    /// How the server's own crowd members reach its gateway: `pipe`, an in-memory byte
    /// stream (no open file per member), or `tcp`, a loopback socket (two open files per
    /// member: both ends are this process's).
    #[arg(long, env = "BLUETICK_CROWD_TRANSPORT", value_enum, default_value_t = CrowdTransport::Pipe)]
    pub crowd_transport: CrowdTransport,

    /// How often the expiry sweep looks for undelivered messages past their expiry
    /// (milliseconds): a message fails at most this long after its expiry.
    #[arg(long, env = "BLUETICK_EXPIRY_SWEEP_MS", default_value_t = 1_000)]
    pub expiry_sweep_ms: u64,

    /// A lab sandbox (one browser's devices, messages and groups) unused for this long,
    /// with none of its devices connected, is deleted (seconds; 12 hours by default).
    #[arg(long, env = "BLUETICK_LAB_IDLE_SECS", default_value_t = 12 * 3600)]
    pub lab_idle_secs: u64,

    /// The presence TTL of lab devices (milliseconds): compressed so a student sees a
    /// silent device go offline in seconds. Lab devices heartbeat four times per TTL.
    #[arg(long, env = "BLUETICK_LAB_PRESENCE_TTL_MS", default_value_t = 8_000)]
    pub lab_presence_ttl_ms: u64,

    /// A crowd whose owner's device has been disconnected this long is stopped, freeing
    /// its places under the crowd caps (seconds).
    #[arg(long, env = "BLUETICK_CROWD_ORPHAN_SECS", default_value_t = 120)]
    pub crowd_orphan_secs: u64,

    /// The most sender/recipient pairs a lab's load run may have (each pair is two real
    /// devices on their own WebSockets).
    #[arg(long, env = "BLUETICK_LAB_LOAD_MAX_PAIRS", default_value_t = 50)]
    pub lab_load_max_pairs: u32,

    /// The longest a lab's load run may send (seconds). One run goes at a time per server.
    #[arg(long, env = "BLUETICK_LAB_LOAD_MAX_SECS", default_value_t = 20)]
    pub lab_load_max_secs: u32,

    /// The secret an instructor gives to create classes and open `/teach`. If unset, the
    /// server makes one at start and prints it with the `/teach` link.
    #[arg(long, env = "BLUETICK_INSTRUCTOR_TOKEN", hide_env_values = true)]
    pub instructor_token: Option<String>,

    /// How often idle labs are looked for (milliseconds).
    #[arg(long, env = "BLUETICK_LAB_SWEEP_MS", default_value_t = 60_000)]
    pub lab_sweep_ms: u64,

    /// The time the lesson's timings read: the system's, unless a test that runs the
    /// server in its own process gives it a clock it can move forward.
    #[arg(skip)]
    pub clock: Clock,
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

/// How the server's own crowd members connect (`--crowd-transport`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CrowdTransport {
    /// An in-memory pipe into the same gateway.
    Pipe,
    /// A loopback TCP socket.
    Tcp,
}
