//! One client's queued copies in the store's index: a [`Segment`] per log record that holds
//! some, keyed by the segment's first sequence number.
//!
//! The copies of one log record were numbered together (the store numbers writes in the order
//! it hands them to the committer, whose batches are runs of them), so the number ranges of
//! two records never overlap, and a client's segments in the order of their keys hold its
//! copies in ascending order. The store applies writes in that order too, and reads log
//! records back in the order of their ids: a copy is appended to the newest segment, or
//! starts one. One that comes lower than the newest (no path does this) still goes into its
//! place: into its record's segment, or a new one between the others.

use std::collections::BTreeMap;

use crate::index_segment::Segment;

/// A client's copies, by log record.
#[derive(Debug, Default)]
pub(crate) struct ClientCopies {
    segments: BTreeMap<u64, Segment>,
}

impl ClientCopies {
    /// Whether it holds no copy.
    pub(crate) fn is_empty(&self) -> bool {
        self.segments.is_empty()
    }

    /// The log record of its newest copy.
    pub(crate) fn newest_record(&self) -> Option<u64> {
        self.segments.last_key_value().map(|(_, s)| s.record())
    }

    /// Adds copy `seq`, held by log record `record`; `false` when it is there already.
    pub(crate) fn add(&mut self, seq: u64, record: u64, live: bool) -> bool {
        if let Some((first, segment)) = self.segments.iter_mut().next_back() {
            let last = first + u64::from(segment.last_offset().unwrap_or(0));
            if seq > last {
                if segment.record() == record {
                    if let Ok(offset) = u32::try_from(seq - first) {
                        return segment.insert(offset, live);
                    }
                }
                return self.start(seq, record, live);
            }
        } else {
            return self.start(seq, record, live);
        }
        // Out of order.
        if self.find(seq).is_some() || self.segments.contains_key(&seq) {
            return false;
        }
        let fits = self
            .segments
            .range_mut(..=seq)
            .next_back()
            .filter(|(_, s)| s.record() == record)
            .and_then(|(first, s)| Some((s, u32::try_from(seq - first).ok()?)));
        match fits {
            Some((segment, offset)) => segment.insert(offset, live),
            None => self.start(seq, record, live),
        }
    }

    fn start(&mut self, seq: u64, record: u64, live: bool) -> bool {
        let mut segment = Segment::new(record);
        segment.insert(0, live);
        self.segments.insert(seq, segment);
        true
    }

    /// The segment that holds `seq`, with its first number.
    fn find(&self, seq: u64) -> Option<(u64, &Segment)> {
        let (first, segment) = self.segments.range(..=seq).next_back()?;
        let offset = u32::try_from(seq - first).ok()?;
        segment.holds(offset).then_some((*first, segment))
    }

    /// The log record of copy `seq`, if it is held and live.
    pub(crate) fn live_record(&self, seq: u64) -> Option<u64> {
        let (first, segment) = self.find(seq)?;
        let offset = u32::try_from(seq - first).ok()?;
        segment.is_live(offset).then_some(segment.record())
    }

    /// Finishes copy `seq`; gives its log record when it was live.
    pub(crate) fn finish(&mut self, seq: u64) -> Option<u64> {
        let (first, _) = self.find(seq)?;
        let segment = self.segments.get_mut(&first)?;
        let offset = u32::try_from(seq - first).ok()?;
        segment.finish(offset).then_some(segment.record())
    }

    /// Finishes every live copy up to and including `up_to`: gives the highest number
    /// finished, and the log record of each copy finished.
    pub(crate) fn finish_up_to(&mut self, up_to: u64) -> (Option<u64>, Vec<u64>) {
        let mut highest = None;
        let mut records = Vec::new();
        for (first, segment) in self.segments.range_mut(..=up_to) {
            let limit = u32::try_from(up_to - first).unwrap_or(u32::MAX);
            let done = segment.finish_up_to(limit);
            if let Some(last) = done.last() {
                let last = first + u64::from(*last);
                highest = Some(highest.map_or(last, |h: u64| h.max(last)));
            }
            records.extend(done.iter().map(|_| segment.record()));
        }
        (highest, records)
    }

