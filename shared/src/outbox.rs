//! The sending side of a device, as pure logic: messages not yet acknowledged (to resend
//! with the same id after a reconnect) and each message's tick.
//!
//! Resending is always safe because the server's insert is idempotent on (sender, id):
//! the retry gets the original's `sent` ack and creates nothing. Ticks only move forward;
//! a late or repeated receipt never takes a blue tick back to grey.

use std::collections::BTreeMap;

use crate::frames::{ClientFrame, MessageId, Recipient, TickState};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub id: MessageId,
    pub to: Recipient,
    pub body: String,
    /// `None` until the server's `sent` arrives.
    pub state: Option<TickState>,
}

/// A tick change to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TickChange {
    pub id: MessageId,
    pub from: Option<TickState>,
    pub to: TickState,
}

#[derive(Debug, Clone, Default)]
pub struct Outbox {
    // Keyed by UUID v7, so iteration is in creation order.
    messages: BTreeMap<MessageId, Outgoing>,
}

impl Outbox {
    pub fn new() -> Self {
        Outbox::default()
    }

    /// Records a message about to be sent and returns its frame.
    pub fn queue(&mut self, id: MessageId, to: Recipient, body: String) -> ClientFrame {
        let frame = ClientFrame::Send { id, to, body: body.clone() };
        self.messages.entry(id).or_insert(Outgoing { id, to, body, state: None });
        frame
    }

    /// The frames to send again after a reconnect: every message without a `sent` ack,
    /// oldest first, with its original id.
    pub fn unacknowledged(&self) -> Vec<ClientFrame> {
        self.messages
            .values()
            .filter(|m| m.state.is_none())
            .map(|m| ClientFrame::Send { id: m.id, to: m.to, body: m.body.clone() })
            .collect()
    }

    pub fn get(&self, id: &MessageId) -> Option<&Outgoing> {
        self.messages.get(id)
    }

    pub fn state(&self, id: &MessageId) -> Option<TickState> {
        self.messages.get(id).and_then(|m| m.state)
    }

    pub fn len(&self) -> usize {
        self.messages.len()
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }

    /// Applies a `sent` ack or a receipt. Returns the change, or `None` if it would move
    /// the tick backwards (or nowhere), or the message is not ours.
    pub fn advance(&mut self, id: MessageId, to: TickState) -> Option<TickChange> {
        let message = self.messages.get_mut(&id)?;
        let from = message.state;
        if !may_advance(from, to) {
            return None;
        }
        message.state = Some(to);
        Some(TickChange { id, from, to })
    }
}

/// The forward-only rule: SENT → DELIVERED → READ, and FAILED only for a message no
/// device has received.
pub fn may_advance(from: Option<TickState>, to: TickState) -> bool {
    match (from, to) {
        (None, _) => true,
        (Some(TickState::Failed), _) => false,
        (Some(_), TickState::Failed) => from == Some(TickState::Sent),
        (Some(from), to) => to > from,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn outbox_with(n: usize) -> (Outbox, Vec<MessageId>) {
        let mut outbox = Outbox::new();
        let to = Recipient::User(Uuid::nil());
        let ids: Vec<MessageId> = (0..n).map(|_| Uuid::now_v7()).collect();
        for (i, id) in ids.iter().enumerate() {
            outbox.queue(*id, to, format!("m{i}"));
        }
        (outbox, ids)
    }

    #[test]
    fn unacknowledged_messages_are_resent_in_order_with_their_ids() {
        let (mut outbox, ids) = outbox_with(3);
        outbox.advance(ids[1], TickState::Sent);
        let resend: Vec<MessageId> = outbox.unacknowledged().iter().filter_map(|f| f.message_id()).collect();
        assert_eq!(resend, [ids[0], ids[2]]);
    }

    #[test]
    fn ticks_only_move_forward() {
        let (mut outbox, ids) = outbox_with(1);
        let id = ids[0];
        assert!(outbox.advance(id, TickState::Sent).is_some());
        assert!(outbox.advance(id, TickState::Read).is_some(), "read implies delivered");
        assert_eq!(outbox.advance(id, TickState::Delivered), None, "a late receipt changes nothing");
        assert_eq!(outbox.advance(id, TickState::Sent), None, "a retried sent ack changes nothing");
        assert_eq!(outbox.advance(id, TickState::Failed), None, "a read message cannot fail");
        assert_eq!(outbox.state(&id), Some(TickState::Read));
    }

    #[test]
    fn only_an_undelivered_message_can_fail_and_failure_is_final() {
        assert!(may_advance(Some(TickState::Sent), TickState::Failed));
        assert!(!may_advance(Some(TickState::Delivered), TickState::Failed));
        assert!(!may_advance(Some(TickState::Failed), TickState::Read));
    }

    #[test]
    fn queueing_the_same_id_twice_keeps_one_entry() {
        let mut outbox = Outbox::new();
        let id = Uuid::now_v7();
        outbox.queue(id, Recipient::User(Uuid::nil()), "a".into());
        outbox.queue(id, Recipient::User(Uuid::nil()), "a".into());
        assert_eq!(outbox.len(), 1);
    }
}
