//! [`Throttle`]: one connection's rate limit on what its client sends
//! ([`ClientRate`]), as token buckets the connection's reads draw from.
//!
//! It decides, it does no I/O: the connection tells it what a read brought (bytes, PUBLISH
//! packets) and when, and it answers until when the connection is to stop reading. A
//! connection whose listener sets no rate has no `Throttle` at all, so the path of its
//! reads pays one pointer test.

use std::time::{Duration, Instant};

use crate::config::ClientRate;

/// A bucket of tokens refilled at `rate` a second up to `rate` (one second's burst). It may
/// go into debt: what a read brought is taken whole, and the debt is what the pause repays.
#[derive(Debug)]
struct Bucket {
    rate: f64,
    tokens: f64,
}

impl Bucket {
    fn new(rate: u32) -> Bucket {
        let rate = f64::from(rate);
        Bucket { rate, tokens: rate }
    }

    fn refill(&mut self, seconds: f64) {
        self.tokens = (self.tokens + seconds * self.rate).min(self.rate);
    }

    /// How long until the bucket is out of debt (zero when it is not in debt).
    fn debt_time(&self) -> Duration {
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(-self.tokens / self.rate)
        }
    }
}

/// One connection's rate limit: a bucket for PUBLISH packets, one for bytes, and the time
/// until which the connection does not read.
#[derive(Debug)]
pub(crate) struct Throttle {
    messages: Option<Bucket>,
    bytes: Option<Bucket>,
    /// PUBLISH packets decoded since the last [`Throttle::take`].
    publishes: u32,
    /// When the buckets were last refilled.
    last: Instant,
    /// Until when the connection does not read; `None`: it reads.
    paused_until: Option<Instant>,
}

impl Throttle {
    /// The throttle for `rate`, its buckets full; a connection whose rate limits nothing
    /// ([`ClientRate::is_limited`]) has none.
    pub(crate) fn new(rate: &ClientRate, now: Instant) -> Box<Throttle> {
        Box::new(Throttle {
            messages: rate.messages.map(|rate| Bucket::new(rate.get())),
            bytes: rate.bytes.map(|rate| Bucket::new(rate.get())),
            publishes: 0,
            last: now,
            paused_until: None,
        })
    }

    /// One PUBLISH packet decoded, to be taken at the next [`Throttle::take`].
    pub(crate) fn publish_decoded(&mut self) {
        self.publishes = self.publishes.saturating_add(1);
    }

    /// Takes what a read brought (`bytes`, and the PUBLISH packets decoded since the last
    /// call) at `now`. Returns when the connection may read again if it is to stop reading
    /// now: the time its buckets need to be out of debt.
    pub(crate) fn take(&mut self, bytes: usize, now: Instant) -> Option<Instant> {
        let seconds = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        let publishes = std::mem::take(&mut self.publishes);
        let mut wait = Duration::ZERO;
        if let Some(bucket) = &mut self.messages {
            bucket.refill(seconds);
            bucket.tokens -= f64::from(publishes);
            wait = wait.max(bucket.debt_time());
        }
        if let Some(bucket) = &mut self.bytes {
            bucket.refill(seconds);
            // Exact below 2^53 bytes, which one read never brings.
            bucket.tokens -= bytes as f64;
            wait = wait.max(bucket.debt_time());
        }
        if wait.is_zero() {
            return None;
        }
        let until = now + wait;
        self.paused_until = Some(until);
        Some(until)
    }

    /// Until when the connection does not read, if it is paused.
    pub(crate) fn paused_until(&self) -> Option<Instant> {
        self.paused_until
    }

    /// At `now`: ends the pause if it is over. Returns whether the connection still pauses.
    pub(crate) fn resume_if_due(&mut self, now: Instant) -> bool {
        if self.paused_until.is_some_and(|until| until <= now) {
            self.paused_until = None;
        }
        self.paused_until.is_some()
    }
}

#[cfg(test)]
mod tests {
    use std::num::NonZeroU32;

    use super::*;

    fn rate(messages: u32, bytes: u32) -> ClientRate {
        ClientRate {
            messages: NonZeroU32::new(messages),
            bytes: NonZeroU32::new(bytes),
        }
    }

    #[test]
    fn no_limit_is_not_limited() {
        assert!(!ClientRate::UNLIMITED.is_limited());
        assert!(rate(1, 0).is_limited() && rate(0, 1).is_limited());
    }

    #[test]
    fn a_burst_within_the_bucket_reads_on_and_one_past_it_pauses_for_the_debt() {
        let start = Instant::now();
        let mut throttle = Throttle::new(&rate(10, 0), start);
        for _ in 0..10 {
            throttle.publish_decoded();
        }
        assert_eq!(throttle.take(100, start), None, "one second's burst");
        for _ in 0..5 {
            throttle.publish_decoded();
        }
        // Five in debt at ten a second: half a second without reading.
        let until = throttle.take(50, start).unwrap();
        assert_eq!(until, start + Duration::from_millis(500));
        assert_eq!(throttle.paused_until(), Some(until));
        assert!(throttle.resume_if_due(start + Duration::from_millis(499)));
        assert!(!throttle.resume_if_due(until));
        // The pause repaid the debt: the next read at that time is not paused, and the
        // bucket holds nothing more (one more message would pause again).
        assert_eq!(throttle.take(0, until), None);
        throttle.publish_decoded();
        assert_eq!(
            throttle.take(10, until),
            Some(until + Duration::from_millis(100))
        );
    }

    #[test]
    fn bytes_are_limited_on_their_own_and_the_longer_debt_wins() {
        let start = Instant::now();
        let mut throttle = Throttle::new(&rate(0, 1000), start);
        for _ in 0..1000 {
            throttle.publish_decoded();
        }
        assert_eq!(throttle.take(1000, start), None, "messages are not limited");
        assert_eq!(
            throttle.take(2000, start),
            Some(start + Duration::from_secs(2))
        );
        let mut both = Throttle::new(&rate(1, 1_000_000), start);
        both.publish_decoded();
        both.publish_decoded();
        both.publish_decoded();
        assert_eq!(both.take(10, start), Some(start + Duration::from_secs(2)));
    }

    #[test]
    fn an_idle_bucket_refills_to_one_second_only() {
        let start = Instant::now();
        let mut throttle = Throttle::new(&rate(10, 0), start);
        let later = start + Duration::from_secs(3600);
        for _ in 0..11 {
            throttle.publish_decoded();
        }
        assert_eq!(
            throttle.take(0, later),
            Some(later + Duration::from_millis(100))
        );
    }
}
