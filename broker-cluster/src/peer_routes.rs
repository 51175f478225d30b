//! [`PeerRoutes`]: this node's copy of one peer's routes, with the cursor of the last change
//! recorded. It says which filters to add to or remove from the local router, and which of
//! the peer's retained changes to offer the local retained store (which keeps the newer
//! ones); it never touches the router or the store itself.
//!
//! Pure state: no I/O, no clock. The rules:
//! - a stream from a newer run of the peer drops every route of the older run;
//! - a stream from an older run is refused (a stale process);
//! - a snapshot replaces the copy; a change applies only right after the last one recorded
//!   (a repeat is ignored, a gap is an error that ends the stream, and the peer resends from
//!   the cursor it is told on reconnection).

use std::collections::BTreeSet;

use broker_core::cluster::RetainedChange;
use thiserror::Error;

use crate::cursor::{Change, Cursor, RouteOp};
use crate::incarnation::Incarnation;

/// A frame the copy cannot take.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum RouteStreamError {
    /// The peer streams from a run older than one already seen.
    #[error("incarnation {got} is older than {seen}, which this node has seen")]
    StaleIncarnation {
        /// The stream's run.
        got: Incarnation,
        /// The newest run seen.
        seen: Incarnation,
    },
    /// A frame of another run than the stream's.
    #[error("a frame of incarnation {got} on the stream of incarnation {open}")]
    WrongIncarnation {
        /// The frame's.
        got: Incarnation,
        /// The stream's.
        open: Incarnation,
    },
    /// A change that does not follow the last one recorded.
    #[error("change {got} does not follow change {recorded}")]
    Gap {
        /// The change's number.
        got: u64,
        /// The last recorded.
        recorded: u64,
    },
}

/// Filters to add to and remove from the local router, in this order, and the peer's
/// retained changes to apply where newer.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RouterChanges {
    /// Routes the peer has now.
    pub(crate) add: Vec<String>,
    /// Routes it no longer has.
    pub(crate) remove: Vec<String>,
    /// Retained changes the peer made.
    pub(crate) retained: Vec<RetainedChange>,
}

/// One peer's routes as this node knows them.
#[derive(Debug, Default)]
pub(crate) struct PeerRoutes {
    recorded: Option<Cursor>,
    filters: BTreeSet<String>,
}

impl PeerRoutes {
    /// How many routes the peer has, as recorded.
    pub(crate) fn len(&self) -> usize {
        self.filters.len()
    }

    /// The peer opens a stream from run `incarnation`. Returns the cursor to tell it (`None`:
    /// nothing of this run recorded) and the routes to drop (all of an older run's).
    pub(crate) fn open(
        &mut self,
        incarnation: Incarnation,
    ) -> Result<(Option<Cursor>, RouterChanges), RouteStreamError> {
        let mut changes = RouterChanges::default();
        match self.recorded {
            Some(seen) if seen.incarnation > incarnation => {
                return Err(RouteStreamError::StaleIncarnation {
                    got: incarnation,
                    seen: seen.incarnation,
                });
            }
            Some(seen) if seen.incarnation == incarnation => {}
            _ => {
                changes.remove = std::mem::take(&mut self.filters).into_iter().collect();
                self.recorded = Some(Cursor {
                    incarnation,
                    seq: 0,
                });
            }
        }
        Ok((self.recorded.filter(|c| c.seq > 0), changes))
    }

    /// The peer's whole set as of change `seq` of run `incarnation`: its routes and its
    /// standing retained changes.
    pub(crate) fn snapshot(
        &mut self,
        incarnation: Incarnation,
        seq: u64,
        filters: impl IntoIterator<Item = String>,
        retained: Vec<RetainedChange>,
    ) -> Result<RouterChanges, RouteStreamError> {
        self.check_run(incarnation)?;
        let new: BTreeSet<String> = filters.into_iter().collect();
        let changes = RouterChanges {
            add: new.difference(&self.filters).cloned().collect(),
            remove: self.filters.difference(&new).cloned().collect(),
            retained,
        };
        self.filters = new;
        self.recorded = Some(Cursor { incarnation, seq });
        Ok(changes)
    }

    /// More retained changes of the snapshot at change `seq` of run `incarnation`, which was
    /// just recorded; the routes stay as they are.
    pub(crate) fn snapshot_part(
        &mut self,
        incarnation: Incarnation,
        seq: u64,
        retained: Vec<RetainedChange>,
    ) -> Result<RouterChanges, RouteStreamError> {
        let recorded = self.check_run(incarnation)?;
        if seq != recorded {
            return Err(RouteStreamError::Gap { got: seq, recorded });
        }
        Ok(RouterChanges {
            retained,
            ..RouterChanges::default()
        })
    }

    /// One change of run `incarnation`.
    pub(crate) fn change(
        &mut self,
        incarnation: Incarnation,
        change: Change,
    ) -> Result<RouterChanges, RouteStreamError> {
        let recorded = self.check_run(incarnation)?;
        let seq = change.seq();
        if seq <= recorded {
            return Ok(RouterChanges::default());
        }
        if seq != recorded + 1 {
            return Err(RouteStreamError::Gap { got: seq, recorded });
        }
        self.recorded = Some(Cursor { incarnation, seq });
        let mut changes = RouterChanges::default();
        let change = match change {
            Change::Route(change) => change,
            Change::Retained(entry) => {
                changes.retained.extend(entry.change);
                return Ok(changes);
            }
        };
        match change.op {
            RouteOp::Add => {
                if self.filters.insert(change.filter.clone()) {
                    changes.add.push(change.filter);
                }
            }
            RouteOp::Remove => {
                if self.filters.remove(&change.filter) {
                    changes.remove.push(change.filter);
                }
            }
        }
        Ok(changes)
    }

