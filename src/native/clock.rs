//! A coarse monotonic clock, cheap enough to read once per message: the consumer's express lane
//! checks when librdkafka was last served and when offsets were last stored (consumer/core.rs,
//! consumer/offsets.rs), against intervals of tens of milliseconds.

#![forbid(unsafe_code)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Nanoseconds of a monotonic clock with a resolution of a few milliseconds (Linux's
/// `CLOCK_MONOTONIC_COARSE`: a fraction of the cost of the precise clock `Instant::now()` reads).
/// Only differences mean something.
pub fn coarse_nanos() -> u64 {
    match crate::platform::monotonic_coarse_nanos() {
        Some(now) => now,
        None => {
            // Not expected on Linux; the precise clock then, from a base of our own.
            static BASE: OnceLock<Instant> = OnceLock::new();
            nanos(BASE.get_or_init(Instant::now).elapsed())
        }
    }
}

/// `duration` in nanoseconds, saturating.
pub fn nanos(duration: Duration) -> u64 {
    u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX)
}

/// Whether less than `interval` passed since `since` (a [`coarse_nanos`] reading).
pub fn within(since: u64, interval: Duration) -> bool {
    coarse_nanos().saturating_sub(since) < nanos(interval)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_coarse_clock_moves_forward() {
        let start = coarse_nanos();
        assert!(within(start, Duration::from_secs(60)));
        std::thread::sleep(Duration::from_millis(30));
        assert!(coarse_nanos() > start);
        assert!(!within(start, Duration::from_millis(5)));
    }
}
