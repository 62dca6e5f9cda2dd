//! The receiving side of a device, as pure logic: which inbox entries it already has and
//! what to acknowledge.
//!
//! On every connection the server resumes right after the `hello.resume_after` the
//! client sends ([`InboxCursor::resume_after`]: the highest sequence seen), whatever was
//! acknowledged; acknowledgments only tell the server what was delivered. A device that
//! sends 0 (a fresh cursor) gets its whole inbox again. It may still see an entry twice
//! (a cursor restored from an older save, say); entries arrive in sequence order, so
//! one number, the highest sequence seen, is enough to drop every redelivery. Gaps are
//! normal (an entry that expired into the dead-letter table leaves one) and are not
//! waited for.

/// What to do with a pushed entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arrival {
    /// New: show it.
    New,
    /// Already seen (a redelivery after reconnect): drop it, but acknowledge again.
    Duplicate,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InboxCursor {
    /// The highest sequence this device has.
    highest: u64,
    /// The highest sequence acknowledged to the server.
    acked: u64,
}

impl InboxCursor {
    /// A cursor for a device that already has everything up to `have`.
    pub fn new(have: u64) -> Self {
        InboxCursor { highest: have, acked: have }
    }

    /// What to put in `hello.resume_after`.
    pub fn resume_after(&self) -> u64 {
        self.highest
    }

    pub fn highest(&self) -> u64 {
        self.highest
    }

    /// Records a pushed entry.
    pub fn arrive(&mut self, seq: u64) -> Arrival {
        if seq > self.highest {
            self.highest = seq;
            Arrival::New
        } else {
            Arrival::Duplicate
        }
    }

    /// The cumulative ack to send now, if anything arrived since the last one.
    pub fn ack_due(&mut self) -> Option<u64> {
        (self.highest > self.acked).then(|| {
            self.acked = self.highest;
            self.highest
        })
    }

    /// Forget that an ack was sent (its connection died before the server read it), so
    /// the next connection acknowledges again.
    pub fn ack_lost(&mut self, server_has: u64) {
        self.acked = self.acked.min(server_has);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redeliveries_are_dropped_and_new_entries_kept() {
        let mut inbox = InboxCursor::new(0);
        assert_eq!(inbox.arrive(1), Arrival::New);
        assert_eq!(inbox.arrive(2), Arrival::New);
        // A reconnect with an older cursor (0): the server pushes 1, 2 again.
        assert_eq!(inbox.arrive(1), Arrival::Duplicate);
        assert_eq!(inbox.arrive(2), Arrival::Duplicate);
        assert_eq!(inbox.arrive(3), Arrival::New);
        assert_eq!(inbox.resume_after(), 3);
    }

    #[test]
    fn gaps_are_accepted() {
        let mut inbox = InboxCursor::new(4);
        assert_eq!(inbox.arrive(7), Arrival::New);
        assert_eq!(inbox.arrive(5), Arrival::Duplicate);
    }

    #[test]
    fn acks_are_cumulative_and_not_repeated() {
        let mut inbox = InboxCursor::new(0);
        assert_eq!(inbox.ack_due(), None);
        inbox.arrive(1);
        inbox.arrive(2);
        assert_eq!(inbox.ack_due(), Some(2));
        assert_eq!(inbox.ack_due(), None);
        inbox.arrive(3);
        assert_eq!(inbox.ack_due(), Some(3));
        inbox.ack_lost(1);
        assert_eq!(inbox.ack_due(), Some(3), "an ack lost with its connection is sent again");
    }
}
