//! One WebSocket connection, from `hello` to the close frame.
//!
//! The socket is split: a writer task owns the sending half and drains a bounded queue;
//! the reader loop (this task) owns the receiving half. Anything that wants to send to
//! this client puts a frame on the queue, so a slow client can never make the server
//! buffer without bound.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{Message, WebSocket};
use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{ClientFrame, ServerFrame};
use futures_util::future::Either;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::sync::{Semaphore, mpsc};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tracing::Instrument;
use uuid::Uuid;

use super::close::Ending;
use super::inbox_pusher::InboxFeed;
use super::refusal::{Refusal, refuse};
use crate::peer::{Kick, KickSlot, Peer};
use crate::state::AppState;
use crate::store::DeviceIdentity;
use crate::trace::TraceSink;

/// Bad frames in a row before the connection is closed.
const MAX_CONSECUTIVE_ERRORS: u32 = 8;
/// How long to wait for the client's close reply after sending our close frame.
const CLOSE_REPLY_TIMEOUT: Duration = Duration::from_secs(1);
/// Sends and acks a connection may have waiting for their commit at once; the reader
/// stops reading (TCP backpressure) beyond that.
const MAX_IN_FLIGHT: usize = 256;

/// Sets the connection up and returns its life as a future.
///
/// The setup is plain code rather than part of the future: an async function keeps its
/// arguments (the whole WebSocket, the state) in its future for as long as it lives,
/// and every connection's task holds that future while it waits for the next frame.
/// What the returned future holds is the session and the halves it still uses.
pub(super) fn run(socket: WebSocket, state: AppState, peer_addr: SocketAddr) -> impl Future<Output = ()> {
    let connection_id = Uuid::now_v7();
    let span = tracing::info_span!("ws", %connection_id, peer = %peer_addr);
    let entered = span.enter();
    tracing::debug!("connected");
    let (sink, stream) = socket.split();
    let (socket_queue, queue) = flume::bounded(state.config.connection_queue.div_ceil(4).max(1));
    let kicks = Arc::new(KickSlot::default());
    let writer = tokio::spawn(write_loop(sink, queue).in_current_span());

    let presence_ttl = Duration::from_millis(state.config.presence_ttl_ms);
    let heartbeat = Duration::from_millis(state.config.heartbeat_ms);
    let connected_at = state.clock.now();
    let session = Session {
        state,
        connection_id,
        who: Who::default(),
        out: Outbound { peer: Peer::new(connection_id, socket_queue.clone(), kicks.clone()), socket_queue, feed: None },
        tasks: Tasks::default(),
        presence: PresenceTimer { last_heard: connected_at, ttl: presence_ttl, heartbeat },
        in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        kicks,
        errors_in_a_row: 0,
    };
    drop(entered);
    session.live(stream, writer).instrument(span)
}

impl Session {
    /// Reads until the connection ends, then leaves and closes.
    ///
    /// An `async move` block rather than an `async fn`: the block keeps the session as
    /// it captured it, where the `async fn` kept a second copy of its `mut self`
    /// argument in its future (1,504 bytes against 1,088 for the whole connection).
    #[allow(clippy::manual_async_fn)]
    fn live(mut self, mut stream: SplitStream<WebSocket>, writer: JoinHandle<()>) -> impl Future<Output = ()> {
        async move {
            let ending = self.read_loop(&mut stream).await;
            tracing::debug!(?ending, "ending");
            self.leave();
            if let Ending::Abrupt = ending {
                // Drop both halves without a close frame: the client sees the TCP
                // connection vanish, exactly as when a network fails.
                writer.abort();
                drop(self);
                drop(stream);
                return;
            }

            if let Some(close) = ending.close_message()
                && self.out.socket_queue.send_async(close).await.is_ok()
            {
                // Read until the client answers our close frame (or gives up), so the
                // close handshake completes and the browser reports a clean close.
                let _ =
                    tokio::time::timeout(CLOSE_REPLY_TIMEOUT, async { while let Some(Ok(_)) = stream.next().await {} })
                        .await;
            }
            drop(self);
            let _ = writer.await;
        }
    }
}

/// Frames written to the socket before one flush at most, so that a long burst still
/// reaches the client in pieces.
const MAX_FRAMES_PER_FLUSH: usize = 64;

