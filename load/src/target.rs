//! Where a scenario's clients go, and how their devices and groups come to exist.
//!
//! By default the load generator owns the server: it creates devices and groups directly
//! in a fresh database (see [`crate::seed`]), then starts the backend on that database as
//! a child process. With `--url` it targets a running server
//! and registers through the HTTP API instead. The bare relay has no database: its
//! devices are made up locally.

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;

use bluetick_client::http::request;
use bluetick_shared::frames::{GroupId, Registration};
use futures_util::StreamExt;
use tempfile::TempDir;
use uuid::Uuid;

use crate::seed::Seed;
use crate::serve::ChildServer;

/// HTTP calls in flight when registering against a running server.
const HTTP_CONCURRENCY: usize = 32;

pub type Error = String;

/// Preparing a run: devices and groups first, then the server.
pub enum Setup {
    Owned { dir: PathBuf, temp: Option<TempDir>, seed: Seed, server_flags: Vec<String> },
    External { addr: SocketAddr },
    Relay,
}

/// A server under load.
pub enum Backend {
    Owned { server: ChildServer, _temp: Option<TempDir> },
    External { addr: SocketAddr },
    Relay { server: ChildServer },
}

/// Options every scenario shares.
#[derive(Debug, Clone, clap::Args)]
pub struct TargetArgs {
    /// A running server (`ws://HOST:PORT/ws` or `http://HOST:PORT`); by default the load
    /// generator starts its own on a free loopback port with a fresh database.
    #[arg(long)]
    pub url: Option<String>,
    /// Data dir for the server it starts (a temporary directory by default).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Extra flags for the server it starts, e.g. `--server-arg=--presence-ttl-ms=5000`.
    #[arg(long = "server-arg", allow_hyphen_values = true)]
    pub server_args: Vec<String>,
}

impl Setup {
    pub async fn new(args: &TargetArgs) -> Result<Setup, Error> {
        if let Some(url) = &args.url {
            return Ok(Setup::External { addr: parse_addr(url)? });
        }
        let (dir, temp) = match &args.data_dir {
            Some(dir) => (dir.clone(), None),
            None => {
                let temp = tempfile::Builder::new().prefix("bluetick-load-").tempdir().map_err(|e| e.to_string())?;
                (temp.path().to_path_buf(), Some(temp))
            }
        };
        let seed = Seed::open(&dir).await?;
        Ok(Setup::Owned { dir, temp, seed, server_flags: args.server_args.clone() })
    }

    /// Registers `n` users with one device each, named `prefix-i`.
    pub async fn register(&mut self, n: usize, prefix: &str) -> Result<Vec<Registration>, Error> {
        let names: Vec<String> = (0..n).map(|i| format!("{prefix}-{i}")).collect();
        match self {
            Setup::Owned { seed, .. } => seed.register(&names).await,
            Setup::External { addr } => {
                let addr = *addr;
                let results: Vec<Result<Registration, Error>> = futures_util::stream::iter(names)
                    .map(|name| async move {
                        let body = serde_json::json!({ "name": name }).to_string();
                        let text = call(addr, None, "POST", "/api/devices", Some(&body)).await?;
                        serde_json::from_str(&text).map_err(|e| e.to_string())
                    })
                    .buffered(HTTP_CONCURRENCY)
                    .collect()
                    .await;
                results.into_iter().collect()
            }
            Setup::Relay => Ok(names
                .into_iter()
                .map(|name| {
                    // The relay knows no users: a device is its own user.
                    let id = Uuid::now_v7();
                    Registration { user_id: id, device_id: id, token: "relay".into(), name }
                })
                .collect()),
        }
    }

