//! Where a batch stands in the ordered log of batches the state machine applies: an epoch and
//! an index, compared in that order.
//!
//! The state machine writes the position of each batch it applies in the same transaction
//! as the batch, so after a crash it knows exactly which batches the table holds, and a batch
//! offered again (a replicated log replaying its entries after a restart) is skipped instead
//! of applied twice. A node on its own numbers its batches itself: a new epoch at every open,
//! the index going on from the last one. A replicated log (issue 16, part 2) gives its own
//! positions, its term and index, without its types reaching this crate.

use std::fmt;

/// A batch's place in the log.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct LogPosition {
    /// The epoch (a replicated log's term; a new one at each open of a store on its own).
    pub epoch: u64,
    /// The batch's index in the log, increasing across epochs.
    pub index: u64,
}

impl LogPosition {
    /// The position at `index` of `epoch`.
    #[must_use]
    pub fn new(epoch: u64, index: u64) -> LogPosition {
        LogPosition { epoch, index }
    }

    /// The byte form: epoch, then index, both big-endian.
    pub(crate) fn encode(self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        let (epoch, index) = bytes.split_at_mut(8);
        epoch.copy_from_slice(&self.epoch.to_be_bytes());
        index.copy_from_slice(&self.index.to_be_bytes());
        bytes
    }

    /// The position `bytes` hold, if they are one.
    pub(crate) fn decode(bytes: &[u8]) -> Option<LogPosition> {
        let epoch = u64::from_be_bytes(bytes.get(..8)?.try_into().ok()?);
        let index = u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?);
        (bytes.len() == 16).then_some(LogPosition { epoch, index })
    }
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.epoch, self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_order_by_epoch_then_index_and_read_back() {
        let a = LogPosition::new(1, 900);
        let b = LogPosition::new(2, 1);
        assert!(a < b && LogPosition::new(2, 0) < b);
        assert_eq!(LogPosition::decode(&b.encode()), Some(b));
        assert_eq!(LogPosition::decode(&b.encode()[..15]), None);
        assert_eq!(b.to_string(), "2.1");
    }
}
