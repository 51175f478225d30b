//! The seam between one node and its cluster: the [`ClusterLink`] trait, and [`Standalone`],
//! the link of a node that has no peers.
//!
//! `broker-cluster` implements the trait over gRPC. The runtime calls it at four points: when
//! the first local subscriber of a filter appears or the last one leaves (route changes), when
//! a client publishes (forwarding, one copy per interested node), and when a client
//! identifier connects that another node may hold (takeover).

use async_trait::async_trait;
use thiserror::Error;

use crate::session::Message;
use crate::store::StoredSession;
use crate::types::{ClientId, TopicFilter};

/// Why a cluster operation failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ClusterError {
    /// A peer that had to answer did not, in time.
    #[error("peer {peer} unreachable: {reason}")]
    PeerUnreachable {
        /// The peer's name.
        peer: String,
        /// What happened.
        reason: String,
    },
    /// This node is on the minority side of a partition: it admits no new client identifiers
    /// and changes no persistent session until it rejoins.
    #[error("no quorum: this node is cut off from the majority of the cluster")]
    NoQuorum,
}

/// What a node tells and asks its peers.
#[async_trait]
pub trait ClusterLink: Send + Sync + 'static {
    /// This node's name in the cluster.
    fn node_name(&self) -> &str;

    /// Whether any peer exists; a node without peers skips the other calls.
    fn has_peers(&self) -> bool;

    /// This node has a subscriber for `filter` now. Returns once every reachable peer has
    /// recorded the route, so that a publish on any node after the SUBACK reaches it.
    async fn add_route(&self, filter: &TopicFilter) -> Result<(), ClusterError>;

    /// This node has no subscriber for `filter` any more.
    async fn remove_route(&self, filter: &TopicFilter) -> Result<(), ClusterError>;

    /// Sends `message`, published on this node, to every peer with a matching route (one copy
    /// per node). Returns how many nodes it went to.
    async fn forward(&self, message: &Message) -> Result<usize, ClusterError>;

    /// `client_id` connects here: the node holding it, if any, closes that connection (v5
    /// DISCONNECT 0x8E) and hands its session over, which is returned.
    async fn take_over(&self, client_id: &ClientId) -> Result<Option<StoredSession>, ClusterError>;
}

/// The link of a node that runs alone: no peers, so every route change is acknowledged at
/// once, nothing is forwarded and no other node holds a client identifier.
#[derive(Debug, Clone, Default)]
pub struct Standalone {
    name: String,
}

impl Standalone {
    /// A lone node called `name`.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        Standalone { name: name.into() }
    }
}

#[async_trait]
impl ClusterLink for Standalone {
    fn node_name(&self) -> &str {
        &self.name
    }

    fn has_peers(&self) -> bool {
        false
    }

    async fn add_route(&self, _filter: &TopicFilter) -> Result<(), ClusterError> {
        Ok(())
    }

    async fn remove_route(&self, _filter: &TopicFilter) -> Result<(), ClusterError> {
        Ok(())
    }

    async fn forward(&self, _message: &Message) -> Result<usize, ClusterError> {
        Ok(0)
    }

    async fn take_over(
        &self,
        _client_id: &ClientId,
    ) -> Result<Option<StoredSession>, ClusterError> {
        Ok(None)
    }
}
