//! The parked connections' deadlines, in order, at 8 bytes each.
//!
//! Every parked connection with a Keep Alive has one entry, so the entry's size is part of
//! what an idle connection costs. An ordered set of `(Instant, usize)` took 24 bytes a key
//! and, with the half-full leaves that keys inserted in rising order leave behind, 48 bytes
//! of B-tree per parked connection; one `u64` per key (the deadline in milliseconds since the
//! parker started, and the token) takes 20.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

/// Bits of a key that hold the token.
const TOKEN_BITS: u32 = 24;
/// One more than the largest token a key can hold: 16,777,216 parked connections.
pub(crate) const MAX_TOKENS: usize = 1 << TOKEN_BITS;
/// The latest deadline a key can hold, in milliseconds after the epoch (about 34 years);
/// later ones are kept as this.
const MAX_MILLIS: u64 = (1 << (64 - TOKEN_BITS)) - 1;

/// Deadlines of parked connections by token, earliest first, at millisecond precision: a
/// deadline is rounded up to the next millisecond, never down, so no connection is resumed
/// before its time.
#[derive(Debug)]
pub(crate) struct Deadlines {
    epoch: Instant,
    keys: BTreeSet<u64>,
}

impl Deadlines {
    /// No deadlines; they are counted from `epoch`.
    pub(crate) fn new(epoch: Instant) -> Self {
        Deadlines {
            epoch,
            keys: BTreeSet::new(),
        }
    }

    fn key(&self, at: Instant, token: usize) -> Option<u64> {
        let token = u64::try_from(token)
            .ok()
            .filter(|&t| t < MAX_TOKENS as u64)?;
        let since = at.saturating_duration_since(self.epoch);
        let mut millis = u64::try_from(since.as_millis()).unwrap_or(MAX_MILLIS);
        if since > Duration::from_millis(millis) {
            millis = millis.saturating_add(1);
        }
        Some((millis.min(MAX_MILLIS) << TOKEN_BITS) | token)
    }

    /// Adds `token`'s deadline. Returns false, and adds nothing, for a token of
    /// [`MAX_TOKENS`] or more.
    pub(crate) fn insert(&mut self, at: Instant, token: usize) -> bool {
        self.key(at, token).is_some_and(|key| self.keys.insert(key))
    }

    /// Removes `token`'s deadline, given as it was inserted.
    pub(crate) fn remove(&mut self, at: Instant, token: usize) {
        if let Some(key) = self.key(at, token) {
            self.keys.remove(&key);
        }
    }

    /// The earliest deadline (as kept: rounded up to the millisecond), and its token.
    pub(crate) fn first(&self) -> Option<(Instant, usize)> {
        let key = *self.keys.first()?;
        let at = self.epoch + Duration::from_millis(key >> TOKEN_BITS);
        // The mask keeps 24 bits, which fit a usize.
        let token = usize::try_from(key & (MAX_TOKENS as u64 - 1)).unwrap_or(usize::MAX);
        Some((at, token))
    }

    /// Removes every deadline.
    pub(crate) fn clear(&mut self) {
        self.keys.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(epoch: Instant, micros: u64) -> Instant {
        epoch + Duration::from_micros(micros)
    }

    #[test]
    fn earliest_first_and_rounded_up_to_the_millisecond() {
        let epoch = Instant::now();
        let mut d = Deadlines::new(epoch);
        assert!(d.insert(at(epoch, 5_000_300), 7));
        assert!(d.insert(at(epoch, 2_000_000), 9));
        assert!(d.insert(at(epoch, 2_000_000), 3));
        assert_eq!(d.first(), Some((at(epoch, 2_000_000), 3)));
        d.remove(at(epoch, 2_000_000), 3);
        assert_eq!(d.first(), Some((at(epoch, 2_000_000), 9)));
        d.remove(at(epoch, 2_000_000), 9);
        // 5.0003 s is kept as 5.001 s: later, never earlier.
        assert_eq!(d.first(), Some((at(epoch, 5_001_000), 7)));
        d.remove(at(epoch, 5_000_300), 7);
        assert_eq!(d.first(), None);
    }

    #[test]
    fn a_deadline_before_the_epoch_is_due_at_once() {
        let epoch = Instant::now() + Duration::from_secs(10);
        let mut d = Deadlines::new(epoch);
        assert!(d.insert(Instant::now(), 1));
        assert_eq!(d.first(), Some((epoch, 1)));
    }

    #[test]
    fn tokens_past_the_key_are_refused() {
        let epoch = Instant::now();
        let mut d = Deadlines::new(epoch);
        assert!(!d.insert(epoch, MAX_TOKENS));
        assert!(d.insert(epoch, MAX_TOKENS - 1));
        assert_eq!(d.first(), Some((epoch, MAX_TOKENS - 1)));
        d.clear();
        assert_eq!(d.first(), None);
    }
}
