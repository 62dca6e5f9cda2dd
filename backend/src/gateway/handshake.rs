//! `hello`: the protocol version, then who this is.

use std::sync::Arc;

use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{Credentials, PROTOCOL_VERSION, ServerFrame};

use super::close::Ending;
use super::inbox_pusher::{InboxFeed, LabFlush};
use super::refusal::{Refusal, refuse};
use super::session::Session;
use crate::lab::pace::Pacing;

impl Session {
    pub(super) async fn on_hello(
        &mut self,
        protocol: u32,
        client: String,
        auth: Option<Credentials>,
        resume_after: u64,
    ) -> Result<Option<Ending>, Refusal> {
        if self.who.handshaken {
            return Err(refuse(ErrorCode::AlreadyHandshaken, "hello was already received"));
        }
        if protocol != PROTOCOL_VERSION {
            let reason = format!("this server speaks protocol {PROTOCOL_VERSION}; the client sent {protocol}");
            self.send(ServerFrame::error(ErrorCode::UnsupportedVersion, reason.clone())).await;
            return Ok(Some(Ending::close(ErrorCode::UnsupportedVersion, reason)));
        }
        if let Some(credentials) = auth {
            let identity = match self.state.store.authenticate(credentials.device_id, &credentials.token).await {
                Ok(Some(identity)) => identity,
                Ok(None) => {
                    let reason = "unknown device or wrong token";
                    self.send(ServerFrame::error(ErrorCode::BadCredentials, reason)).await;
                    return Ok(Some(Ending::close(ErrorCode::BadCredentials, reason)));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "authentication failed");
                    let reason = "the server cannot check credentials right now; try again";
                    self.send(ServerFrame::error(ErrorCode::StorageUnavailable, reason)).await;
                    return Ok(Some(Ending::close(ErrorCode::StorageUnavailable, reason)));
                }
            };
            if let Some(lab) = identity.lab {
                self.state.labs.touch(lab);
                let ttl = self.state.config.lab_presence_ttl_ms.max(100);
                self.presence.ttl = std::time::Duration::from_millis(ttl);
                self.presence.heartbeat = std::time::Duration::from_millis(ttl / 4);
                if let Some(left) = self.state.labs.outage_left(lab, identity.device) {
                    // The lab's "server unreachable": no answer at all, the connection
                    // just goes away, so the client's reconnect logic is what shows.
                    tracing::info!(device = %identity.device, left_ms = left.as_millis() as u64, "lab outage: refused");
                    return Ok(Some(Ending::Abrupt));
                }
            }
            self.attach_device(identity, resume_after).await;
        }
        self.who.handshaken = true;
        tracing::info!(%client, device = ?self.who.device.as_ref().map(|d| d.device), "handshake complete");
        let welcome = ServerFrame::Welcome {
            protocol: PROTOCOL_VERSION,
            server: crate::SERVER_NAME.to_string(),
            connection_id: self.connection_id,
            device: self.who.device.as_ref().map(|d| d.device),
            user: self.who.device.as_ref().map(|d| d.user),
            heartbeat_ms: self.presence.heartbeat.as_millis() as u64,
            presence_ttl_ms: self.presence.ttl.as_millis() as u64,
        };
        if !self.send(welcome).await {
            return Ok(Some(Ending::PeerGone));
        }
        // Only now, after `welcome` is queued, may inbox entries follow it.
        if let Some(feed) = &self.out.feed {
            feed.start();
        }
        Ok(None)
    }

    /// Takes over the device's route; its inbox is pushed after `resume_after` once
    /// `welcome` is queued.
    async fn attach_device(&mut self, identity: crate::store::DeviceIdentity, resume_after: u64) {
        let state = self.state.clone();
        let device = identity.device;
        // A client cannot have more than the server ever handed out; one that claims to
        // (a restored backup, a bug) gets everything after what really exists.
        let last = state.store.last_seq(device).await.unwrap_or(u64::MAX);
        let resume_after = resume_after.min(last);
        let feed = Arc::new(InboxFeed::new(
            state.store.clone(),
            device,
            self.out.socket_queue.clone(),
            resume_after,
            state.config.connection_queue,
            Pacing::lab_of(&identity).map(|lab| LabFlush { lab, state: state.clone() }),
        ));
        state.connections.register(device, self.out.peer.clone(), feed.clone());
        self.out.feed = Some(feed);
        state.presence.device_online(identity.user, device);
        self.who.device = Some(identity);
    }
}
