//! Why a cluster operation failed.

use thiserror::Error;

use super::NodeId;

/// Why a cluster operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClusterError {
    /// A peer that had to answer did not, in time.
    #[error("peer {peer} unreachable: {reason}")]
    PeerUnreachable {
        /// The peer.
        peer: NodeId,
        /// What happened.
        reason: String,
    },
    /// This node is on the minority side of a partition: it admits no new client identifiers
    /// and changes no persistent session until it rejoins.
    #[error("no quorum: this node is cut off from the majority of the cluster")]
    NoQuorum,
    /// The link is shutting down.
    #[error("the cluster link is shutting down")]
    ShuttingDown,
}
