//! One client's copies in one log record, as the store's index keeps them: their sequence
//! numbers as offsets from the first, and which of them are finished.
//!
//! A copy costs the index about 4 bytes and a bit here, where a map entry per copy cost about
//! 40: the index of a million queued copies is a few megabytes.

/// The copies of one client in one log record, numbered `first + offset`, in ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Segment {
    record: u64,
    offsets: Vec<u32>,
    /// Bit `i` set: the copy at `offsets[i]` is finished.
    finished: Vec<u64>,
}

impl Segment {
    /// A segment of log record `record`, its first copy at the offset 0 (the segment's key).
    pub(crate) fn new(record: u64) -> Segment {
        Segment {
            record,
            offsets: Vec::new(),
            finished: Vec::new(),
        }
    }

    /// The log record that holds these copies.
    pub(crate) fn record(&self) -> u64 {
        self.record
    }

    /// The highest offset held, if any.
    pub(crate) fn last_offset(&self) -> Option<u32> {
        self.offsets.last().copied()
    }

    /// Adds the copy at `offset`, live or finished; `false` when it is there already.
    pub(crate) fn insert(&mut self, offset: u32, live: bool) -> bool {
        let at = match self.offsets.binary_search(&offset) {
            Ok(_) => return false,
            Err(at) => at,
        };
        if at == self.offsets.len() {
            self.offsets.push(offset);
            self.set_bit(at, !live);
        } else {
            // Out of order (never in the order the store applies writes): the bits after
            // `at` move up by one.
            let bits: Vec<bool> = (at..self.offsets.len()).map(|i| self.bit(i)).collect();
            self.offsets.insert(at, offset);
            self.set_bit(at, !live);
            for (k, bit) in bits.into_iter().enumerate() {
                self.set_bit(at + 1 + k, bit);
            }
        }
        true
    }

    /// The position of the copy at `offset`.
    fn position(&self, offset: u32) -> Option<usize> {
        self.offsets.binary_search(&offset).ok()
    }

    /// Whether the copy at `offset` is held and live.
    pub(crate) fn is_live(&self, offset: u32) -> bool {
        self.position(offset).is_some_and(|i| !self.bit(i))
    }

    /// Whether the copy at `offset` is held.
    pub(crate) fn holds(&self, offset: u32) -> bool {
        self.position(offset).is_some()
    }

    /// Finishes the copy at `offset`; `true` when it was held and live.
    pub(crate) fn finish(&mut self, offset: u32) -> bool {
        match self.position(offset) {
            Some(i) if !self.bit(i) => {
                self.set_bit(i, true);
                true
            }
            _ => false,
        }
    }

    /// Finishes every live copy at `up_to` or below; gives the offsets finished.
    pub(crate) fn finish_up_to(&mut self, up_to: u32) -> Vec<u32> {
        let done: Vec<(usize, u32)> = self
            .offsets
            .iter()
            .take_while(|o| **o <= up_to)
            .enumerate()
            .filter(|(i, _)| !self.bit(*i))
            .map(|(i, offset)| (i, *offset))
            .collect();
        for (i, _) in &done {
            self.set_bit(*i, true);
        }
        done.into_iter().map(|(_, offset)| offset).collect()
    }

    /// Every copy, ascending: offset and whether it is finished.
    pub(crate) fn copies(&self) -> impl Iterator<Item = (u32, bool)> + '_ {
        self.offsets
            .iter()
            .enumerate()
            .map(|(i, offset)| (*offset, self.bit(i)))
    }

    fn bit(&self, i: usize) -> bool {
        self.finished
            .get(i / 64)
            .is_some_and(|word| word & (1 << (i % 64)) != 0)
    }

    fn set_bit(&mut self, i: usize, value: bool) {
        let at = i / 64;
        if self.finished.len() <= at {
            self.finished.resize(at + 1, 0);
        }
        if let Some(word) = self.finished.get_mut(at) {
            if value {
                *word |= 1 << (i % 64);
            } else {
                *word &= !(1 << (i % 64));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_are_kept_in_order_with_their_state() {
        let mut segment = Segment::new(7);
        assert!(segment.insert(0, true));
        assert!(segment.insert(5, true));
        assert!(segment.insert(9, false));
        assert!(!segment.insert(5, true), "twice");
        // Out of order: the states after it move along.
        assert!(segment.insert(2, true));
        assert_eq!(
            segment.copies().collect::<Vec<_>>(),
            vec![(0, false), (2, false), (5, false), (9, true)]
        );
        assert!(segment.finish(2));
        assert!(!segment.finish(2), "finished already");
        assert!(!segment.finish(3), "not held");
        assert!(!segment.is_live(2) && segment.holds(2) && segment.is_live(5));
        assert_eq!(segment.finish_up_to(6), vec![0, 5]);
        assert!(segment.copies().all(|(_, finished)| finished));
        assert_eq!(segment.last_offset(), Some(9));
        assert_eq!(segment.record(), 7);
    }

    #[test]
    fn more_than_a_word_of_copies_keeps_every_state() {
        let mut segment = Segment::new(1);
        for offset in 0..200 {
            segment.insert(offset * 2, offset % 3 != 0);
        }
        segment.insert(1, true);
        for (i, (offset, finished)) in segment.copies().enumerate() {
            if i == 1 {
                assert_eq!((offset, finished), (1, false));
            } else {
                let k = if i == 0 { 0 } else { i - 1 };
                assert_eq!((offset, finished), (k as u32 * 2, k % 3 == 0), "copy {i}");
            }
        }
    }
}