/// Sends queued messages until the queue closes or a close frame has been sent.
///
/// Everything already queued is written together and flushed once: a burst of frames
/// (a batch's `sent` answers, a flush of the offline queue) costs one socket write and
/// one wake-up instead of one per frame.
#[allow(clippy::manual_async_fn)]
fn write_loop(mut sink: SplitSink<WebSocket, Message>, queue: flume::Receiver<Message>) -> impl Future<Output = ()> {
    // An `async move` block: as an `async fn` its future kept copies of its `mut`
    // arguments (384 bytes against 320).
    async move {
        while let Ok(first) = queue.recv_async().await {
            let mut next = Some(first);
            let mut written = 0;
            let mut closing = false;
            while let Some(message) = next.take() {
                closing = matches!(message, Message::Close(_));
                if let Err(e) = sink.feed(message).await {
                    tracing::debug!(error = %e, "write failed");
                    return;
                }
                written += 1;
                if !closing && written < MAX_FRAMES_PER_FLUSH {
                    next = queue.try_recv().ok();
                }
            }
            if let Err(e) = sink.flush().await {
                tracing::debug!(error = %e, "write failed");
                return;
            }
            if closing {
                return;
            }
        }
        let _ = sink.close().await;
    }
}

/// What woke the reader.
enum Woken {
    Frame(Option<Result<Message, axum::Error>>),
    Shutdown,
    Kick(Kick),
    /// The handshake timeout, or the presence TTL once handshaken, passed in silence.
    Silence,
}

/// One connection's state, in the parts its handlers reach for.
pub(super) struct Session {
    pub(super) state: AppState,
    pub(super) connection_id: Uuid,
    pub(super) who: Who,
    pub(super) out: Outbound,
    pub(super) tasks: Tasks,
    pub(super) presence: PresenceTimer,
    /// Sends and acks waiting for their commit hold one of `MAX_IN_FLIGHT` permits; the
    /// reader waits for a free one before queuing another write.
    pub(super) in_flight: Arc<Semaphore>,
    /// Closes asked for from outside this task (replaced, slow consumer, the lab's drop).
    kicks: Arc<KickSlot>,
    errors_in_a_row: u32,
}

/// Who is on the other end.
#[derive(Default)]
pub(super) struct Who {
    /// Whether `hello` was received: every other frame needs it first.
    pub(super) handshaken: bool,
    /// The authenticated device, once `hello` carried valid credentials.
    pub(super) device: Option<DeviceIdentity>,
}

/// The way out to the client: whatever is sent on this connection goes through here.
pub(super) struct Outbound {
    /// Frames waiting for the writer task; bounded, so a slow client cannot make the
    /// server buffer without bound.
    pub(super) socket_queue: flume::Sender<Message>,
    /// This connection as the rest of the server pushes to it and closes it.
    pub(super) peer: Peer,
    /// The device's inbox side, once `hello` authenticated one.
    pub(super) feed: Option<Arc<InboxFeed>>,
}

impl Outbound {
    /// The highest inbox sequence pushed on this connection: acks and reads beyond it
    /// are refused.
    pub(super) fn pushed_up_to(&self) -> u64 {
        self.feed.as_ref().map_or(0, |feed| feed.pushed_up_to())
    }
}

/// The tasks that write to the socket beside the reader and the inbox pusher; they end
/// when it leaves.
#[derive(Default)]
pub(super) struct Tasks {
    /// This connection's trace queue and the task forwarding it, once it observes.
    trace_sink: Option<(TraceSink, JoinHandle<()>)>,
}

impl Tasks {
    fn abort(&mut self) {
        if let Some((_, task)) = self.trace_sink.take() {
            task.abort();
        }
    }
}

/// How long the connection lives without hearing from the client.
pub(super) struct PresenceTimer {
    /// When the client last sent anything, on the server's clock: the presence TTL
    /// counts from here. (The handshake timeout is a socket guard, on real time.)
    last_heard: Instant,
    /// This connection's presence TTL and heartbeat interval (lab devices have shorter).
    pub(super) ttl: Duration,
    pub(super) heartbeat: Duration,
}

