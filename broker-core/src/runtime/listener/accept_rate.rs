//! [`AcceptRate`]: a listener's limit on new connections per second, as a token bucket the
//! accept loop draws from.

use std::time::Duration;

use tokio::time::Instant;

/// Up to `rate` connections a second, in bursts of up to `rate`: each accepted connection
/// takes a token, tokens come back at `rate` a second.
#[derive(Debug)]
pub(crate) struct AcceptRate {
    rate: f64,
    tokens: f64,
    last: Instant,
}

impl AcceptRate {
    /// A full bucket of `rate` tokens (`rate` at least 1).
    pub(crate) fn new(rate: u32, now: Instant) -> AcceptRate {
        let rate = f64::from(rate.max(1));
        AcceptRate {
            rate,
            tokens: rate,
            last: now,
        }
    }

    /// How long to wait before the next accept; `None`: accept now (and a token is taken).
    pub(crate) fn wait(&mut self, now: Instant) -> Option<Duration> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            None
        } else {
            Some(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_of_rate_then_one_per_interval() {
        let start = Instant::now();
        let mut limit = AcceptRate::new(4, start);
        for _ in 0..4 {
            assert_eq!(limit.wait(start), None);
        }
        let wait = limit.wait(start).unwrap();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_millis(250),
            "{wait:?}"
        );
        // A quarter second later one token is back, and only one.
        let later = start + Duration::from_millis(250);
        assert_eq!(limit.wait(later), None);
        assert!(limit.wait(later).is_some());
        // A long pause refills the bucket to its burst, no more.
        let much_later = later + Duration::from_secs(60);
        for _ in 0..4 {
            assert_eq!(limit.wait(much_later), None);
        }
        assert!(limit.wait(much_later).is_some());
    }
}