    /// Removes the copies of log record `record`, whose numbers are in `first..=last`.
    pub(crate) fn remove_record(&mut self, record: u64, first: u64, last: u64) {
        let keys: Vec<u64> = self
            .segments
            .range(first..=last)
            .filter(|(_, s)| s.record() == record)
            .map(|(key, _)| *key)
            .collect();
        for key in keys {
            self.segments.remove(&key);
        }
    }

    /// Every copy numbered `up_to` or below, ascending: number, log record, whether it is
    /// finished.
    pub(crate) fn copies_up_to(&self, up_to: u64) -> Vec<(u64, u64, bool)> {
        let mut copies: Vec<(u64, u64, bool)> = Vec::new();
        for (first, segment) in self.segments.range(..=up_to) {
            let record = segment.record();
            copies.extend(
                segment
                    .copies()
                    .map(|(offset, finished)| (first + u64::from(offset), record, finished))
                    .take_while(|(seq, _, _)| *seq <= up_to),
            );
        }
        copies
    }

    /// At most `limit` live copies numbered `from` or above, ascending: number and log record.
    pub(crate) fn live_from(&self, from: u64, limit: usize) -> Vec<(u64, u64)> {
        // A segment that starts before `from` may hold copies after it.
        let start = self
            .segments
            .range(..=from)
            .next_back()
            .map_or(from, |(first, _)| *first);
        self.segments
            .range(start..)
            .flat_map(|(first, segment)| {
                segment
                    .copies()
                    .filter(|(_, finished)| !finished)
                    .map(move |(offset, _)| (first + u64::from(offset), segment.record()))
            })
            .filter(|(seq, _)| *seq >= from)
            .take(limit)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_in_order_fill_one_segment_per_record() {
        let mut copies = ClientCopies::default();
        assert!(copies.add(10, 100, true));
        assert!(copies.add(14, 100, true));
        assert!(copies.add(20, 200, true));
        assert!(!copies.add(14, 100, true), "twice");
        assert_eq!(copies.segments.len(), 2);
        assert_eq!(
            copies.live_from(0, 10),
            vec![(10, 100), (14, 100), (20, 200)]
        );
        assert_eq!(copies.live_from(11, 10), vec![(14, 100), (20, 200)]);
        assert_eq!(copies.finish(14), Some(100));
        assert_eq!(copies.finish(14), None);
        assert_eq!(copies.live_record(10), Some(100));
        assert_eq!(copies.live_record(14), None);
        assert_eq!(copies.live_record(15), None);
        assert_eq!(
            copies.copies_up_to(14),
            vec![(10, 100, false), (14, 100, true)]
        );
        assert_eq!(copies.finish_up_to(30), (Some(20), vec![100, 200]));
        copies.remove_record(100, 10, 14);
        assert_eq!(copies.newest_record(), Some(200));
        copies.remove_record(200, 20, 20);
        assert!(copies.is_empty());
    }

    #[test]
    fn a_copy_out_of_order_is_found_and_walked_in_its_place() {
        // Records 100 (numbers 10 to 14), 150 (20 to 24), 200 (30 to 40).
        let mut copies = ClientCopies::default();
        copies.add(10, 100, true);
        copies.add(30, 200, true);
        copies.add(40, 200, true);
        // Lower than the newest: into its record's segment, or a new one between.
        assert!(copies.add(22, 150, true));
        assert!(copies.add(12, 100, true));
        assert!(!copies.add(22, 150, true));
        assert_eq!(
            copies.live_from(0, 10),
            vec![(10, 100), (12, 100), (22, 150), (30, 200), (40, 200)]
        );
        assert_eq!(copies.live_record(40), Some(200));
        assert_eq!(copies.live_record(22), Some(150));
        assert_eq!(copies.finish(40), Some(200));
        let seqs: Vec<u64> = copies.copies_up_to(u64::MAX).iter().map(|c| c.0).collect();
        assert_eq!(seqs, vec![10, 12, 22, 30, 40]);
    }
}
