//! [`Cursor`] and [`RouteChange`]: positions in, and entries of, one node's stream of route
//! changes.

use crate::incarnation::Incarnation;

/// A position in one owner's stream of route changes: its run and the number of its last
/// change (0: none yet). Numbers start at 1 in each run and grow by one per change.
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
