//! A snapshot of a node's routes and retained changes cut into frames of bounded size: the
//! first carries the routes, the next ones (`continued`) more retained entries of the same
//! snapshot, so that many retained messages never make one gRPC message past the peer's
//! limit ([`MAX_MESSAGE_SIZE`](crate::link_state::MAX_MESSAGE_SIZE)). One entry larger than
//! the budget still goes whole, in a frame of its own.

use prost::Message as _;

use crate::proto::{RetainedEntry, RouteSnapshot};

/// The retained entries' encoded bytes one frame carries at most (but for a single larger
/// entry).
pub(crate) const PART_BYTES: usize = 4 * 1024 * 1024;

/// The frames of the snapshot at change `seq` of run `incarnation`.
pub(crate) fn snapshot_parts(
    incarnation: u64,
    seq: u64,
    filters: Vec<String>,
    retained: Vec<RetainedEntry>,
    budget: usize,
) -> Vec<RouteSnapshot> {
    let mut parts = vec![RouteSnapshot {
        incarnation,
        seq,
        filters,
        retained: Vec::new(),
        continued: false,
    }];
    let mut bytes = 0;
    for entry in retained {
        let size = entry.encoded_len();
        let full = bytes > 0 && bytes + size > budget;
        if full {
            parts.push(RouteSnapshot {
                incarnation,
                seq,
                filters: Vec::new(),
                retained: Vec::new(),
                continued: true,
            });
            bytes = 0;
        }
        bytes += size;
        if let Some(part) = parts.last_mut() {
            part.retained.push(entry);
        }
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(topic: &str) -> RetainedEntry {
        RetainedEntry {
            topic: topic.into(),
            message: None,
            set_at_ms: 1,
            set_by: "a".into(),
        }
    }

    #[test]
    fn a_small_snapshot_is_one_frame() {
        let parts = snapshot_parts(7, 3, vec!["f".into()], vec![entry("t")], PART_BYTES);
        assert_eq!(parts.len(), 1);
        assert_eq!((parts[0].filters.len(), parts[0].retained.len()), (1, 1));
        assert!(!parts[0].continued);
    }

    #[test]
    fn retained_entries_beyond_the_budget_go_in_continued_frames() {
        let size = entry("t/0").encoded_len();
        let retained = (0..5).map(|i| entry(&format!("t/{i}"))).collect();
        let parts = snapshot_parts(7, 3, vec!["f".into()], retained, size * 2);
        let counts: Vec<_> = parts.iter().map(|p| p.retained.len()).collect();
        assert_eq!(counts, [2, 2, 1]);
        assert!(parts[1..]
            .iter()
            .all(|p| p.continued && p.filters.is_empty()));
        assert!(parts.iter().all(|p| (p.incarnation, p.seq) == (7, 3)));
    }
}
