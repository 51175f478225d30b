//! The seam between one node and its cluster.
//!
//! - [`ClusterLink`]: what the runtime asks of the cluster: announce this node's routes, forward
//!   messages published here to the peers that have subscribers for them, take a client over
//!   from the node that holds it.
//! - [`ClusterHost`]: what the cluster asks of the runtime, handed to the link once at start
//!   ([`ClusterLink::attach`]): record a peer's routes, deliver the messages a peer forwarded,
//!   hand a local session over to a peer.
//! - [`Standalone`]: the link of a node without peers, the default. It costs nothing: the
//!   runtime asks [`ClusterLink::has_peers`] once and then skips every other call.
//!
//! # How the runtime calls the link
//!
//! No call to the link is on the publish path. A peer with a route is one more kind of
//! subscriber in the router's subscription tree (a node, beside the local sessions): a publish
//! that matches it puts one copy for that node (however many of its subscriptions match) into
//! the node's bounded outbox, under the same backpressure as a local subscriber's queue. One
//! task per peer drains the outbox in batches into [`ClusterLink::forward`].
//!
//! Route changes are announced from the SUBSCRIBE and UNSUBSCRIBE paths:
//! [`ClusterLink::route_added`] when the first local subscription of a filter appears,
//! [`ClusterLink::route_removed`] when its last one goes. Both are synchronous: the link
//! queues the change for its peers. `route_added` returns a [`RouteAck`], which the SUBSCRIBE
//! path awaits before its SUBACK, so that a publish on any node after the SUBACK reaches the
//! subscriber; a link without peers returns [`RouteAck::done`], which costs nothing.
//!
//! # The contract every link keeps
//!
//! - Route changes of one filter reach every peer in the order they were made; a peer that
//!   was unreachable gets the full set when it returns.
//! - A [`RouteAck`] completes once every reachable peer has recorded the route, or with an
//!   error after a bounded wait (an unreachable peer never holds a SUBACK back for long).
//! - `forward` delivers a batch to one peer at most once per call; an error means the batch
//!   may or may not have arrived.
//! - `take_over` returns the session of the node that held the client identifier
//!   ([`StoredSession`](crate::store::StoredSession), in its versioned byte form on the wire),
//!   after that node closed the client's connection (MQTT 5: DISCONNECT 0x8E).
//! - A link never calls into the runtime while it holds a lock of its own that a runtime call
//!   can wait for, and never panics on what a peer sends.

mod error;
mod host;
mod link;
mod node_id;
mod route_ack;
mod standalone;

pub use error::ClusterError;
pub use host::ClusterHost;
pub use link::ClusterLink;
pub use node_id::NodeId;
pub use route_ack::RouteAck;
pub use standalone::Standalone;

#[cfg(test)]
mod cluster_test;