impl Session {
    async fn read_loop(&mut self, stream: &mut SplitStream<WebSocket>) -> Ending {
        let config = self.state.config.clone();
        let handshake_deadline = Instant::now() + Duration::from_secs(config.handshake_timeout_secs);
        loop {
            let ttl = self.presence.ttl;
            // One timer at a time: the handshake's until `hello`, then the presence TTL.
            // The futures below are what an idle connection holds, so they are kept few
            // and small, and each wake-up is handled after they are dropped.
            let silence = if self.who.handshaken {
                Either::Left(self.state.clock.sleep_until(self.presence.last_heard + ttl))
            } else {
                Either::Right(tokio::time::sleep_until(handshake_deadline))
            };
            let woken = tokio::select! {
                _ = self.state.shutdown.cancelled() => Woken::Shutdown,
                kick = self.kicks.wait() => Woken::Kick(kick),
                _ = silence => Woken::Silence,
                message = stream.next() => Woken::Frame(message),
            };
            let message = match woken {
                Woken::Frame(message) => message,
                Woken::Shutdown => return Ending::close(ErrorCode::ShuttingDown, "server shutting down"),
                Woken::Kick(kick) => {
                    if kick.abrupt {
                        tracing::info!(reason = %kick.reason, "cutting the connection without a close frame");
                        return Ending::Abrupt;
                    }
                    self.send(ServerFrame::error(kick.code, kick.reason.clone())).await;
                    return Ending::close(kick.code, kick.reason);
                }
                Woken::Silence if !self.who.handshaken => {
                    let reason = "no hello received in time";
                    self.send(ServerFrame::error(ErrorCode::HandshakeRequired, reason)).await;
                    return Ending::close(ErrorCode::HandshakeRequired, reason);
                }
                Woken::Silence => {
                    let reason = format!("no heartbeat for {} ms: presence expired", ttl.as_millis());
                    self.send(ServerFrame::error(ErrorCode::PresenceExpired, reason.clone())).await;
                    return Ending::close(ErrorCode::PresenceExpired, reason);
                }
            };
            self.presence.last_heard = self.state.clock.now();
            let outcome = match message {
                None | Some(Ok(Message::Close(_))) => return Ending::PeerGone,
                Some(Err(e)) => {
                    tracing::debug!(error = %e, "read failed");
                    return Ending::after_read_error(e);
                }
                // Boxed: handling a frame (`hello`'s authentication, a send's checks) takes
                // a large future that only exists while one frame is handled, and an idle
                // connection's task should not carry its space.
                Some(Ok(Message::Text(text))) => Box::pin(self.on_text(text.as_str())).await,
                Some(Ok(Message::Binary(_))) => Err(refuse(
                    ErrorCode::MalformedFrame,
                    "binary frames are not part of this protocol; send JSON text",
                )),
                // tungstenite answers pings itself.
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => Ok(None),
            };
            match outcome {
                Ok(None) => {}
                Ok(Some(ending)) => return ending,
                Err(refusal) => {
                    self.errors_in_a_row += 1;
                    tracing::debug!(code = ?refusal.code, message = %refusal.message, "refused frame");
                    if !self.send(refusal.into_frame()).await {
                        return Ending::PeerGone;
                    }
                    if self.errors_in_a_row >= MAX_CONSECUTIVE_ERRORS {
                        return Ending::close(
                            ErrorCode::TooManyErrors,
                            format!("{MAX_CONSECUTIVE_ERRORS} bad frames in a row"),
                        );
                    }
                }
            }
        }
    }

    /// Handles one text frame. `Ok(Some(_))` ends the connection; `Err` is a refusal to
    /// answer with an error frame.
    async fn on_text(&mut self, text: &str) -> Result<Option<Ending>, Refusal> {
        let limit = self.state.config.max_frame_bytes;
        if text.len() > limit {
            return Err(refuse(
                ErrorCode::FrameTooLarge,
                format!("frame of {} bytes exceeds the limit of {limit} bytes", text.len()),
            ));
        }
        let frame = ClientFrame::from_json(text).map_err(|e| refuse(ErrorCode::MalformedFrame, e.0))?;
        let outcome = self.dispatch(frame).await;
        if outcome.is_ok() {
            self.errors_in_a_row = 0;
        }
        outcome
    }

    /// Queues a frame for the writer, waiting for room; false if the writer is gone.
    ///
    /// The frame is serialised before the future is made, so that the future (part of
    /// the reader's) holds the few bytes of the message, not the frame it came from.
    pub(super) fn send(&self, frame: ServerFrame) -> impl Future<Output = bool> + '_ {
        let message = crate::peer::text_message(&frame);
        async move { self.out.socket_queue.send_async(message).await.is_ok() }
    }

    /// The connection's trace queue, made on first use with a task that forwards it to
    /// the client at the pace the client reads.
    pub(super) fn trace_sink(&mut self, user: bluetick_shared::frames::UserId) -> TraceSink {
        if let Some((sink, _)) = &self.tasks.trace_sink {
            return sink.clone();
        }
        let (frames, mut queue) = mpsc::channel::<ServerFrame>(crate::trace::TRACE_QUEUE);
        let socket_queue = self.out.socket_queue.clone();
        let task = tokio::spawn(async move {
            while let Some(frame) = queue.recv().await {
                if socket_queue.send_async(crate::peer::text_message(&frame)).await.is_err() {
                    return;
                }
            }
        });
        let sink = TraceSink { connection_id: self.connection_id, user, frames };
        self.tasks.trace_sink = Some((sink.clone(), task));
        sink
    }

    /// Takes this connection out of routing, presence and every subscription.
    fn leave(&mut self) {
        self.tasks.abort();
        if let Some(feed) = &self.out.feed {
            feed.close();
        }
        self.state.presence.forget(self.connection_id);
        self.state.traces.forget(self.connection_id);
        if let Some(device) = &self.who.device {
            self.state.connections.unregister(device.device, self.connection_id);
            if !self.state.connections.is_online(device.device) {
                self.state.presence.device_offline(device.user, device.device, self.state.clock.unix_millis());
            }
        }
    }
}