    /// The last change recorded, of the open run.
    pub(crate) fn recorded(&self) -> Option<Cursor> {
        self.recorded
    }

    /// The recorded change number, if `incarnation` is the open run.
    fn check_run(&self, incarnation: Incarnation) -> Result<u64, RouteStreamError> {
        match self.recorded {
            Some(cursor) if cursor.incarnation == incarnation => Ok(cursor.seq),
            Some(cursor) => Err(RouteStreamError::WrongIncarnation {
                got: incarnation,
                open: cursor.incarnation,
            }),
            None => Err(RouteStreamError::WrongIncarnation {
                got: incarnation,
                open: Incarnation::from_wire(0),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cursor::RouteChange;

    fn run(n: u64) -> Incarnation {
        Incarnation::from_wire(n)
    }

    fn add(seq: u64, filter: &str) -> Change {
        Change::Route(RouteChange {
            seq,
            op: RouteOp::Add,
            filter: filter.into(),
        })
    }

    fn remove(seq: u64, filter: &str) -> Change {
        Change::Route(RouteChange {
            seq,
            op: RouteOp::Remove,
            filter: filter.into(),
        })
    }

    fn adds(filters: &[&str]) -> RouterChanges {
        RouterChanges {
            add: filters.iter().map(|f| (*f).to_owned()).collect(),
            ..RouterChanges::default()
        }
    }

    #[test]
    fn a_first_stream_gets_a_snapshot_then_changes() {
        let mut copy = PeerRoutes::default();
        let (cursor, dropped) = copy.open(run(5)).unwrap();
        assert_eq!((cursor, dropped), (None, RouterChanges::default()));
        let changes = copy
            .snapshot(run(5), 2, ["a".into(), "b".into()], vec![])
            .unwrap();
        assert_eq!(changes, adds(&["a", "b"]));
        assert_eq!(copy.change(run(5), add(3, "c")).unwrap(), adds(&["c"]));
        let gone = copy.change(run(5), remove(4, "a")).unwrap();
        assert_eq!(gone.remove, vec!["a".to_owned()]);
        assert_eq!(copy.recorded().map(|c| c.seq), Some(4));
    }

    #[test]
    fn a_reconnection_of_the_same_run_resumes_at_the_cursor() {
        let mut copy = PeerRoutes::default();
        copy.open(run(5)).unwrap();
        copy.snapshot(run(5), 1, ["a".into()], vec![]).unwrap();
        let (cursor, dropped) = copy.open(run(5)).unwrap();
        assert_eq!(cursor.map(|c| (c.incarnation, c.seq)), Some((run(5), 1)));
        assert!(
            dropped.remove.is_empty(),
            "routes kept across a reconnection"
        );
    }

    #[test]
    fn repeats_are_ignored_and_gaps_refused() {
        let mut copy = PeerRoutes::default();
        copy.open(run(5)).unwrap();
        copy.snapshot(run(5), 3, ["a".into()], vec![]).unwrap();
        assert_eq!(
            copy.change(run(5), add(3, "x")).unwrap(),
            RouterChanges::default()
        );
        assert_eq!(
            copy.change(run(5), add(5, "x")),
            Err(RouteStreamError::Gap {
                got: 5,
                recorded: 3
            })
        );
    }

    #[test]
    fn a_new_incarnation_drops_the_old_runs_routes() {
        let mut copy = PeerRoutes::default();
        copy.open(run(5)).unwrap();
        copy.snapshot(run(5), 2, ["a".into(), "b".into()], vec![])
            .unwrap();
        let (cursor, dropped) = copy.open(run(9)).unwrap();
        assert_eq!(cursor, None, "nothing of the new run recorded");
        assert_eq!(dropped.remove, vec!["a".to_owned(), "b".to_owned()]);
        assert!(matches!(
            copy.change(run(5), add(3, "c")),
            Err(RouteStreamError::WrongIncarnation { .. })
        ));
        assert!(matches!(
            copy.open(run(5)),
            Err(RouteStreamError::StaleIncarnation { .. })
        ));
        assert_eq!(
            copy.snapshot(run(9), 1, ["b".into()], vec![]).unwrap(),
            adds(&["b"])
        );
    }

    #[test]
    fn a_snapshot_part_keeps_the_routes_and_follows_its_snapshot() {
        let mut copy = PeerRoutes::default();
        copy.open(run(1)).unwrap();
        copy.snapshot(run(1), 4, ["a".into()], vec![]).unwrap();
        assert_eq!(
            copy.snapshot_part(run(1), 4, vec![]).unwrap(),
            RouterChanges::default()
        );
        assert_eq!(copy.len(), 1);
        assert!(matches!(
            copy.snapshot_part(run(1), 3, vec![]),
            Err(RouteStreamError::Gap { .. })
        ));
    }

    #[test]
    fn a_snapshot_replaces_the_copy() {
        let mut copy = PeerRoutes::default();
        copy.open(run(1)).unwrap();
        copy.snapshot(run(1), 2, ["a".into(), "b".into()], vec![])
            .unwrap();
        let changes = copy
            .snapshot(run(1), 7, ["b".into(), "c".into()], vec![])
            .unwrap();
        assert_eq!(changes.add, vec!["c".to_owned()]);
        assert_eq!(changes.remove, vec!["a".to_owned()]);
    }
}
