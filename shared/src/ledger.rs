//! The ledger: every message a load run sends, and what became of it (the lab's load run
//! in the page and every `bluetick-load` scenario keep the same one).
//!
//! The sender side records each id when it sends it and when the server acknowledges it
//! (SENT); the recipient side records each message the application is shown. After the
//! final drain:
//! - **lost**: acknowledged SENT (committed) but never shown to its recipient;
//! - **duplicated**: shown to the application more than once (two inbox entries for one
//!   message). The client library already drops a redelivery of the same inbox sequence;
//!   those are counted separately as `redeliveries` and are expected after reconnects;
//! - **unconfirmed**: sent but never acknowledged SENT, even after resends;
//! - **undelivered ticks**: shown to the recipient, but the sender never got DELIVERED.
//!
//! The verdict is exact when lost, duplicated, unconfirmed and unexpected are all zero.

use serde::{Deserialize, Serialize};

/// Counts from one part of a run; parts add up with [`Ledger::merge`].
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Ledger {
    /// Distinct messages sent.
    pub sent: u64,
    /// Of those, acknowledged SENT by the server.
    pub committed: u64,
    /// Distinct messages shown to recipients (per recipient device).
    pub delivered: u64,
    /// DELIVERED ticks the senders saw.
    pub delivered_ticks: u64,
    pub lost: u64,
    pub duplicated: u64,
    pub unconfirmed: u64,
    pub undelivered_ticks: u64,
    /// Messages shown to a recipient that no sender in this run sent.
    pub unexpected: u64,
    /// Redeliveries of an inbox sequence already held, dropped by the client library.
    pub redeliveries: u64,
}

impl Ledger {
    pub fn merge(&mut self, other: &Ledger) {
        self.sent += other.sent;
        self.committed += other.committed;
        self.delivered += other.delivered;
        self.delivered_ticks += other.delivered_ticks;
        self.lost += other.lost;
        self.duplicated += other.duplicated;
        self.unconfirmed += other.unconfirmed;
        self.undelivered_ticks += other.undelivered_ticks;
        self.unexpected += other.unexpected;
        self.redeliveries += other.redeliveries;
    }

    /// Nothing lost, nothing duplicated, nothing left unconfirmed, nothing from nowhere.
    pub fn is_exact(&self) -> bool {
        self.lost == 0 && self.duplicated == 0 && self.unconfirmed == 0 && self.unexpected == 0
    }

    /// One line: `exact (lost 0, duplicated 0)` or the counts that are wrong.
    pub fn verdict(&self) -> String {
        let counts = format!(
            "lost {}, duplicated {}, unconfirmed {}, unexpected {}",
            self.lost, self.duplicated, self.unconfirmed, self.unexpected
        );
        if self.is_exact() { format!("exact ({counts})") } else { format!("NOT EXACT: {counts}") }
    }
}

/// What one message went through, as the ledger tracks it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Fate {
    pub committed: bool,
    /// Times the application was shown it (1 is right).
    pub shown: u32,
    pub delivered_tick: bool,
}

/// Turns per-message fates into counts.
pub fn tally<'a>(fates: impl IntoIterator<Item = &'a Fate>) -> Ledger {
    let mut ledger = Ledger::default();
    for fate in fates {
        ledger.sent += 1;
        ledger.committed += fate.committed as u64;
        ledger.delivered += (fate.shown > 0) as u64;
        ledger.delivered_ticks += fate.delivered_tick as u64;
        ledger.duplicated += fate.shown.saturating_sub(1) as u64;
        if fate.shown == 0 && fate.committed {
            ledger.lost += 1;
        }
        if !fate.committed && fate.shown == 0 {
            ledger.unconfirmed += 1;
        }
        if fate.shown > 0 && !fate.delivered_tick {
            ledger.undelivered_ticks += 1;
        }
    }
    ledger
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fate(committed: bool, shown: u32, delivered_tick: bool) -> Fate {
        Fate { committed, shown, delivered_tick }
    }

    #[test]
    fn a_clean_run_is_exact() {
        let ledger = tally(&[fate(true, 1, true), fate(true, 1, true)]);
        assert_eq!(ledger.sent, 2);
        assert_eq!(ledger.delivered, 2);
        assert!(ledger.is_exact(), "{}", ledger.verdict());
    }

    #[test]
    fn a_committed_message_never_shown_is_lost() {
        let ledger = tally(&[fate(true, 0, false), fate(true, 1, true)]);
        assert_eq!(ledger.lost, 1);
        assert!(!ledger.is_exact());
        assert!(ledger.verdict().contains("lost 1"), "{}", ledger.verdict());
    }

    #[test]
    fn a_message_shown_twice_is_duplicated() {
        let ledger = tally(&[fate(true, 2, true)]);
        assert_eq!(ledger.duplicated, 1);
        assert!(!ledger.is_exact());
    }

    #[test]
    fn shown_without_a_sent_ack_still_counts_as_delivered() {
        // The ack was lost with a crashed server, but the commit happened: not lost.
        let ledger = tally(&[fate(false, 1, true)]);
        assert_eq!((ledger.lost, ledger.unconfirmed, ledger.delivered), (0, 0, 1));
    }

    #[test]
    fn merging_adds_every_count() {
        let mut total = tally(&[fate(true, 1, true)]);
        total.merge(&tally(&[fate(true, 0, false)]));
        assert_eq!((total.sent, total.lost), (2, 1));
    }
}
