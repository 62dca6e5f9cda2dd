//! Every frame after `hello`: send, ack, read, heartbeat, watch presence, observe.
//!
//! Sends and acks are queued to the writer in the order they arrive; what follows their
//! commit is [`crate::delivery`]'s, run in a task of its own, so a connection keeps
//! reading while its writes commit. At most `MAX_IN_FLIGHT` wait at once, after which
//! the reader waits too.

use bluetick_shared::errors::ErrorCode;
use bluetick_shared::frames::{ClientFrame, MAX_READ_SEQS, MAX_WATCHED, MessageId, Recipient, TraceStage, UserId};

use tokio::sync::OwnedSemaphorePermit;

use super::close::Ending;
use super::refusal::{Refusal, refuse};
use super::session::Session;
use crate::delivery;
use crate::lab::pace::Pacing;
use crate::store::{DeviceIdentity, NewMessage};
use crate::trace::Conversation;

impl Session {
    pub(super) async fn dispatch(&mut self, frame: ClientFrame) -> Result<Option<Ending>, Refusal> {
        if let ClientFrame::Hello { protocol, client, auth, resume_after } = frame {
            return self.on_hello(protocol, client, auth, resume_after).await;
        }
        if !self.who.handshaken {
            return Err(refuse(ErrorCode::HandshakeRequired, "the first frame must be hello"));
        }
        match frame {
            ClientFrame::Hello { .. } => unreachable!("handled above"),
            ClientFrame::Heartbeat => Ok(None),
            ClientFrame::WatchPresence { users } => self.on_watch_presence(users).await,
            ClientFrame::Send { id, to, body } => self.on_send(id, to, body).await,
            ClientFrame::Ack { up_to } => self.on_ack(up_to).await,
            ClientFrame::Read { seqs } => self.on_read(seqs).await,
            ClientFrame::Observe { with } => self.on_observe(with).await,
        }
    }

    fn me(&self) -> Result<DeviceIdentity, Refusal> {
        self.who
            .device
            .clone()
            .ok_or_else(|| refuse(ErrorCode::NotAuthenticated, "this needs a device: send hello with credentials"))
    }

    /// Validates a `send`, queues its write and hands it to delivery, which answers
    /// `sent` after the commit.
    async fn on_send(&mut self, id: MessageId, to: Recipient, body: String) -> Result<Option<Ending>, Refusal> {
        let me = self.me().map_err(|r| r.about(id))?;
        if id.get_version_num() != 7 {
            return Err(refuse(ErrorCode::InvalidMessageId, "message ids must be UUID version 7").about(id));
        }
        self.check_recipient(&me, to).await.map_err(|r| r.about(id))?;
        self.state.traces.emit(me.user, to, id, TraceStage::Received, None, || {
            format!("chat server read the send frame from {}", me.name)
        });
        let permit = self.in_flight.clone().acquire_owned().await.expect("semaphore never closes");
        let sender = me.user;
        let now = self.state.clock.unix_millis();
        let ttl_ms = self.ttl_ms(&me);
        let paced = Pacing::lab_of(&me);
        let message = NewMessage { sender: me, id, to, body, now, ttl_ms };
        let committed = match self.state.store.enqueue_send(message).await {
            Ok(committed) => committed,
            Err(e) => return Err(refuse(ErrorCode::StorageUnavailable, e.to_string()).about(id)),
        };
        let delivery = delivery::on_send_committed(
            self.state.clone(),
            sender,
            paced,
            to,
            id,
            committed,
            self.out.socket_queue.clone(),
        );
        tokio::spawn(holding(permit, delivery));
        Ok(None)
    }

    /// How long a message from `me` may wait for delivery: its lab's compressed expiry,
    /// if it has one, else the server's.
    fn ttl_ms(&self, me: &DeviceIdentity) -> i64 {
        me.lab
            .and_then(|lab| self.state.labs.expiry_ms(lab))
            .unwrap_or_else(|| (self.state.config.message_ttl_secs as i64).saturating_mul(1000))
    }

    async fn on_ack(&mut self, up_to: u64) -> Result<Option<Ending>, Refusal> {
        let me = self.me()?;
        let pushed = self.out.pushed_up_to();
        if up_to > pushed {
            return Err(refuse(
                ErrorCode::InvalidField,
                format!("ack up_to {up_to} is beyond the last pushed sequence {pushed}"),
            ));
        }
        let permit = self.in_flight.clone().acquire_owned().await.expect("semaphore never closes");
        let committed = self
            .state
            .store
            .enqueue_ack(me.device, up_to, self.state.clock.unix_millis())
            .await
            .map_err(|e| refuse(ErrorCode::StorageUnavailable, e.to_string()))?;
        let paced = Pacing::lab_of(&me);
        let delivery = delivery::on_ack_committed(self.state.clone(), paced, committed, self.out.socket_queue.clone());
        tokio::spawn(holding(permit, delivery));
        Ok(None)
    }

