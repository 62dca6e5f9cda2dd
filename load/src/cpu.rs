//! A process's CPU time (user + system, all its threads) from `/proc/PID/stat`: how much
//! processor a server under load burned, so runs against different servers can be put
//! side by side as CPU µs per message.

use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::report::Report;

/// A server's CPU time over a run's sending window: read when the window opens, and
/// again, by a timer, when it closes (the drain after it is not counted, as the
/// messages-per-second figure does not count it either).
pub struct CpuWindow {
    before: Option<Duration>,
    after: JoinHandle<Option<Duration>>,
}

impl CpuWindow {
    /// Reads `pid`'s CPU time now and schedules the second reading for `end`.
    pub fn open(pid: u32, end: Instant) -> CpuWindow {
        let before = cpu_time(pid);
        let after = tokio::spawn(async move {
            tokio::time::sleep_until(end).await;
            cpu_time(pid)
        });
        CpuWindow { before, after }
    }

    /// The CPU time used in the window (waits for its end if it has not come yet).
    pub async fn used(self) -> Option<Duration> {
        let after = self.after.await.ok()??;
        Some(after.saturating_sub(self.before?))
    }
}

/// CPU time process `pid` has used so far (`utime` + `stime`).
pub fn cpu_time(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let ticks = parse_cpu_ticks(&stat)?;
    Some(Duration::from_micros(ticks.saturating_mul(1_000_000) / clock_ticks_per_second()))
}

/// `utime` + `stime` in clock ticks: fields 14 and 15 of `/proc/PID/stat`. The command
/// name (field 2, in parentheses) may hold spaces and parentheses, so fields are counted
/// from the last `)`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let (_, rest) = stat.rsplit_once(')')?;
    // After the name: field 3 (state) is the first; utime is field 14.
    let mut fields = rest.split_whitespace().skip(14 - 3);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Adds `{prefix}server_cpu_us_per_msg` (the server's CPU time in the window ÷ the
/// messages the headline rate counts in it) and `{prefix}server_cpu_percent` (of one
/// core) to a report; nothing when the server is not ours to read.
pub fn describe(report: &mut Report, prefix: &str, used: Option<Duration>, messages: u64, seconds: f64) {
    let Some(used) = used else { return };
    if let Some(us) = us_per_message(used, messages) {
        report.figure(&format!("{prefix}server_cpu_us_per_msg"), us, "µs of server CPU (user + system) per message");
    }
    if seconds > 0.0 {
        let percent = 100.0 * used.as_secs_f64() / seconds;
        report.figure(&format!("{prefix}server_cpu_percent"), percent, "% of one core, while sending");
    }
}

fn clock_ticks_per_second() -> u64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as u64 } else { 100 }
}

/// CPU time per message, in microseconds.
pub fn us_per_message(used: Duration, messages: u64) -> Option<f64> {
    (messages > 0).then(|| used.as_secs_f64() * 1e6 / messages as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_and_system_ticks_are_fields_14_and_15() {
        let stat = "4242 (my (odd) name) S 1 4242 4242 0 -1 4194560 500 0 0 0 137 29 0 0 20 0 3 0 100 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(137 + 29));
        assert_eq!(parse_cpu_ticks("4242 (x) S 1"), None);
    }

    /// This process's CPU time by the kernel's own clock, to the nanosecond.
    fn own_cpu_clock() -> Duration {
        let mut now = libc::timespec { tv_sec: 0, tv_nsec: 0 };
        // SAFETY: clock_gettime only writes the timespec it is given.
        assert_eq!(unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut now) }, 0);
        Duration::new(now.tv_sec as u64, now.tv_nsec as u32)
    }

    // Regression: this test spun for 30 ms of wall time, and on a busy machine the
    // process could be given no CPU in that time, so it failed with nothing broken.
    // It now burns 50 ms of CPU by the kernel's clock (5 ticks of /proc's 10 ms).
    #[test]
    fn this_process_has_used_some_cpu() {
        let start = own_cpu_clock();
        while own_cpu_clock() - start < Duration::from_millis(50) {}
        assert!(cpu_time(std::process::id()).unwrap() >= Duration::from_millis(20));
    }

    #[test]
    fn per_message_needs_messages() {
        let us = us_per_message(Duration::from_millis(20), 100).unwrap();
        assert!((us - 200.0).abs() < 1e-9);
        assert_eq!(us_per_message(Duration::from_secs(1), 0), None);
    }
}
