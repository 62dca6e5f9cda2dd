//! The ledger book of one student's 1:1 messages: every message Alice sends Bob, whether
//! the server committed it (SENT), how many times Bob was shown it, and whether Alice
//! saw DELIVERED; at the end, [`bluetick_shared::ledger::tally`] turns it into the
//! shared [`Ledger`], the same one every other scenario reports. The message sent to
//! expire on purpose is kept apart: it must never be shown.

use std::collections::{HashMap, HashSet};

use bluetick_client::Event;
use bluetick_shared::frames::{MessageId, TickState};
use bluetick_shared::ledger::{Fate, Ledger, tally};

use super::student::Who;

/// Every 1:1 message Alice sent Bob, and what became of it.
#[derive(Debug, Default)]
pub struct Book {
    fates: HashMap<MessageId, Fate>,
    /// Messages sent to expire on purpose: out of the ledger, never to be shown.
    pub expiring: HashSet<MessageId>,
    /// Expiring messages Bob was shown anyway.
    pub expired_shown: u64,
    unexpected: u64,
}

impl Book {
    /// Alice sent `id` (a retry of the same id is the same message).
    pub fn sent(&mut self, id: MessageId) {
        self.fates.entry(id).or_default();
    }

    /// Counts what `event` on `who`'s connection says about the book's messages.
    pub fn observe(&mut self, who: Who, event: &Event) {
        match (who, event) {
            (Who::Alice, Event::Tick(change)) => {
                if let Some(fate) = self.fates.get_mut(&change.id) {
                    fate.committed = true;
                    if matches!(change.to, TickState::Delivered | TickState::Read) {
                        fate.delivered_tick = true;
                    }
                }
            }
            (Who::Bob, Event::Message { message, .. }) => match self.fates.get_mut(&message.id) {
                Some(fate) => fate.shown += 1,
                None if self.expiring.contains(&message.id) => self.expired_shown += 1,
                None => self.unexpected += 1,
            },
            _ => {}
        }
    }

    /// Whether every message shown to Bob has its DELIVERED tick at Alice and every sent
    /// one is committed and shown: nothing more to wait for.
    pub fn settled(&self) -> bool {
        self.fates.values().all(|f| f.committed && f.shown > 0 && f.delivered_tick)
    }

    /// The 1:1 ledger.
    pub fn ledger(&self) -> Ledger {
        let mut ledger = tally(self.fates.values());
        ledger.unexpected = self.unexpected;
        ledger
    }
}
