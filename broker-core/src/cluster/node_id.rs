//! A node's identity in its cluster.

use std::fmt;

/// A node's identity in its cluster: a random 64-bit number, drawn once and kept with the
/// node's data, so that a node that restarts on its data is the same node and one that starts
/// on an empty volume is a new one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(u64);

impl NodeId {
    /// The node numbered `id`.
    #[must_use]
    pub const fn new(id: u64) -> Self {
        NodeId(id)
    }

    /// The number.
    #[must_use]
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}
