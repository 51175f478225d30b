//! What the runtime asks of the cluster.

use std::sync::Arc;

use async_trait::async_trait;

use super::{ClusterError, ClusterHost, NodeId, RouteAck};
use crate::session::Message;
use crate::store::StoredSession;
use crate::types::{ClientId, TopicFilter};

/// What a node tells and asks its peers. The contract is in the [`cluster`](super) module;
/// `broker-cluster` implements it over gRPC.
#[async_trait]
pub trait ClusterLink: Send + Sync + 'static {
    /// This node's identity.
    fn node(&self) -> NodeId;

    /// Whether this node has peers at all. When it has none, the runtime makes no other
    /// call: no route is announced and nothing is forwarded.
    fn has_peers(&self) -> bool;

    /// Called once, when the broker starts and before any other call but [`Self::node`] and
    /// [`Self::has_peers`]: where the link delivers what its peers send.
    fn attach(&self, host: Arc<dyn ClusterHost>);

    /// This node has a subscriber for `filter` now (its first). Queues the route for every
    /// peer and returns at once; the [`RouteAck`] completes when every reachable peer has
    /// recorded it, or with an error after a bounded wait.
    fn route_added(&self, filter: &TopicFilter) -> RouteAck;

    /// This node has no subscriber for `filter` any more. Queued for every peer, like
    /// [`Self::route_added`]; nothing waits for it.
    fn route_removed(&self, filter: &TopicFilter);

    /// Sends messages published on this node to `peer`, which has routes for each of them
    /// (one copy per node: the peer matches them again against its own subscribers). Called
    /// by the runtime's task for that peer, one call at a time per peer, never on a
    /// publisher's path.
    async fn forward(&self, peer: NodeId, messages: &[Message]) -> Result<(), ClusterError>;

    /// `client_id` connects here: the node that holds it, if any, closes that connection
    /// (MQTT 5: DISCONNECT 0x8E) and hands its session over, which is returned.
    async fn take_over(&self, client_id: &ClientId) -> Result<Option<StoredSession>, ClusterError>;
}
