//! The sequence number a durable store gave a queued copy of a message.

use std::fmt;
use std::num::NonZeroU16;

/// A store's sequence number of a queued copy ([`QueuedMessage::stored`]), up to 2^48 − 2^32
/// (about 281 trillion): kept in six bytes of alignment 2, so that `Option<StoreSeq>` fits in
/// the padding of a [`QueuedMessage`], which every queue move copies.
///
/// [`QueuedMessage::stored`]: crate::session::QueuedMessage::stored
/// [`QueuedMessage`]: crate::session::QueuedMessage
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StoreSeq {
    /// Bits 32 to 47, plus one (the niche of `Option`).
    high: NonZeroU16,
    mid: u16,
    low: u16,
}

impl StoreSeq {
    /// The largest number it holds.
    pub const MAX: u64 = (1 << 48) - (1 << 32) - 1;

    /// `seq`, if it is at most [`StoreSeq::MAX`].
    #[must_use]
    pub fn new(seq: u64) -> Option<StoreSeq> {
        if seq > Self::MAX {
            return None;
        }
        let high = u16::try_from(seq >> 32).ok()?.checked_add(1)?;
        Some(StoreSeq {
            high: NonZeroU16::new(high)?,
            mid: (seq >> 16) as u16,
            low: seq as u16,
        })
    }

    /// The number.
    #[must_use]
    pub fn get(self) -> u64 {
        (u64::from(self.high.get() - 1) << 32) | (u64::from(self.mid) << 16) | u64::from(self.low)
    }
}

impl fmt::Debug for StoreSeq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StoreSeq({})", self.get())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_up_to_its_maximum_in_six_bytes() {
        for seq in [
            0,
            1,
            65_535,
            65_536,
            u64::from(u32::MAX),
            1 << 32,
            StoreSeq::MAX,
        ] {
            assert_eq!(StoreSeq::new(seq).map(StoreSeq::get), Some(seq));
        }
        assert_eq!(StoreSeq::new(StoreSeq::MAX + 1), None);
        assert_eq!(std::mem::size_of::<Option<StoreSeq>>(), 6);
    }
}
