//! The bare relay: the floor `relay-baseline` compares bluetick against.
//!
//! It speaks just enough of bluetick's protocol for the same clients to run unchanged:
//! `hello` → `welcome`; `send` → `sent` to the sender and `message` to the recipient's
//! connection; the recipient's `ack` → a `delivered` receipt to the sender. Frames are
//! the same JSON. There is no storage, no fsync, no authentication, no presence and no
//! delivery to offline devices: a message for a device that is not connected is dropped.
//! What remains is the cost of WebSocket framing, JSON and routing on this machine.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use bluetick_backend::store::unix_millis;
use bluetick_shared::frames::{ClientFrame, DeviceId, MessageId, PROTOCOL_VERSION, Recipient, ServerFrame, TickState};
use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use uuid::Uuid;

use crate::rss::raise_fd_limit;
use crate::serve::{announce, terminated};

/// One connected device: where its frames go and its in-memory inbox numbering.
struct Slot {
    outbox: mpsc::UnboundedSender<Message>,
    connection: Uuid,
    next_seq: u64,
    /// Messages pushed and not yet acknowledged: (seq, sender device, id).
    unacked: VecDeque<(u64, DeviceId, MessageId)>,
}

#[derive(Default)]
struct Routes(Mutex<HashMap<DeviceId, Slot>>);

impl Routes {
    /// Pushes an inbox-style frame to `device`, numbering it; returns its seq.
    fn push(&self, device: DeviceId, make: impl FnOnce(u64) -> ServerFrame) -> Option<u64> {
        let mut routes = self.0.lock().unwrap();
        let slot = routes.get_mut(&device)?;
        slot.next_seq += 1;
        let seq = slot.next_seq;
        let _ = slot.outbox.send(Message::text(make(seq).to_json()));
        Some(seq)
    }
}

/// `bluetick-load relay --addr ADDR`.
pub async fn serve(addr: SocketAddr) -> ExitCode {
    raise_fd_limit();
    let listener = match TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("bluetick-load relay: cannot listen on {addr}: {e}");
            return ExitCode::FAILURE;
        }
    };
    announce("relay", &listener);
    let routes = Arc::new(Routes::default());
    let accept = async {
        loop {
            let Ok((stream, _)) = listener.accept().await else { continue };
            let _ = stream.set_nodelay(true);
            tokio::spawn(connection(stream, routes.clone()));
        }
    };
    tokio::select! {
        _ = accept => {}
        _ = terminated() => {}
    }
    ExitCode::SUCCESS
}

async fn connection(stream: TcpStream, routes: Arc<Routes>) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else { return };
    let (mut sink, mut stream) = ws.split();
    let (outbox, mut queue) = mpsc::unbounded_channel::<Message>();
    let writer = tokio::spawn(async move {
        while let Some(message) = queue.recv().await {
            if sink.send(message).await.is_err() {
                return;
            }
        }
    });
    let connection_id = Uuid::now_v7();
    let mut me: Option<DeviceId> = None;
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            if message.is_close() {
                break;
            }
            continue;
        };
        let Ok(frame) = ClientFrame::from_json(text.as_str()) else { continue };
        match frame {
            ClientFrame::Hello { auth, .. } => {
                let device = auth.map_or_else(Uuid::now_v7, |a| a.device_id);
                me = Some(device);
                let slot =
                    Slot { outbox: outbox.clone(), connection: connection_id, next_seq: 0, unacked: VecDeque::new() };
                routes.0.lock().unwrap().insert(device, slot);
                let welcome = ServerFrame::Welcome {
                    protocol: PROTOCOL_VERSION,
                    server: "bluetick-load-relay".into(),
                    connection_id,
                    device: Some(device),
                    user: Some(device),
                    heartbeat_ms: 10_000,
                    presence_ttl_ms: 30_000,
                };
                let _ = outbox.send(Message::text(welcome.to_json()));
            }
            ClientFrame::Send { id, to, body } => {
                let Some(from) = me else { continue };
                let at = unix_millis();
                let _ = outbox.send(Message::text(ServerFrame::Sent { id, at }.to_json()));
                let Recipient::User(user) = to else { continue };
                let delivery = bluetick_shared::frames::Delivery {
                    id,
                    from_user: from,
                    from_device: from,
                    from_name: String::new(),
                    to,
                    body,
                    sent_at: at,
                };
                let mut routes = routes.0.lock().unwrap();
                if let Some(slot) = routes.get_mut(&user) {
                    slot.next_seq += 1;
                    let seq = slot.next_seq;
                    slot.unacked.push_back((seq, from, id));
                    let _ = slot.outbox.send(Message::text(ServerFrame::Message { seq, message: delivery }.to_json()));
                }
            }
            ClientFrame::Ack { up_to } => {
                let Some(device) = me else { continue };
                let acked: Vec<(DeviceId, MessageId)> = {
                    let mut routes = routes.0.lock().unwrap();
                    let Some(slot) = routes.get_mut(&device) else { continue };
                    let mut acked = Vec::new();
                    while slot.unacked.front().is_some_and(|(seq, _, _)| *seq <= up_to) {
                        let (_, sender, id) = slot.unacked.pop_front().expect("checked");
                        acked.push((sender, id));
                    }
                    acked
                };
                let at = unix_millis();
                for (sender, id) in acked {
                    routes.push(sender, |seq| ServerFrame::Receipt {
                        seq,
                        id,
                        state: TickState::Delivered,
                        at,
                        reason: None,
                        progress: None,
                    });
                }
            }
            ClientFrame::Heartbeat
            | ClientFrame::Read { .. }
            | ClientFrame::WatchPresence { .. }
            | ClientFrame::Observe { .. } => {}
        }
    }
    if let Some(device) = me {
        let mut routes = routes.0.lock().unwrap();
        if routes.get(&device).is_some_and(|slot| slot.connection == connection_id) {
            routes.remove(&device);
        }
    }
    drop(outbox);
    let _ = writer.await;
}
