//! The seam between one node and its cluster: the [`ClusterLink`] trait, and [`Standalone`],
//! the link of a node that has no peers.
//!
//! `broker-cluster` implements the trait over gRPC (`GrpcLink`). The runtime calls it at
//! these points, none of them on the publish path:
//!
//! - **Route changes**, synchronously, from the SUBSCRIBE and UNSUBSCRIBE paths (and a session's
//!   end): [`ClusterLink::add_route`] when a filter gets its first local subscriber, which
//!   returns a [`RouteAck`] the SUBSCRIBE awaits before its SUBACK, and
//!   [`ClusterLink::remove_route`] when the last one leaves.
//! - **Forwarding**: a peer is one more subscriber of the router, under the filters the peer
//!   announced (the link reports them with `BrokerHandle::add_peer_route`). A publish pushes
//!   one copy per interested node into that node's bounded outbox, as it pushes into a
//!   client's mailbox; one task per peer drains the outbox and calls
//!   [`ClusterLink::forward`]. A full outbox applies the queue's overflow policy, as a slow
//!   client's mailbox does.
//! - **Takeover**: [`ClusterLink::take_over`] when a client identifier connects that another
//!   node may hold.
//! - **Retained messages**, synchronously, from the retained-store change path (a retained
//!   PUBLISH, a will, an admin delete; never a non-retained publish):
//!   [`ClusterLink::retained_changed`] with each change this node made, stamped
//!   ([`RetainedStamp`]: wall-clock milliseconds, then the node's name). The link applies its
//!   peers' changes with `BrokerHandle::apply_peer_retained`, which keeps the newest stamp
//!   per topic (last writer wins, clears included) and delivers nothing.
//!
//! A node whose link has no peers ([`ClusterLink::peers`] empty, as [`Standalone`]) calls
//! nothing: no outbox, no route bookkeeping, nothing added to a publish.
//!
//! **Peers that come and go.** A link whose peers are found during the run (DNS discovery)
//! says so with [`ClusterLink::dynamic_peers`]: the runtime then keeps its cluster side even
//! with no peer at start, and the link adds and removes peers with `BrokerHandle::add_peer`
//! and `BrokerHandle::remove_peer` (an outbox and its task each; a removed peer's routes
//! leave the router and what its outbox held is dropped).

use std::fmt;
use std::future::Future;
use std::pin::Pin;

use async_trait::async_trait;
use thiserror::Error;

use crate::types::{ClientId, TopicFilter};

mod forwarded;
mod moved_session;
mod retained_change;

pub use forwarded::Forwarded;
pub use moved_session::MovedSession;
pub use retained_change::{RetainedChange, RetainedStamp};

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

/// A peer node's name in the cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerName(String);

impl PeerName {
    /// The peer called `name`.
    #[must_use]
    pub fn new(name: impl Into<String>) -> Self {
        PeerName(name.into())
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for PeerName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The completion of a route announcement: ready at once, or a future that resolves once
/// every reachable peer has recorded the route. The SUBSCRIBE that caused it awaits it before
/// its SUBACK, so that a publish on any node after the SUBACK reaches the subscriber. The
/// announcement itself is made by [`ClusterLink::add_route`]: dropping its `RouteAck` (a
/// route restored at start, which no SUBACK waits for) does not withdraw it.
#[must_use = "a SUBACK must wait for the route"]
pub struct RouteAck(Option<AckFuture>);

/// The future a pending [`RouteAck`] waits on.
type AckFuture = Pin<Box<dyn Future<Output = Result<(), ClusterError>> + Send>>;

impl RouteAck {
    /// Recorded already (or nobody to tell): nothing to wait for, nothing allocated.
    pub fn ready() -> Self {
        RouteAck(None)
    }

    /// Recorded once `done` resolves.
    pub fn pending(done: impl Future<Output = Result<(), ClusterError>> + Send + 'static) -> Self {
        RouteAck(Some(Box::pin(done)))
    }

    /// Whether there is nothing to wait for.
    #[must_use]
    pub fn is_ready(&self) -> bool {
        self.0.is_none()
    }

    /// Waits until the peers have recorded the route.
    ///
    /// # Errors
    ///
    /// What the link reports: a peer unreachable, or no quorum.
    pub async fn wait(self) -> Result<(), ClusterError> {
        match self.0 {
            Some(done) => done.await,
            None => Ok(()),
        }
    }
}

impl fmt::Debug for RouteAck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("RouteAck")
            .field(&if self.is_ready() { "ready" } else { "pending" })
            .finish()
    }
}

