//! [`Cursor`] and [`Change`]: positions in, and entries of, one node's stream of changes
//! (its routes and its retained messages, numbered in one sequence).

use broker_core::cluster::RetainedChange;

use crate::incarnation::Incarnation;

/// A position in one owner's stream of changes: its run and the number of its last change
/// (0: none yet). Numbers start at 1 in each run and grow by one per change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cursor {
    /// The owner's run.
    pub(crate) incarnation: Incarnation,
    /// The last change.
    pub(crate) seq: u64,
}

/// What a route change does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RouteOp {
    /// The owner has a subscriber for the filter now.
    Add,
    /// The owner has none any more.
    Remove,
}

/// One change of an owner's routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RouteChange {
    /// Its number in the owner's run.
    pub(crate) seq: u64,
    /// Add or remove.
    pub(crate) op: RouteOp,
    /// The topic filter, `$share/<group>/...` for a shared subscription.
    pub(crate) filter: String,
}

/// One retained change the owner made, numbered in its stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetainedEntry {
    /// Its number in the owner's run.
    pub(crate) seq: u64,
    /// The change, stamped; `None` on the receiving side for an entry with nothing to apply
    /// (its message expired before it was sent, or it was invalid).
    pub(crate) change: Option<RetainedChange>,
}

/// One entry of an owner's stream.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Change {
    /// A route added or removed.
    Route(RouteChange),
    /// A retained message set or cleared.
    Retained(Box<RetainedEntry>),
}

impl Change {
    /// Its number in the owner's run.
    pub(crate) fn seq(&self) -> u64 {
        match self {
            Change::Route(change) => change.seq,
            Change::Retained(entry) => entry.seq,
        }
    }
}
