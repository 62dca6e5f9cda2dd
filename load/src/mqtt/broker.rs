//! The Mosquitto broker `mqtt-baseline` measures, as a child process: found on PATH (or
//! in /usr/sbin, where Debian puts it), started on a free loopback port with a config
//! written into a fresh temporary directory that also holds its persistence file, and
//! killed at the end.

use std::fmt::Write as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tempfile::TempDir;
use tokio::time::Instant;

pub type Error = String;

/// How long the broker may take to accept connections.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// What goes into the broker's config besides the listener and the directory.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// `max_inflight_messages`: QoS 1/2 messages the broker has in flight to one client.
    pub max_inflight: usize,
    /// `max_queued_messages`: QoS 1/2 messages queued for one client beyond those.
    pub max_queued: usize,
    /// Extra config lines, appended as given (`--broker-conf`).
    pub extra: Vec<String>,
}

pub struct Broker {
    child: Child,
    pub addr: SocketAddr,
    pub executable: PathBuf,
    /// The config as written, for the report.
    pub config: String,
    dir: TempDir,
}

/// `mosquitto` on PATH, else where Debian's package installs it.
pub fn find_mosquitto() -> Result<PathBuf, Error> {
    let on_path = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).map(|dir| dir.join("mosquitto")).collect::<Vec<_>>())
        .unwrap_or_default();
    let known = ["/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"].map(PathBuf::from);
    on_path.into_iter().chain(known).find(|p| p.is_file()).ok_or_else(|| {
        "mosquitto is not installed (not on PATH, not /usr/sbin/mosquitto): install it with \
         `apt-get install mosquitto`, or run `scripts/install-tools.sh --mosquitto`"
            .to_string()
    })
}

impl Broker {
    /// Writes the config and starts the broker; returns once it accepts connections.
    pub async fn start(executable: PathBuf, config: &BrokerConfig) -> Result<Broker, Error> {
        let dir = tempfile::Builder::new().prefix("bluetick-load-mosquitto-").tempdir().map_err(|e| e.to_string())?;
        let port = free_port()?;
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let text = config_text(port, dir.path(), config);
        let conf = dir.path().join("mosquitto.conf");
        std::fs::write(&conf, &text).map_err(|e| format!("cannot write {}: {e}", conf.display()))?;
        let log = dir.path().join("mosquitto.log");
        let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut child = Command::new(&executable)
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file)
            .spawn()
            .map_err(|e| format!("cannot run {}: {e}", executable.display()))?;
        // Ready is when the port accepts a connection; a broker that exits instead (a bad
        // config, the port taken meanwhile) is reported with what it logged.
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let said = std::fs::read_to_string(&log).unwrap_or_default();
                return Err(format!("mosquitto exited at start ({status}): {}", said.trim()));
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                break;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("mosquitto did not listen on {addr} within {START_TIMEOUT:?}"));
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Broker { child, addr, executable, config: text, dir })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Its persistence file, if it has written one.
    pub fn persistence_file(&self) -> PathBuf {
        self.dir.path().join("mosquitto.db")
    }

    /// Kills the broker (SIGKILL: nothing it would save on the way out is wanted) and
    /// removes its directory.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// A port free on 127.0.0.1 a moment ago (the broker binds it itself).
fn free_port() -> Result<u16, Error> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// The config: one loopback listener, anonymous clients, persistence into `dir`.
pub fn config_text(port: u16, dir: &Path, config: &BrokerConfig) -> String {
    let mut text = String::from("# Written by bluetick-load mqtt-baseline.\n");
    let _ = writeln!(text, "listener {port} 127.0.0.1");
    text += "allow_anonymous true\n";
    text += "persistence true\n";
    let _ = writeln!(text, "persistence_location {}/", dir.display());
    text += "persistence_file mosquitto.db\n";
    let _ = writeln!(text, "max_inflight_messages {}", config.max_inflight);
    let _ = writeln!(text, "max_queued_messages {}", config.max_queued);
    // Latency is measured per message: Nagle would hold small packets back (bluetick's
    // server and every load client set TCP_NODELAY too).
    text += "set_tcp_nodelay true\n";
    text += "log_dest stderr\nlog_type error\nlog_type warning\n";
    // Run as root, mosquitto would switch to its own user, who cannot write our
    // temporary directory; `user root` keeps it as it is (ignored when not root).
    // SAFETY: geteuid only reads this process's credentials.
    if unsafe { libc::geteuid() } == 0 {
        text += "user root\n";
    }
    for line in &config.extra {
        text += line;
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_listens_on_loopback_and_persists_into_its_directory() {
        let config = BrokerConfig { max_inflight: 100, max_queued: 5000, extra: vec!["autosave_interval 1".into()] };
        let text = config_text(1883, Path::new("/tmp/x"), &config);
        for line in [
            "listener 1883 127.0.0.1",
            "persistence true",
            "persistence_location /tmp/x/",
            "max_inflight_messages 100",
            "max_queued_messages 5000",
            "allow_anonymous true",
            "autosave_interval 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line:?} missing from\n{text}");
        }
    }
}