/// What a node tells and asks its peers.
///
/// # Contract
///
/// - [`add_route`](Self::add_route) and [`remove_route`](Self::remove_route) are called
///   synchronously, with no lock of the broker held; they must not block (queue the change
///   and return). For one filter they alternate, starting with `add_route`.
/// - [`forward`](Self::forward) is called by one task per peer, with the messages in the
///   order they were published on this node; it may wait (its peer's outbox fills up
///   meanwhile, bounded).
/// - No method is called when [`peers`](Self::peers) is empty and
///   [`dynamic_peers`](Self::dynamic_peers) is `false`.
#[async_trait]
pub trait ClusterLink: Send + Sync + 'static {
    /// This node's name in the cluster.
    fn node_name(&self) -> &str;

    /// The peers this node forwards to, read once when the broker starts. Empty (and no
    /// [`dynamic_peers`](Self::dynamic_peers)): the node runs alone and the runtime calls
    /// nothing else.
    fn peers(&self) -> Vec<PeerName>;

    /// Whether peers may join and leave during the run (found by discovery): the runtime then
    /// keeps its cluster side even while [`peers`](Self::peers) is empty, and the link reports
    /// each peer that joins or leaves with `BrokerHandle::add_peer` and
    /// `BrokerHandle::remove_peer`. `false` by default: the peers read at start are the
    /// node's peers for its run.
    fn dynamic_peers(&self) -> bool {
        false
    }

    /// This node has a local subscriber for `filter` now (its first).
    fn add_route(&self, filter: &TopicFilter) -> RouteAck;

    /// This node has no local subscriber for `filter` any more.
    fn remove_route(&self, filter: &TopicFilter);

    /// This node changed a retained message (set or cleared it, [`RetainedChange`]), with no
    /// lock of the broker held. Must not block: queue the change and return. Changes of one
    /// topic may arrive out of order when made at once; their stamps order them. The default
    /// does nothing (a link that does not share retained messages).
    fn retained_changed(&self, change: &RetainedChange) {
        let _ = change;
    }

    /// Sends `messages`, published on this node, to `peer`, in order.
    async fn forward(&self, peer: &PeerName, messages: Vec<Forwarded>) -> Result<(), ClusterError>;

    /// `client_id` connects here and no connection of this node holds it: the node holding
    /// it, if any, closes that connection (v5 DISCONNECT 0x8E) and hands its session over
    /// with its queued messages, which are returned (a peer does that with
    /// `BrokerHandle::hand_over_session`). `Ok(None)`: no other node holds it.
    async fn take_over(&self, client_id: &ClientId) -> Result<Option<MovedSession>, ClusterError>;
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

    fn peers(&self) -> Vec<PeerName> {
        Vec::new()
    }

    fn add_route(&self, _filter: &TopicFilter) -> RouteAck {
        RouteAck::ready()
    }

    fn remove_route(&self, _filter: &TopicFilter) {}

    async fn forward(
        &self,
        _peer: &PeerName,
        _messages: Vec<Forwarded>,
    ) -> Result<(), ClusterError> {
        Ok(())
    }

    async fn take_over(&self, _client_id: &ClientId) -> Result<Option<MovedSession>, ClusterError> {
        Ok(None)
    }
}
