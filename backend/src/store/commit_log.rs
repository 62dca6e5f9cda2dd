//! The writer's recent commits, for the instructor's health line: messages stored and
//! commits per second, and how long a commit took (statements and fsync), over the last
//! [`WINDOW`].
//!
//! The writer thread records each batch as it commits; a reader summarises the window
//! whenever it asks. A lock per commit is a few hundred uncontended locks a second,
//! nothing beside the commit's own fsync.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bluetick_shared::class::WriterHealth;

/// How far back the summary looks.
pub const WINDOW: Duration = Duration::from_secs(5);
/// Commits kept at most: beyond this many in [`WINDOW`] the oldest go first (the rates
/// then read low, which the summary's figures only ever do while saturated).
const MAX_KEPT: usize = 16_384;

#[derive(Debug, Clone, Copy)]
struct Commit {
    at: Instant,
    took_us: u32,
    messages: u32,
}

/// The commits of the last [`WINDOW`].
#[derive(Debug, Default)]
pub struct CommitLog {
    recent: Mutex<VecDeque<Commit>>,
}

impl CommitLog {
    /// A batch holding `messages` sends committed at `at` after `took`.
    pub fn record(&self, at: Instant, took: Duration, messages: usize) {
        let mut recent = self.recent.lock().unwrap();
        if recent.len() >= MAX_KEPT {
            recent.pop_front();
        }
        let took_us = took.as_micros().min(u32::MAX as u128) as u32;
        recent.push_back(Commit { at, took_us, messages: messages.min(u32::MAX as usize) as u32 });
    }

    /// The window ending at `now`, summarised.
    pub fn health(&self, now: Instant) -> WriterHealth {
        let mut recent = self.recent.lock().unwrap();
        while recent.front().is_some_and(|c| now.saturating_duration_since(c.at) > WINDOW) {
            recent.pop_front();
        }
        if recent.is_empty() {
            return WriterHealth::default();
        }
        let mut took: Vec<u32> = recent.iter().map(|c| c.took_us).collect();
        let messages: u64 = recent.iter().map(|c| c.messages as u64).sum();
        let commits = recent.len();
        drop(recent);
        took.sort_unstable();
        let at = |q: f64| took[((took.len() - 1) as f64 * q).round() as usize];
        let per_sec = |n: u64| (n as f64 / WINDOW.as_secs_f64()).round() as u32;
        WriterHealth {
            msgs_per_sec: per_sec(messages),
            commits_per_sec: per_sec(commits as u64),
            commit_p50_us: at(0.5),
            commit_p99_us: at(0.99),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_covers_the_window_and_forgets_what_is_older() {
        let log = CommitLog::default();
        let start = Instant::now();
        assert_eq!(log.health(start), WriterHealth::default());
        for i in 0..100u64 {
            log.record(start + Duration::from_millis(i * 10), Duration::from_micros(1_000 + i), 5);
        }
        let now = start + Duration::from_secs(1);
        let health = log.health(now);
        assert_eq!(health.msgs_per_sec, 100);
        assert_eq!(health.commits_per_sec, 20);
        assert_eq!(health.commit_p50_us, 1_050);
        assert_eq!(health.commit_p99_us, 1_098);
        assert_eq!(log.health(now + WINDOW), WriterHealth::default(), "every commit is older than the window");
    }
}
