//! What the cluster asks of the runtime.

use async_trait::async_trait;

use super::NodeId;
use crate::session::Message;
use crate::store::StoredSession;
use crate::types::{ClientId, TopicFilter};

/// The runtime as a cluster link sees it: given to the link once, at start
/// ([`ClusterLink::attach`](super::ClusterLink::attach)).
///
/// The route methods are synchronous and short (one change of the router's subscription
/// tree); a link may call them from any task, never while it holds a lock that a runtime call
/// into the link can wait for.
#[async_trait]
pub trait ClusterHost: Send + Sync + 'static {
    /// `peer` has subscribers for `filter` now: a publish on this node that matches it sends
    /// one copy to `peer`, however many of its routes match.
    fn peer_route_added(&self, peer: NodeId, filter: TopicFilter);

    /// `peer` has no subscriber for `filter` any more.
    fn peer_route_removed(&self, peer: NodeId, filter: &TopicFilter);

    /// Every route of `peer` is removed: it left the cluster, or its full set of routes
    /// follows.
    fn peer_routes_cleared(&self, peer: NodeId);

    /// Messages `from` forwarded, to this node's local subscribers only (they are never
    /// forwarded again). Returns once every copy is queued; while a subscriber's queue is full
    /// it waits, as a local publisher does, so the link's flow control reaches the peer.
    async fn deliver(&self, from: NodeId, messages: Vec<Message>);

    /// `client_id` connects on node `to`: if this node holds its session, the connection
    /// closes (MQTT 5: DISCONNECT 0x8E) and the session is returned to be handed over; `None`
    /// if this node holds no session for it.
    async fn hand_over(&self, client_id: &ClientId, to: NodeId) -> Option<StoredSession>;
}
