//! The link of a node without peers.

use std::sync::Arc;

use async_trait::async_trait;

use super::{ClusterError, ClusterHost, ClusterLink, NodeId, RouteAck};
use crate::session::Message;
use crate::store::StoredSession;
use crate::types::{ClientId, TopicFilter};

/// The link of a node that runs alone: no peers, so every route is known to all of them at
/// once, nothing is forwarded and no other node holds a client identifier. Its default identity
/// is node 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct Standalone {
    node: NodeId,
}

impl Standalone {
    /// A lone node with the identity `node`.
    #[must_use]
    pub const fn new(node: NodeId) -> Self {
        Standalone { node }
    }
}

#[async_trait]
impl ClusterLink for Standalone {
    fn node(&self) -> NodeId {
        self.node
    }

    fn has_peers(&self) -> bool {
        false
    }

    fn attach(&self, _host: Arc<dyn ClusterHost>) {}

    fn route_added(&self, _filter: &TopicFilter) -> RouteAck {
        RouteAck::done()
    }

    fn route_removed(&self, _filter: &TopicFilter) {}

    async fn forward(&self, peer: NodeId, _messages: &[Message]) -> Result<(), ClusterError> {
        Err(ClusterError::PeerUnreachable {
            peer,
            reason: "a standalone node has no peers".to_owned(),
        })
    }

    async fn take_over(
        &self,
        _client_id: &ClientId,
    ) -> Result<Option<StoredSession>, ClusterError> {
        Ok(None)
    }
}