    /// A group made by `owner` with every one of `members`.
    pub async fn group(&mut self, owner: &Registration, members: &[Registration]) -> Result<GroupId, Error> {
        let users: Vec<_> = members.iter().map(|m| m.user_id).collect();
        match self {
            Setup::Owned { seed, .. } => seed.group(owner.user_id, &users).await,
            Setup::External { addr } => {
                let addr = *addr;
                let bearer = format!("{}:{}", owner.device_id, owner.token);
                let text = call(addr, Some(&bearer), "POST", "/api/groups", Some(r#"{"name":"load"}"#)).await?;
                let view: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
                let group: GroupId = view["id"].as_str().and_then(|s| s.parse().ok()).ok_or("no group id")?;
                let path = format!("/api/groups/{group}/members");
                for user in users {
                    let body = serde_json::json!({ "user_id": user }).to_string();
                    call(addr, Some(&bearer), "POST", &path, Some(&body)).await?;
                }
                Ok(group)
            }
            Setup::Relay => Err("the bare relay has no groups".into()),
        }
    }

    /// Starts the server (when owned), or connects to nothing new (when external).
    pub async fn start(self) -> Result<Backend, Error> {
        match self {
            Setup::Owned { dir, temp, seed, server_flags } => {
                seed.close().await;
                let mut args: Vec<OsString> = vec!["serve".into(), "--data-dir".into(), dir.into_os_string()];
                args.extend(server_flags.into_iter().map(OsString::from));
                let server = spawn(args).await?;
                Ok(Backend::Owned { server, _temp: temp })
            }
            Setup::External { addr } => Ok(Backend::External { addr }),
            Setup::Relay => Ok(Backend::Relay { server: spawn(vec!["relay".into()]).await? }),
        }
    }
}

async fn spawn(args: Vec<OsString>) -> Result<ChildServer, Error> {
    let any_port: SocketAddr = "127.0.0.1:0".parse().expect("valid address");
    tokio::task::spawn_blocking(move || ChildServer::spawn(args, any_port))
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("cannot start the server: {e}"))
}

impl Backend {
    pub fn addr(&self) -> SocketAddr {
        match self {
            Backend::Owned { server, .. } | Backend::Relay { server } => server.addr,
            Backend::External { addr } => *addr,
        }
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/ws", self.addr())
    }

    /// The server's process id, when it is our child.
    pub fn pid(&self) -> Option<u32> {
        match self {
            Backend::Owned { server, .. } | Backend::Relay { server } => Some(server.pid()),
            Backend::External { .. } => None,
        }
    }

    pub fn child(&mut self) -> Option<&mut ChildServer> {
        match self {
            Backend::Owned { server, .. } | Backend::Relay { server } => Some(server),
            Backend::External { .. } => None,
        }
    }

    /// Stops a server we started (gracefully); leaves a running one alone.
    pub async fn stop(self) {
        match self {
            Backend::Owned { server, _temp } => {
                let _ = tokio::task::spawn_blocking(move || server.stop()).await;
                drop(_temp);
            }
            Backend::Relay { server } => {
                let _ = tokio::task::spawn_blocking(move || server.stop()).await;
            }
            Backend::External { .. } => {}
        }
    }
}

async fn call(
    addr: SocketAddr,
    bearer: Option<&str>,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> Result<String, Error> {
    let (status, text) = request(addr, method, path, body, bearer).await.map_err(|e| e.to_string())?;
    if (200..300).contains(&status) { Ok(text) } else { Err(format!("{method} {path} → {status}: {text}")) }
}

/// `ws://127.0.0.1:8080/ws`, `http://127.0.0.1:8080/` or `127.0.0.1:8080` → the address.
pub fn parse_addr(url: &str) -> Result<SocketAddr, Error> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split('/').next().unwrap_or(rest);
    host.parse().map_err(|_| format!("expected a loopback ws://IP:PORT/ws url, got {url:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_addresses() {
        let addr: SocketAddr = "127.0.0.1:8080".parse().unwrap();
        assert_eq!(parse_addr("ws://127.0.0.1:8080/ws").unwrap(), addr);
        assert_eq!(parse_addr("http://127.0.0.1:8080/").unwrap(), addr);
        assert_eq!(parse_addr("127.0.0.1:8080").unwrap(), addr);
        assert!(parse_addr("ws://example.com/ws").is_err());
    }
}
