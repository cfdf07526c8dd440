//! Exponential backoff with full jitter, capped, that honours a server's `Retry-After`.

use std::time::Duration;

use rand::Rng;

/// The delays between retries of one kind of call.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
}

impl Backoff {
    /// Starts at about `base`, never waits longer than `cap` (unless the server asks).
    pub fn new(base: Duration, cap: Duration) -> Backoff {
        Backoff {
            base,
            cap,
            failures: 0,
        }
    }

    /// The wait before the next try: random up to `base * 2^failures` (capped), at
    /// least half of it so a storm of retries still spreads out; `retry_after` wins
    /// when longer.
    pub fn next(&mut self, retry_after: Option<Duration>) -> Duration {
        let ceiling = self
            .base
            .saturating_mul(1u32 << self.failures.min(20))
            .min(self.cap);
        self.failures = self.failures.saturating_add(1);
        let ms = u64::try_from(ceiling.as_millis())
            .unwrap_or(u64::MAX)
            .max(2);
        let wait = Duration::from_millis(rand::rng().random_range(ms / 2..=ms));
        retry_after.map_or(wait, |asked| wait.max(asked))
    }

    /// Back to the first delay after a success.
    pub fn reset(&mut self) {
        self.failures = 0;
    }
}

/// A random delay up to `max`, to spread robots' polls.
pub fn jitter(max: Duration) -> Duration {
    let ms = u64::try_from(max.as_millis()).unwrap_or(u64::MAX);
    Duration::from_millis(rand::rng().random_range(0..=ms))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_are_capped_and_honour_retry_after() {
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(2));
        let first = backoff.next(None);
        assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
        for _ in 0..30 {
            assert!(backoff.next(None) <= Duration::from_secs(2));
        }
        assert!(backoff.next(None) >= Duration::from_secs(1));
        assert_eq!(
            backoff.next(Some(Duration::from_secs(30))),
            Duration::from_secs(30)
        );
        backoff.reset();
        assert!(backoff.next(None) <= Duration::from_millis(100));
    }
}
