//! One crowd member's life: come online (late, if it starts offline), publish its keys
//! in an encrypted crowd, then heartbeat, acknowledge, read after a random delay and
//! reconnect with the shared backoff until the crowd stops.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bluetick_shared::backoff::Backoff;
use bluetick_shared::frames::{ClientFrame, ServerFrame};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::MemberLog;
use crate::clock::Clock;
use bluetick_client::e2e::E2eDevice;
use bluetick_client::transport::Transport;
use bluetick_client::{ClientError, Connection, DeviceState, Event};

use crate::gateway::in_process::InProcessDoor;

pub(super) struct Behaviour {
    pub(super) url: String,
    /// The server's in-process door, for a crowd of its own; `None`: over TCP.
    pub(super) door: Option<Arc<InProcessDoor>>,
    pub(super) index: usize,
    pub(super) starts_offline: bool,
    pub(super) back_after: Duration,
    pub(super) read_delay_ms: (u64, u64),
    pub(super) heartbeat: Duration,
    pub(super) rng: fastrand::Rng,
    pub(super) logs: Arc<Mutex<Vec<MemberLog>>>,
    pub(super) stop: CancellationToken,
    pub(super) clock: Clock,
    pub(super) e2e: Option<E2eDevice>,
}

/// `ws://host:port/ws` → `host:port`, where the key directory answers too.
pub(super) fn api_addr(ws_url: &str) -> Option<std::net::SocketAddr> {
    ws_url.strip_prefix("ws://")?.split('/').next()?.parse().ok()
}

impl Behaviour {
    pub(super) async fn run(mut self, mut state: DeviceState) {
        if self.starts_offline && self.sleep(self.back_after).await.is_err() {
            return;
        }
        let backoff = Backoff { base_ms: 200, factor: 2, cap_ms: 5_000, jitter: 0.5 };
        let mut attempt = 0;
        loop {
            if let Some(e2e) = self.e2e.as_mut()
                && !self.logs.lock().unwrap()[self.index].keys_published
            {
                match e2e.publish_keys().await {
                    Ok(_) => self.log(|log| log.keys_published = true),
                    Err(e) => tracing::debug!(member = self.index, error = %e, "crowd member could not publish keys"),
                }
            }
            // A crowd of the server's own comes in by its door, or not at all (the door
            // is shut while the server stops); any other crowd over TCP.
            let connected = match self.door.as_ref().map(|door| door.dial()) {
                Some(Some(pipe)) => Connection::connect_on(Transport::Memory(pipe), &self.url, state.clone()).await,
                Some(None) => Err(ClientError::WebSocket(tokio_tungstenite::tungstenite::Error::ConnectionClosed)),
                None => Connection::connect(&self.url, state.clone()).await,
            };
            match connected {
                Ok(connection) => {
                    attempt = 0;
                    self.log(|log| {
                        log.online = true;
                        log.connects += 1;
                    });
                    let (returned, stopped) = self.live(connection).await;
                    state = returned;
                    self.log(|log| log.online = false);
                    if stopped {
                        return;
                    }
                }
                Err(e) => tracing::debug!(member = self.index, error = %e, "crowd member could not connect"),
            }
            attempt += 1;
            let delay = backoff.delay_ms(attempt, self.rng.f64());
            if self.sleep(Duration::from_millis(delay)).await.is_err() {
                return;
            }
        }
    }

    /// Talks on one connection until it fails (false) or the crowd stops (true).
    async fn live(&mut self, mut connection: Connection) -> (DeviceState, bool) {
        let mut reads: Vec<(Instant, u64)> = Vec::new();
        let mut next_heartbeat = self.clock.now() + self.heartbeat;
        loop {
            let next_read = reads.iter().map(|(at, _)| *at).min();
            let wake = next_read.map_or(next_heartbeat, |r| r.min(next_heartbeat));
            let frame = tokio::select! {
                _ = self.stop.cancelled() => return (connection.close().await, true),
                _ = self.clock.sleep_until(wake) => None,
                frame = connection.recv_frame() => Some(frame),
            };
            let now = self.clock.now();
            let result = match frame {
                Some(Ok(frame)) => self.absorb(&mut connection, frame, &mut reads).await,
                Some(Err(e)) => Err(e),
                None => Ok(()),
            };
            let result = match result {
                Ok(()) if now >= next_heartbeat => {
                    next_heartbeat = now + self.heartbeat;
                    connection.heartbeat().await
                }
                other => other,
            };
            let due: Vec<u64> = reads.iter().filter(|(at, _)| *at <= now).map(|(_, seq)| *seq).collect();
            let result = match result {
                Ok(()) if !due.is_empty() => {
                    reads.retain(|(at, _)| *at > now);
                    let n = due.len();
                    let sent = connection.send_frame(&ClientFrame::Read { seqs: due }).await;
                    self.log(|log| log.read += n);
                    sent
                }
                other => other,
            };
            if let Err(e) = result {
                tracing::debug!(member = self.index, error = %e, "crowd member lost its connection");
                return (connection.drop_abruptly(), false);
            }
        }
    }

    async fn absorb(
        &mut self,
        connection: &mut Connection,
        frame: ServerFrame,
        reads: &mut Vec<(Instant, u64)>,
    ) -> Result<(), bluetick_client::ClientError> {
        let event = connection.absorb(frame).await?;
        let dropped = connection.duplicates_dropped;
        if let Some(Event::Message { seq, message }) = event {
            let (low, high) = self.read_delay_ms;
            let delay = self.rng.u64(low.min(high)..=high.max(low));
            reads.push((self.clock.now() + Duration::from_millis(delay), seq));
            self.log(|log| log.received.push(message.id));
            if let Some(e2e) = self.e2e.as_mut() {
                let (mut decrypted, mut undecryptable) = (0, 0);
                for got in e2e.receive(message) {
                    match got.content {
                        Ok(bluetick_shared::e2e::Decrypted::RoomKey { .. }) => {}
                        Ok(_) => decrypted += 1,
                        Err(_) => undecryptable += 1,
                    }
                }
                self.log(|log| {
                    log.decrypted += decrypted;
                    log.undecryptable += undecryptable;
                });
            }
        }
        self.log(|log| log.duplicates_dropped = dropped);
        Ok(())
    }

    fn log(&self, change: impl FnOnce(&mut MemberLog)) {
        change(&mut self.logs.lock().unwrap()[self.index]);
    }

    /// Sleeps unless the crowd stops first (then `Err`).
    async fn sleep(&self, duration: Duration) -> Result<(), ()> {
        tokio::select! {
            _ = self.stop.cancelled() => Err(()),
            _ = self.clock.sleep(duration) => Ok(()),
        }
    }
}
