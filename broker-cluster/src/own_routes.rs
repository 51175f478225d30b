//! [`OwnRoutes`]: the routes this node owns (filters it has local subscribers for) and its
//! standing retained changes ([`OwnRetained`]), numbered changes of both in one sequence and a
//! bounded log of the latest ones, from which a peer catches up.
//!
//! Retained changes share the route stream rather than a sibling stream: one cursor, one
//! acknowledgement and one catch-up per peer, and a peer that catches up by snapshot gets the
//! routes and the retained set of the same instant. The cost: retained changes take room in
//! the same log (a peer further behind gets a snapshot sooner).
//!
//! Pure state: no I/O, no clock. The link changes it under a lock; each peer's stream asks
//! it what to send after a [`Cursor`].

use std::collections::{BTreeSet, VecDeque};

use broker_core::cluster::{RetainedChange, RetainedStamp};
use broker_core::types::TopicName;

use crate::cursor::{Change, Cursor, RetainedEntry, RouteChange, RouteOp};
use crate::incarnation::Incarnation;
use crate::own_retained::{OwnRetained, CLEARS_MAX, CLEAR_TTL_MS};

/// Changes kept for peers that catch up; one further behind gets a snapshot.
pub(crate) const LOG_CAPACITY: usize = 4096;

/// What a peer needs to be up to date.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CatchUp {
    /// These changes, in order (empty: nothing).
    Changes(Vec<Change>),
    /// The whole set, as of change `seq`: the peer's copy is of another run, or older than
    /// the log.
    Snapshot {
        /// The last change the set includes.
        seq: u64,
        /// Every filter.
        filters: Vec<String>,
        /// The standing retained changes.
        retained: Vec<RetainedChange>,
    },
}

/// This node's routes in this run.
#[derive(Debug)]
pub(crate) struct OwnRoutes {
    incarnation: Incarnation,
    seq: u64,
    filters: BTreeSet<String>,
    retained: OwnRetained,
    log: VecDeque<Change>,
    capacity: usize,
}

impl OwnRoutes {
    /// No routes yet, in run `incarnation`, keeping `capacity` changes.
    pub(crate) fn new(incarnation: Incarnation, capacity: usize) -> Self {
        OwnRoutes {
            incarnation,
            seq: 0,
            filters: BTreeSet::new(),
            retained: OwnRetained::new(CLEAR_TTL_MS, CLEARS_MAX),
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

    /// This node changed a retained message: numbered unless a later change of its topic
    /// is recorded already. Returns the current change number.
    pub(crate) fn retained(&mut self, change: &RetainedChange) -> u64 {
        if self.retained.record(change) {
            self.seq += 1;
            self.push(Change::Retained(Box::new(RetainedEntry {
                seq: self.seq,
                change: Some(change.clone()),
            })));
        }
        self.seq
    }

    /// A peer's later change of `topic` was applied here: this node's stands no more.
    pub(crate) fn retained_superseded(&mut self, topic: &TopicName, stamp: &RetainedStamp) {
        self.retained.superseded(topic, stamp);
    }

    fn record(&mut self, op: RouteOp, filter: &str) {
        self.seq += 1;
        self.push(Change::Route(RouteChange {
            seq: self.seq,
            op,
            filter: filter.to_owned(),
        }));
    }

    fn push(&mut self, change: Change) {
        if self.log.len() == self.capacity {
            self.log.pop_front();
        }
        self.log.push_back(change);
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
        let oldest = self.log.front().map_or(self.seq + 1, Change::seq);
        if recorded.seq + 1 < oldest {
            return self.snapshot();
        }
        CatchUp::Changes(
            self.log
                .iter()
                .filter(|change| change.seq() > recorded.seq)
                .cloned()
                .collect(),
        )
    }

    fn snapshot(&self) -> CatchUp {
        CatchUp::Snapshot {
            seq: self.seq,
            filters: self.filters.iter().cloned().collect(),
            retained: self.retained.snapshot(),
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

    fn change(seq: u64, op: RouteOp, filter: &str) -> Change {
        Change::Route(RouteChange {
            seq,
            op,
            filter: filter.into(),
        })
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
            retained: vec![],
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

    fn retained(topic: &str, ms: u64) -> RetainedChange {
        use broker_core::cluster::PeerName;
        use broker_core::codec::PublishProperties;
        use broker_core::session::Message;
        use broker_core::types::QoS;

        let topic = TopicName::new(topic).unwrap();
        let message = Message::new(
            topic.clone(),
            bytes::Bytes::from_static(b"m"),
            QoS::AtMostOnce,
            true,
            PublishProperties::default(),
            std::time::Instant::now(),
        );
        RetainedChange::new(
            topic,
            Some(message),
            RetainedStamp::new(ms, PeerName::new("a")),
        )
    }

    #[test]
    fn retained_changes_share_the_sequence_and_the_snapshot() {
        let mut routes = OwnRoutes::new(run(7), 16);
        routes.add("x");
        let set = retained("t", 5);
        assert_eq!(routes.retained(&set), 2);
        assert_eq!(
            routes.retained(&retained("t", 4)),
            2,
            "older than the one held"
        );
        match routes.catch_up(at(7, 1)) {
            CatchUp::Changes(changes) => {
                assert_eq!(changes.len(), 1);
                assert_eq!(changes[0].seq(), 2);
            }
            other => panic!("{other:?}"),
        }
        match routes.catch_up(None) {
            CatchUp::Snapshot {
                seq,
                filters,
                retained,
            } => {
                assert_eq!((seq, filters), (2, vec!["x".to_owned()]));
                assert_eq!(retained, vec![set]);
            }
            other => panic!("{other:?}"),
        }
    }
}