    async fn on_read(&mut self, seqs: Vec<u64>) -> Result<Option<Ending>, Refusal> {
        let me = self.me()?;
        if seqs.is_empty() || seqs.len() > MAX_READ_SEQS {
            return Err(refuse(ErrorCode::InvalidField, format!("read names 1 to {MAX_READ_SEQS} sequences")));
        }
        let pushed = self.out.pushed_up_to();
        if let Some(beyond) = seqs.iter().find(|&&s| s > pushed) {
            return Err(refuse(
                ErrorCode::InvalidField,
                format!("sequence {beyond} has not been pushed to this device"),
            ));
        }
        let outcome = self
            .state
            .store
            .read(me.device, seqs, self.state.clock.unix_millis())
            .await
            .map_err(|e| refuse(ErrorCode::StorageUnavailable, e.to_string()))?;
        // The store applies a read whole or not at all: with any unknown sequence it
        // changed nothing, so there are no receipts to deliver.
        if !outcome.unknown.is_empty() {
            return Err(refuse(
                ErrorCode::InvalidField,
                format!(
                    "not messages in this device's inbox: {:?}; nothing was marked read, send the others again",
                    outcome.unknown
                ),
            ));
        }
        delivery::on_read_committed(&self.state, Pacing::lab_of(&me), outcome);
        Ok(None)
    }

    async fn on_watch_presence(&mut self, users: Vec<UserId>) -> Result<Option<Ending>, Refusal> {
        if users.is_empty() || users.len() > MAX_WATCHED {
            return Err(refuse(ErrorCode::InvalidField, format!("watch 1 to {MAX_WATCHED} users")));
        }
        let lab = self.who.device.as_ref().and_then(|d| d.lab);
        let mut unknown = Vec::new();
        for user in users {
            match self.state.store.user_in_lab(user, lab).await {
                Ok(true) => self.state.presence.watch(user, self.out.peer.clone()),
                Ok(false) => unknown.push(user),
                Err(e) => return Err(refuse(ErrorCode::StorageUnavailable, e.to_string())),
            }
        }
        if !unknown.is_empty() {
            return Err(refuse(ErrorCode::UnknownRecipient, format!("no such users: {unknown:?}")));
        }
        Ok(None)
    }

    async fn on_observe(&mut self, with: Recipient) -> Result<Option<Ending>, Refusal> {
        let me = self.me()?;
        // Only conversations you are part of: any 1:1 with you, or a group you belong to.
        self.check_recipient(&me, with).await?;
        let sink = self.trace_sink(me.user);
        let conversation = Conversation::of(me.user, with);
        self.state.traces.observe(conversation, sink);
        if let Recipient::Group(group) = with {
            // A removal may have landed between the check above and the subscription;
            // removing a member deletes the row first and then ends their subscriptions,
            // so looking again now closes the gap: one of the two sides catches it.
            let still_member = self.state.store.is_member(group, me.user).await;
            if !matches!(still_member, Ok(true)) {
                let connection = self.connection_id;
                self.state.traces.unobserve(conversation, |sink| sink.connection_id == connection);
                return Err(match still_member {
                    Err(e) => refuse(ErrorCode::StorageUnavailable, e.to_string()),
                    Ok(_) => refuse(ErrorCode::NotAParticipant, "only members may send to or watch a group"),
                });
            }
        }
        Ok(None)
    }

    /// A user that exists (in `me`'s lab, if `me` is in one), or a group `me` is a member of.
    async fn check_recipient(&self, me: &DeviceIdentity, to: Recipient) -> Result<(), Refusal> {
        let store = &self.state.store;
        let unavailable = |e: crate::store::StorageError| refuse(ErrorCode::StorageUnavailable, e.to_string());
        match to {
            Recipient::User(user) => match store.user_in_lab(user, me.lab).await.map_err(unavailable)? {
                true => Ok(()),
                false => Err(refuse(ErrorCode::UnknownRecipient, format!("no user {user}"))),
            },
            Recipient::Group(group) => {
                // Another lab's group does not exist from here: the same answer as a
                // made-up id, so a refusal never confirms that an id is real.
                if store.group_lab(group).await.map_err(unavailable)? != Some(me.lab) {
                    return Err(refuse(ErrorCode::UnknownRecipient, format!("no group {group}")));
                }
                match store.is_member(group, me.user).await.map_err(unavailable)? {
                    true => Ok(()),
                    false => Err(refuse(ErrorCode::NotAParticipant, "only members may send to or watch a group")),
                }
            }
        }
    }
}

/// Runs what follows a queued write while it holds one of the connection's in-flight
/// permits, so the reader stops once `MAX_IN_FLIGHT` writes await their commit.
async fn holding(permit: OwnedSemaphorePermit, delivery: impl Future<Output = ()>) {
    let _permit = permit;
    delivery.await;
}
