//! Starting the backend for a test.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use bluetick_backend::Config;
use bluetick_backend::clock::Clock;
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The backend running inside the test's runtime on a free port, with its own data dir.
pub struct TestServer {
    pub addr: SocketAddr,
    data_dir: PathBuf,
    /// The server's clock: the real one unless the test gave it a skippable one.
    clock: Clock,
    /// The temporary data dir, when the server owns it (deleted on drop).
    _owned_dir: Option<TempDir>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server with default settings.
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// Starts a server whose lesson timings (presence TTLs, outages, crowd schedules,
    /// expiry, the lab sweep) run on a clock the test moves forward with
    /// [`TestServer::advance`], instead of waiting for them in real time.
    pub async fn start_skippable(adjust: impl FnOnce(&mut Config)) -> TestServer {
        TestServer::start_with(|c| {
            c.clock = Clock::skippable();
            adjust(c);
        })
        .await
    }

    /// Starts a server after letting the test adjust its config.
    pub async fn start_with(adjust: impl FnOnce(&mut Config)) -> TestServer {
        let owned = tempfile::tempdir().expect("temp data dir");
        let mut server = TestServer::start_in(owned.path(), adjust).await;
        server._owned_dir = Some(owned);
        server
    }

    /// Starts a server on a data dir the test keeps, so a later server can reopen it.
    pub async fn start_in(data_dir: &Path, adjust: impl FnOnce(&mut Config)) -> TestServer {
        let mut config = Config::with_data_dir(data_dir);
        config.static_dir = data_dir.join("no-page-here");
        adjust(&mut config);
        let clock = config.clock.clone();
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            bluetick_backend::run(listener, config, async {
                let _ = rx.await;
            })
            .await
            .expect("server failed");
        });
        TestServer {
            addr,
            data_dir: data_dir.to_path_buf(),
            clock,
            _owned_dir: None,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// Moves the server's clock forward (a server from [`TestServer::start_skippable`]):
    /// whatever was due by then (a TTL, an outage's end, a crowd member's return) happens
    /// now, at the server's pace; wait for its effect, not for time.
    pub fn advance(&self, by: std::time::Duration) {
        self.clock.advance(by);
    }

    /// Asks the server to shut down and waits until it has (sockets closed, database
    /// closed).
    pub async fn stop(mut self) {
        self.begin_shutdown();
        if let Some(task) = self.task.take() {
            task.await.expect("server task panicked");
        }
    }

    /// Starts shutting down without waiting, so a test can watch what clients see.
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    /// Waits for a shutdown begun with [`TestServer::begin_shutdown`] to finish.
    pub async fn finished(mut self) {
        if let Some(task) = self.task.take() {
            task.await.expect("server task panicked");
        }
    }
}

/// The backend as a child process: the real `bluetick` entry point, on a free port.
pub struct ServerProcess {
    pub addr: SocketAddr,
    pub child: Child,
}

impl ServerProcess {
    /// Starts `bluetick --addr 127.0.0.1:0 --data-dir DIR` and waits for its
    /// "listening on" line to learn the port.
    pub fn start(data_dir: &Path, extra_args: &[&str]) -> ServerProcess {
        let mut child = Command::new(server_binary())
            .arg("--addr")
            .arg("127.0.0.1:0")
            .arg("--data-dir")
            .arg(data_dir)
            .arg("--static-dir")
            .arg(data_dir.join("no-page-here"))
            .args(extra_args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn the server binary");
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read the server's first line");
        let addr =
            parse_listening_line(&line).unwrap_or_else(|| panic!("unexpected first line from the server: {line:?}"));
        // Keep draining stdout so the server never writes into a closed pipe.
        std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
        ServerProcess { addr, child }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// Sends a signal by number (2 = SIGINT as from Ctrl-C, 9 = SIGKILL).
    pub fn signal(&self, signal: i32) {
        signal_process(self.child.id(), signal);
    }
}

/// Sends a signal to a process by id: for a task that must kill the server the moment
/// it sees something, without holding the [`ServerProcess`].
pub fn signal_process(pid: u32, signal: i32) {
    let status = Command::new("kill").arg(format!("-{signal}")).arg(pid.to_string()).status().expect("run kill");
    assert!(status.success(), "kill -{signal} {pid} failed");
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `bluetick listening on http://127.0.0.1:PORT/ …` → the address.
pub fn parse_listening_line(line: &str) -> Option<SocketAddr> {
    let rest = line.strip_prefix("bluetick listening on http://")?;
    rest.split('/').next()?.parse().ok()
}

/// The `bluetick-under-test` binary. Cargo builds a package's binaries before its
/// integration tests and puts them one level above the test executables (`deps/`).
fn server_binary() -> PathBuf {
    let test_exe = std::env::current_exe().expect("current exe");
    let dir = test_exe.parent().and_then(Path::parent).expect("target dir");
    let path = dir.join(format!("bluetick-under-test{}", std::env::consts::EXE_SUFFIX));
    assert!(path.is_file(), "server binary not built: {}", path.display());
    path
}
