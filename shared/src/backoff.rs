//! Exponential backoff with jitter and a cap.
//!
//! Why jitter: when a server restarts, every client notices at the same instant. Without
//! jitter they would all retry in lock-step and knock it over again (a reconnect storm).
//! Why a cap: after a long outage a client should still try every half minute or so,
//! not once an hour.

/// The policy for how long to wait before reconnect attempt `n` (1-based).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The un-jittered delay before the first attempt.
    pub base_ms: u64,
    /// Each attempt waits this many times longer than the one before.
    pub factor: u32,
    /// No delay exceeds this.
    pub cap_ms: u64,
    /// The fraction of the delay that is random: 0.0 means none; 0.5 means the delay is
    /// drawn uniformly from [delay/2, delay] ("equal jitter").
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { base_ms: 1_000, factor: 2, cap_ms: 30_000, jitter: 0.5 }
    }
}

impl Backoff {
    /// The delay before attempt `attempt` without jitter: `base × factor^(attempt−1)`,
    /// capped.
    pub fn ceiling_ms(&self, attempt: u32) -> u64 {
        let exponent = attempt.saturating_sub(1);
        let multiplier = (self.factor as u64).checked_pow(exponent).unwrap_or(u64::MAX);
        self.base_ms.saturating_mul(multiplier).min(self.cap_ms)
    }

    /// The delay before attempt `attempt`, given a random draw `random` in [0, 1).
    /// Passing the draw in keeps this pure: tests pass fixed numbers, the page passes
    /// `Math.random()`, the crowd passes a seeded generator.
    pub fn delay_ms(&self, attempt: u32, random: f64) -> u64 {
        let ceiling = self.ceiling_ms(attempt) as f64;
        let jitter = self.jitter.clamp(0.0, 1.0);
        let random = random.clamp(0.0, 1.0);
        (ceiling * (1.0 - jitter) + ceiling * jitter * random).round() as u64
    }

    /// The shortest and longest delay attempt `attempt` can draw: the window the jitter
    /// picks from. The page draws it so a student sees the randomness has bounds.
    pub fn window_ms(&self, attempt: u32) -> (u64, u64) {
        (self.delay_ms(attempt, 0.0), self.delay_ms(attempt, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceiling_doubles_then_caps() {
        let b = Backoff { base_ms: 500, factor: 2, cap_ms: 8_000, jitter: 0.0 };
        let ceilings: Vec<u64> = (1..=7).map(|n| b.ceiling_ms(n)).collect();
        assert_eq!(ceilings, [500, 1_000, 2_000, 4_000, 8_000, 8_000, 8_000]);
    }

    #[test]
    fn huge_attempt_numbers_do_not_overflow() {
        let b = Backoff::default();
        assert_eq!(b.ceiling_ms(u32::MAX), b.cap_ms);
        assert_eq!(b.delay_ms(1_000, 0.999), b.cap_ms - (b.cap_ms as f64 * 0.5 * 0.001).round() as u64);
    }

    #[test]
    fn jitter_spans_half_to_full_delay() {
        let b = Backoff { base_ms: 1_000, factor: 2, cap_ms: 30_000, jitter: 0.5 };
        assert_eq!(b.delay_ms(3, 0.0), 2_000);
        assert_eq!(b.delay_ms(3, 0.5), 3_000);
        assert_eq!(b.delay_ms(3, 1.0), 4_000);
    }

    #[test]
    fn the_window_holds_every_draw() {
        let b = Backoff::default();
        assert_eq!(b.window_ms(1), (500, 1_000));
        assert_eq!(b.window_ms(3), (2_000, 4_000));
        assert_eq!(b.window_ms(9), (15_000, 30_000), "capped");
        for draw in [0.0, 0.3, 0.999] {
            let (low, high) = b.window_ms(4);
            assert!((low..=high).contains(&b.delay_ms(4, draw)));
        }
        let none = Backoff { jitter: 0.0, ..b };
        assert_eq!(none.window_ms(2), (2_000, 2_000), "no jitter: a window of one point");
    }

    #[test]
    fn out_of_range_draws_are_clamped() {
        let b = Backoff::default();
        assert_eq!(b.delay_ms(1, -3.0), b.delay_ms(1, 0.0));
        assert_eq!(b.delay_ms(1, 7.0), b.delay_ms(1, 1.0));
    }
}
