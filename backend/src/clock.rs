//! The server's time source for the lesson's timings.
//!
//! Presence TTLs, lab outages, the crowd's schedules (coming back, reading, heartbeats),
//! message expiry and the lab sweep all read a [`Clock`] instead of the system's time, so
//! a test can move time forward instead of waiting for it (and a busy machine's stall
//! cannot make a TTL pass early: only the test can).
//!
//! [`Clock::real`], the default, is the system's time. [`Clock::skippable`] is the same
//! time plus whatever a test has skipped with [`Clock::advance`]. It never runs slower
//! than real time, so what is stamped with the system's time (a message's send time, a
//! lab's creation) is never ahead of it, and what the test did not skip still happens on
//! schedule: a read delay of 200 ms passes in 200 ms.
//!
//! Socket-level guards (the handshake timeout, close handshakes, the shutdown drain) and
//! the load run's meter stay on real time: they are about the machine, not the lesson.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use futures_util::future::Either;
use tokio::sync::watch;
use tokio::time::{Instant, Sleep};

#[derive(Clone, Default)]
pub struct Clock {
    /// For a skippable clock: how far it has been advanced, and a way to wake whoever
    /// sleeps on it when that changes.
    skipped: Option<Arc<watch::Sender<Duration>>>,
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.skipped {
            None => f.write_str("Clock::real"),
            Some(skipped) => write!(f, "Clock::skippable(+{:?})", *skipped.borrow()),
        }
    }
}

impl Clock {
    /// The system's time.
    pub fn real() -> Clock {
        Clock::default()
    }

    /// Real time that [`Clock::advance`] moves forward.
    pub fn skippable() -> Clock {
        Clock { skipped: Some(Arc::new(watch::channel(Duration::ZERO).0)) }
    }

    /// Moves a skippable clock forward by `by`, waking every sleep that is now over.
    ///
    /// # Panics
    /// On the real clock: nobody may move the time of a running server.
    pub fn advance(&self, by: Duration) {
        let skipped = self.skipped.as_ref().expect("only a skippable clock can be advanced");
        skipped.send_modify(|total| *total += by);
    }

    fn skipped(&self) -> Duration {
        self.skipped.as_ref().map_or(Duration::ZERO, |s| *s.borrow())
    }

    pub fn now(&self) -> Instant {
        Instant::now() + self.skipped()
    }

    /// Milliseconds since the Unix epoch, as the database and the page count time.
    pub fn unix_millis(&self) -> i64 {
        crate::store::unix_millis().saturating_add(self.skipped().as_millis() as i64)
    }

    /// Waits until this clock reads `deadline` or later.
    ///
    /// On the real clock this is tokio's own timer and nothing more: every connection
    /// holds one of these while it waits for its next frame, so it stays small. A
    /// skippable clock's sleep (tests only) also listens for advances, and is boxed.
    pub fn sleep_until(&self, deadline: Instant) -> Either<Sleep, Pin<Box<dyn Future<Output = ()> + Send>>> {
        match &self.skipped {
            None => Either::Left(tokio::time::sleep_until(deadline)),
            Some(skipped) => Either::Right(Box::pin(skippable_sleep_until(skipped.clone(), deadline))),
        }
    }

    pub async fn sleep(&self, duration: Duration) {
        self.sleep_until(self.now() + duration).await
    }
}

/// Sleeps until a skippable clock reads `deadline`: real time passing, or an advance.
async fn skippable_sleep_until(skipped: Arc<watch::Sender<Duration>>, deadline: Instant) {
    let mut changes = skipped.subscribe();
    loop {
        let offset = *changes.borrow_and_update();
        // The real instant at which this clock reaches the deadline, unless it has.
        let Some(real_deadline) = deadline.checked_sub(offset).filter(|d| *d > Instant::now()) else {
            return;
        };
        tokio::select! {
            _ = tokio::time::sleep_until(real_deadline) => {}
            // `skipped` is the sender, so this only ends with a change.
            _ = changes.changed() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn advancing_wakes_a_sleep_that_is_now_over_and_only_that() {
        let clock = Clock::skippable();
        let start = clock.now();
        let short = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(start + Duration::from_secs(60)).await }
        });
        let long = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep_until(start + Duration::from_secs(3600)).await }
        });
        clock.advance(Duration::from_secs(61));
        tokio::time::timeout(Duration::from_secs(30), short).await.expect("woken by the advance").unwrap();
        tokio::task::yield_now().await;
        assert!(!long.is_finished(), "an hour has not passed");
        assert!(clock.now() >= start + Duration::from_secs(61));
        long.abort();
    }

    #[tokio::test]
    async fn a_skippable_clock_runs_at_least_as_fast_as_real_time() {
        let clock = Clock::skippable();
        let (real_before, unix_before) = (Instant::now(), crate::store::unix_millis());
        clock.advance(Duration::from_secs(10));
        assert!(clock.now() >= real_before + Duration::from_secs(10));
        assert!(clock.unix_millis() >= unix_before + 10_000);
        // What is not skipped still passes in real time.
        tokio::time::timeout(Duration::from_secs(30), clock.sleep(Duration::from_millis(20)))
            .await
            .expect("a short sleep ends on its own");
    }

    #[test]
    #[should_panic(expected = "only a skippable clock")]
    fn the_real_clock_cannot_be_advanced() {
        Clock::real().advance(Duration::from_secs(1));
    }
}
