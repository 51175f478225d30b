//! [`OwnRoutes`]: the routes this node owns (filters it has local subscribers for), numbered
//! changes and a bounded log of the latest ones, from which a peer catches up.
//!
//! Pure state: no I/O, no clock. The link changes it under a lock; each peer's stream asks
//! it what to send after a [`Cursor`].

use std::collections::{BTreeSet, VecDeque};

use crate::cursor::{Cursor, RouteChange, RouteOp};
use crate::incarnation::Incarnation;

/// Changes kept for peers that catch up; one further behind gets a snapshot.
pub(crate) const LOG_CAPACITY: usize = 4096;

/// What a peer needs to be up to date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CatchUp {
    /// These changes, in order (empty: nothing).
    Changes(Vec<RouteChange>),
    /// The whole set, as of change `seq`: the peer's copy is of another run, or older than
    /// the log.
    Snapshot {
        /// The last change the set includes.
        seq: u64,
        /// Every filter.
        filters: Vec<String>,
    },
}

/// This node's routes in this run.
#[derive(Debug)]
pub(crate) struct OwnRoutes {
    incarnation: Incarnation,
    seq: u64,
    filters: BTreeSet<String>,
    log: VecDeque<RouteChange>,
    capacity: usize,
}

impl OwnRoutes {
    /// No routes yet, in run `incarnation`, keeping `capacity` changes.
    pub(crate) fn new(incarnation: Incarnation, capacity: usize) -> Self {
        OwnRoutes {
            incarnation,
            seq: 0,
            filters: BTreeSet::new(),
            log: VecDeque::new(),
            capacity: capacity.max(1),
        }
    }

    /// How many filters the node routes.
    pub(crate) fn len(&self) -> usize {
        self.filters.len()
    }

    /// Where the stream stands.
    pub(crate) fn cursor(&self) -> Cursor {
        Cursor {
            incarnation: self.incarnation,
            seq: self.seq,
        }
    }

    /// The node has a subscriber for `filter`. Returns the change a peer must have recorded
    /// to route it here (the current one if the filter was routed already).
    pub(crate) fn add(&mut self, filter: &str) -> u64 {
        if self.filters.insert(filter.to_owned()) {
            self.record(RouteOp::Add, filter);
        }
        self.seq
    }

    /// The node has no subscriber for `filter` any more.
    pub(crate) fn remove(&mut self, filter: &str) {
        if self.filters.remove(filter) {
            self.record(RouteOp::Remove, filter);
        }
    }

    fn record(&mut self, op: RouteOp, filter: &str) {
        self.seq += 1;
        if self.log.len() == self.capacity {
            self.log.pop_front();
        }
        self.log.push_back(RouteChange {
            seq: self.seq,
            op,
            filter: filter.to_owned(),
        });
    }

    /// What a peer whose copy stands at `recorded` (`None`: it has none) needs next.
    pub(crate) fn catch_up(&self, recorded: Option<Cursor>) -> CatchUp {
        let Some(recorded) = recorded.filter(|c| c.incarnation == self.incarnation) else {
            return self.snapshot();
        };
        if recorded.seq > self.seq {
            // A copy ahead of the owner: not of this run after all.
            return self.snapshot();
        }
        if recorded.seq == self.seq {
            return CatchUp::Changes(Vec::new());
        }
        let oldest = self.log.front().map_or(self.seq + 1, |change| change.seq);
        if recorded.seq + 1 < oldest {
            return self.snapshot();
        }
        CatchUp::Changes(
            self.log
                .iter()
                .filter(|change| change.seq > recorded.seq)
                .cloned()
                .collect(),
        )
    }

    fn snapshot(&self) -> CatchUp {
        CatchUp::Snapshot {
            seq: self.seq,
            filters: self.filters.iter().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n: u64) -> Incarnation {
        Incarnation::from_wire(n)
    }

    fn at(incarnation: u64, seq: u64) -> Option<Cursor> {
        Some(Cursor {
            incarnation: run(incarnation),
            seq,
        })
    }

    fn change(seq: u64, op: RouteOp, filter: &str) -> RouteChange {
        RouteChange {
            seq,
            op,
            filter: filter.into(),
        }
    }

    #[test]
    fn changes_are_numbered_and_repeats_change_nothing() {
        let mut routes = OwnRoutes::new(run(7), 16);
        assert_eq!(routes.add("a/#"), 1);
        assert_eq!(routes.add("a/#"), 1, "routed already");
        assert_eq!(routes.add("$share/g/b"), 2);
        routes.remove("a/#");
        routes.remove("a/#");
        assert_eq!(routes.cursor(), at(7, 3).unwrap());
        assert_eq!(
            routes.catch_up(at(7, 0)),
            CatchUp::Changes(vec![
                change(1, RouteOp::Add, "a/#"),
                change(2, RouteOp::Add, "$share/g/b"),
                change(3, RouteOp::Remove, "a/#"),
            ])
        );
    }

    #[test]
    fn a_peer_catches_up_from_its_cursor() {
        let mut routes = OwnRoutes::new(run(7), 16);
        routes.add("x");
        routes.add("y");
        assert_eq!(
            routes.catch_up(at(7, 1)),
            CatchUp::Changes(vec![change(2, RouteOp::Add, "y")])
        );
        assert_eq!(routes.catch_up(at(7, 2)), CatchUp::Changes(vec![]));
    }

    #[test]
    fn a_peer_without_a_copy_of_this_run_gets_a_snapshot() {
        let mut routes = OwnRoutes::new(run(7), 16);
        routes.add("x");
        routes.add("y");
        routes.remove("x");
        let snapshot = CatchUp::Snapshot {
            seq: 3,
            filters: vec!["y".into()],
        };
        assert_eq!(routes.catch_up(None), snapshot);
        assert_eq!(routes.catch_up(at(6, 3)), snapshot, "the previous run");
        assert_eq!(routes.catch_up(at(7, 9)), snapshot, "ahead of the owner");
    }

    #[test]
    fn a_peer_further_behind_than_the_log_gets_a_snapshot() {
        let mut routes = OwnRoutes::new(run(1), 2);
        for filter in ["a", "b", "c", "d"] {
            routes.add(filter);
        }
        assert_eq!(
            routes.catch_up(at(1, 2)),
            CatchUp::Changes(vec![
                change(3, RouteOp::Add, "c"),
                change(4, RouteOp::Add, "d")
            ])
        );
        assert!(matches!(
            routes.catch_up(at(1, 1)),
            CatchUp::Snapshot { seq: 4, .. }
        ));
    }
}
