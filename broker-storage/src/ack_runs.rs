//! A client's finished copies, as the store writes them lazily: runs of sequence numbers.
//!
//! ```text
//! version  u8 (1)
//! count    u32
//! count times: first u64, last u64     every copy of the client in [first, last] is finished
//! ```
//!
//! A copy the client has finished with (acknowledged, or dropped) stays in its log record
//! until every copy there is finished; these runs say which ones, so that after a crash they
//! are not queued again. The runs are written with the client's session record, and a few at
//! a time as batches commit: a crash may bring back copies finished since (they are sent
//! again: a duplicate at QoS 1, and never at QoS 2, whose session record is written after
//! them; docs/persistence.md).

use bytes::{Buf, BufMut, Bytes};

/// The version of this layout.
const VERSION: u8 = 1;

/// Finished sequence numbers of one client, as sorted, disjoint, inclusive runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AckRuns(Vec<(u64, u64)>);

impl AckRuns {
    /// The runs of `finished` (ascending), given every copy of the client in order with
    /// whether it is finished.
    pub(crate) fn of(copies: impl IntoIterator<Item = (u64, bool)>) -> AckRuns {
        let mut runs: Vec<(u64, u64)> = Vec::new();
        let mut open = false;
        for (seq, finished) in copies {
            match (finished, open) {
                (true, true) => {
                    if let Some(run) = runs.last_mut() {
                        run.1 = seq;
                    }
                }
                (true, false) => {
                    runs.push((seq, seq));
                    open = true;
                }
                (false, _) => open = false,
            }
        }
        AckRuns(runs)
    }

    /// Whether `seq` is in a run.
    pub(crate) fn contains(&self, seq: u64) -> bool {
        let at = self.0.partition_point(|(_, last)| *last < seq);
        self.0.get(at).is_some_and(|(first, _)| *first <= seq)
    }

    /// Whether there is no run.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The byte form (unsealed).
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut buf = Vec::with_capacity(5 + 16 * self.0.len());
        buf.put_u8(VERSION);
        buf.put_u32(u32::try_from(self.0.len()).unwrap_or(u32::MAX));
        for (first, last) in &self.0 {
            buf.put_u64(*first);
            buf.put_u64(*last);
        }
        buf
    }

    /// Reads the byte form, or says why it does not read.
    pub(crate) fn decode(record: Bytes) -> Result<AckRuns, String> {
        let mut r = record;
        if r.remaining() < 5 {
            return Err("the finished runs end early".to_owned());
        }
        let version = r.get_u8();
        if version != VERSION {
            return Err(format!(
                "finished runs version {version}, expected {VERSION}"
            ));
        }
        let count = usize::try_from(r.get_u32()).map_err(|e| e.to_string())?;
        if r.remaining() != count.saturating_mul(16) {
            return Err(format!("{count} finished runs in {} bytes", r.remaining()));
        }
        let mut runs = Vec::with_capacity(count);
        let mut previous = None;
        for _ in 0..count {
            let (first, last) = (r.get_u64(), r.get_u64());
            if first > last || previous.is_some_and(|p| p >= first) {
                return Err("the finished runs are not sorted".to_owned());
            }
            previous = Some(last);
            runs.push((first, last));
        }
        Ok(AckRuns(runs))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_cover_the_finished_copies_and_no_unfinished_one() {
        let copies = [
            (3, true),
            (5, true),
            (9, false),
            (12, true),
            (20, false),
            (21, true),
            (30, true),
        ];
        let runs = AckRuns::of(copies);
        assert_eq!(runs, AckRuns(vec![(3, 5), (12, 12), (21, 30)]));
        for (seq, finished) in copies {
            assert_eq!(runs.contains(seq), finished, "{seq}");
        }
        assert!(!runs.contains(2) && !runs.contains(31));
        assert!(AckRuns::of([(1, false)]).is_empty());
    }

    #[test]
    fn the_byte_form_reads_back_and_damage_is_an_error() {
        let runs = AckRuns(vec![(1, 4), (8, 8), (10, u64::MAX)]);
        let bytes = runs.encode();
        assert_eq!(AckRuns::decode(Bytes::from(bytes.clone())).unwrap(), runs);
        for len in 0..bytes.len() {
            assert!(AckRuns::decode(Bytes::copy_from_slice(&bytes[..len])).is_err());
        }
        let unsorted = AckRuns(vec![(8, 8), (1, 4)]).encode();
        assert!(AckRuns::decode(Bytes::from(unsorted)).is_err());
    }
}
