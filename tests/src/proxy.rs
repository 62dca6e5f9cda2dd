//! A WebSocket proxy in front of the real server that makes it redeliver.
//!
//! The protocol lets a server push an entry again (a device "may see an entry twice"),
//! and the client library must drop such redeliveries. This server never does it on its
//! own: it resumes right after the `resume_after` the device's hello names, and the
//! library names the highest sequence it has. So the proxy rewrites each hello to resume
//! after an earlier sequence, as a server resuming from its own acknowledged cursor
//! would, and the real server then really pushes those entries again.
//!
//! It also clamps each `ack` to the highest sequence the server has pushed through the
//! proxy on that connection: the library re-acks what it has right after its hello, which
//! the real server (rightly) refuses when the hello said less; a server resuming from its
//! cursor would take that re-ack as the no-op it is. Everything else passes untouched.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bluetick_shared::frames::{ClientFrame, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

pub struct ResumeProxy {
    /// `ws://…/ws` of the proxy: connect here instead of to the server.
    pub url: String,
    task: JoinHandle<()>,
}

impl ResumeProxy {
    /// Proxies to `upstream` (`ws://…/ws`), rewriting every hello to resume after
    /// `resume_after`.
    pub async fn start(upstream: String, resume_after: u64) -> ResumeProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let url = format!("ws://{}/ws", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(relay(tcp, upstream.clone(), resume_after));
            }
        });
        ResumeProxy { url, task }
    }
}

impl Drop for ResumeProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn relay(tcp: TcpStream, upstream: String, resume_after: u64) {
    let Ok(client) = tokio_tungstenite::accept_async(tcp).await else { return };
    let Ok((server, _)) = tokio_tungstenite::connect_async(upstream.as_str()).await else { return };
    let (mut to_client, mut from_client) = client.split();
    let (mut to_server, mut from_server) = server.split();
    // The highest inbox sequence the server pushed on this connection.
    let pushed = Arc::new(AtomicU64::new(resume_after));
    let pushed_up = pushed.clone();
    let upward = async move {
        while let Some(Ok(message)) = from_client.next().await {
            let message = match &message {
                Message::Text(text) => match ClientFrame::from_json(text.as_str()) {
                    Ok(ClientFrame::Hello { protocol, client, auth, .. }) => {
                        Message::text(ClientFrame::Hello { protocol, client, auth, resume_after }.to_json())
                    }
                    Ok(ClientFrame::Ack { up_to }) => {
                        let up_to = up_to.min(pushed_up.load(Ordering::SeqCst));
                        Message::text(ClientFrame::Ack { up_to }.to_json())
                    }
                    _ => message,
                },
                _ => message,
            };
            if to_server.send(message).await.is_err() {
                return;
            }
        }
    };
    let downward = async move {
        while let Some(Ok(message)) = from_server.next().await {
            if let Message::Text(text) = &message
                && let Some(seq) = ServerFrame::from_json(text.as_str()).ok().and_then(|f| f.inbox_seq())
            {
                pushed.fetch_max(seq, Ordering::SeqCst);
            }
            if to_client.send(message).await.is_err() {
                return;
            }
        }
    };
    // When either side goes, both go.
    tokio::select! {
        _ = upward => {}
        _ = downward => {}
    }
}
