//! The servers a scenario runs against, as child processes of the load generator: the
//! bluetick backend (the hidden `serve` subcommand runs `bluetick_backend::run`) and the
//! bare relay (the hidden `relay` subcommand). A child can be killed with SIGKILL and
//! started again on the same port and data dir, which is what `chaos` does.
//!
//! Children are the load generator's own executable run again, so one binary carries
//! everything. Each prints `… listening on http://ADDR/` as its first line.

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::Duration;

use bluetick_backend::Config;
use clap::Parser;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

use crate::rss::raise_fd_limit;

/// The first line a child prints, before the address.
pub const LISTENING: &str = "listening on http://";

/// `bluetick-load serve [bluetick flags]`: the backend with the `bluetick` command's
/// flags, logging warnings only, with the open-files limit raised as far as allowed.
pub async fn serve(flags: Vec<String>) -> ExitCode {
    raise_fd_limit();
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn,bluetick_backend::routes=error"));
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    let mut config = Config::parse_from(std::iter::once("bluetick".to_string()).chain(flags));
    if !config.static_dir.join("index.html").is_file() {
        config.static_dir = config.data_dir.join("no-page-here");
    }
    let listener = match TcpListener::bind(config.addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("bluetick-load serve: cannot listen on {}: {e}", config.addr);
            return ExitCode::FAILURE;
        }
    };
    announce("bluetick", &listener);
    match bluetick_backend::run(listener, config, terminated()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bluetick-load serve: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Prints the line the parent waits for.
pub fn announce(what: &str, listener: &TcpListener) {
    let addr = listener.local_addr().expect("a bound listener has an address");
    println!("{what} {LISTENING}{addr}/");
}

/// SIGTERM or Ctrl-C.
pub async fn terminated() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// A server running as a child process.
pub struct ChildServer {
    pub addr: SocketAddr,
    child: Child,
    /// The subcommand and its flags, without `--addr`, to start it again.
    args: Vec<OsString>,
    pub starts: u32,
}

impl ChildServer {
    /// Runs `bluetick-load <args> --addr <addr>` and waits for its listening line.
    pub fn spawn(args: Vec<OsString>, addr: SocketAddr) -> std::io::Result<ChildServer> {
        let (child, addr) = start(&args, addr)?;
        Ok(ChildServer { addr, child, args, starts: 1 })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr)
    }

    /// SIGKILL: no graceful anything; the process is gone mid-write.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Starts it again on the same port (and the same data dir: the flags are kept).
    /// Retries for a few seconds in case the port is not free yet.
    pub fn restart(&mut self) -> std::io::Result<()> {
        let mut last = None;
        for _ in 0..50 {
            match start(&self.args, self.addr) {
                Ok((child, _)) => {
                    self.child = child;
                    self.starts += 1;
                    return Ok(());
                }
                Err(e) => last = Some(e),
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Err(last.expect("at least one attempt"))
    }

    /// SIGTERM and wait: the server closes its sockets and its database.
    pub fn stop(mut self) {
        // SAFETY: sending a signal to our own child process.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        for _ in 0..100 {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            self.kill();
        }
    }
}

fn start(args: &[OsString], addr: SocketAddr) -> std::io::Result<(Child, SocketAddr)> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .args(args)
        .arg("--addr")
        .arg(addr.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line)?;
    let Some(found) = parse_listening(&line) else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(std::io::Error::other(format!("the server did not start: {line:?}")));
    };
    std::thread::spawn(move || std::io::copy(&mut stdout, &mut std::io::sink()));
    Ok((child, found))
}

/// `… listening on http://127.0.0.1:PORT/` → the address.
pub fn parse_listening(line: &str) -> Option<SocketAddr> {
    let (_, rest) = line.split_once(LISTENING)?;
    rest.trim().trim_end_matches('/').parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listening_line_gives_the_address() {
        assert_eq!(
            parse_listening("bluetick listening on http://127.0.0.1:4321/\n"),
            Some("127.0.0.1:4321".parse().unwrap())
        );
        assert_eq!(parse_listening("error: address in use"), None);
    }
}
