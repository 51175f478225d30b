//! [`GrpcLink`]: broker-core's [`ClusterLink`] over gRPC.
//!
//! Built before the broker (the broker builder takes it), started after it
//! ([`GrpcLink::start`], which needs the broker's handle to record the peers' routes and
//! deliver their messages): route changes made before the start are kept and streamed once
//! the peers connect.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use broker_core::clock::{Clock as _, TokioClock};
use broker_core::cluster::{
    ClusterError, ClusterLink, Forwarded, MovedSession, PeerName, RetainedChange, RouteAck,
};
use broker_core::types::{ClientId, TopicFilter};
use broker_core::BrokerHandle;

use crate::cluster_config::ClusterConfig;
use crate::cluster_node::ClusterNode;
use crate::error::StartError;
use crate::forward_stream::StreamBroken;
use crate::incarnation::Incarnation;
use crate::link_state::LinkState;
use crate::node_name::NodeName;
use crate::peer::Peer;
use crate::peer_status::{wait_recorded, StreamState};
use crate::proto::ForwardBatch;
use crate::resolve::Resolve;
use crate::system_resolver::SystemResolver;
use crate::takeover;
use crate::wire_message::to_wire;

/// How long a forward waits for a peer whose route stream is down to come back before it
/// gives the batch up (the peer's outbox fills meanwhile, bounded by its overflow policy).
const FORWARD_WAIT_FOR_PEER: Duration = Duration::from_secs(5);

/// A node's link to its cluster over gRPC.
#[derive(Debug)]
pub struct GrpcLink {
    state: Arc<LinkState>,
    started: AtomicBool,
}

impl GrpcLink {
    /// The link of the node `config` describes, in a new run (incarnation) of it.
    #[must_use]
    pub fn new(config: ClusterConfig) -> Arc<Self> {
        Arc::new(GrpcLink {
            state: Arc::new(LinkState::new(config, Incarnation::now())),
            started: AtomicBool::new(false),
        })
    }

    /// This run's incarnation.
    #[must_use]
    pub fn incarnation(&self) -> Incarnation {
        self.state.membership.incarnation()
    }

    /// Serves the peers and connects to them, for the broker `handle` belongs to: binds the
    /// gRPC address, then streams this node's routes to every peer and records theirs.
    ///
    /// # Errors
    ///
    /// [`StartError::Bind`] when the address cannot be bound, [`StartError::AlreadyStarted`]
    /// on a second call.
    pub async fn start(&self, handle: BrokerHandle) -> Result<ClusterNode, StartError> {
        self.start_with_resolver(handle, Arc::new(SystemResolver::default()))
            .await
    }

    /// [`start`](Self::start), with the peers of a DNS discovery found by `resolver` rather
    /// than the system's resolver.
    ///
    /// # Errors
    ///
    /// As [`start`](Self::start).
    pub async fn start_with_resolver(
        &self,
        handle: BrokerHandle,
        resolver: Arc<dyn Resolve>,
    ) -> Result<ClusterNode, StartError> {
        if self.started.swap(true, Ordering::SeqCst) {
            return Err(StartError::AlreadyStarted);
        }
        ClusterNode::start(Arc::clone(&self.state), handle, resolver).await
    }

    fn peer(&self, name: &PeerName) -> Result<Arc<Peer>, ClusterError> {
        self.state
            .peer(name.as_str())
            .ok_or_else(|| ClusterError::PeerUnreachable {
                peer: name.to_string(),
                reason: "not a peer (not listed, or not discovered)".into(),
            })
    }
}

#[async_trait]
impl ClusterLink for GrpcLink {
    fn node_name(&self) -> &str {
        self.state.config.node.as_str()
    }

    fn peers(&self) -> Vec<PeerName> {
        self.state
            .peers()
            .iter()
            .map(|p| p.config.name.to_peer())
            .collect()
    }

    fn dynamic_peers(&self) -> bool {
        self.state.config.discovery.is_some()
    }

    fn add_route(&self, filter: &TopicFilter) -> RouteAck {
        let seq = self.state.add_own(filter.as_str());
        let waits: Vec<(NodeName, _)> = self
            .state
            .peers()
            .iter()
            .map(|p| (p.config.name.clone(), p.status.subscribe()))
            .collect();
        let bound = self.state.config.route_ack_timeout;
        RouteAck::pending(async move {
            let deadline = tokio::time::Instant::now() + bound;
            for (peer, status) in waits {
                let left = deadline.saturating_duration_since(tokio::time::Instant::now());
                wait_recorded(&peer, status, seq, left).await;
            }
            Ok(())
        })
    }

    fn remove_route(&self, filter: &TopicFilter) {
        self.state.remove_own(filter.as_str());
    }

    fn retained_changed(&self, change: &RetainedChange) {
        self.state.retained_own(change);
    }

    async fn forward(&self, peer: &PeerName, messages: Vec<Forwarded>) -> Result<(), ClusterError> {
        let target = self.peer(peer)?;
        let unreachable = |reason: String| ClusterError::PeerUnreachable {
            peer: peer.to_string(),
            reason,
        };
        let mut status = target.status.subscribe();
        let up = |s: &crate::peer_status::PeerStatus| s.state != StreamState::Down;
        if tokio::time::timeout(FORWARD_WAIT_FOR_PEER, status.wait_for(up))
            .await
            .is_err()
        {
            count_lost(peer, messages.len(), "peer_down");
            return Err(unreachable("no route stream to the peer".into()));
        }
        let now = TokioClock.now();
        let total = messages.len();
        let wire: Vec<_> = messages
            .iter()
            .filter_map(|m| {
                let mut wire = to_wire(&m.message, now)?;
                wire.shared_group = m.shared_group.as_ref().map(|g| g.as_str().to_owned());
                Some(wire)
            })
            .collect();
        count_lost(peer, total - wire.len(), "expired");
        let sent = wire.len();
        let batch = ForwardBatch {
            header: Some(self.state.membership.header(&target.config.name)),
            messages: wire,
        };
        // Answered later, on the stream: the answers count the messages forwarded.
        let outcome = match target.forward_stream().await {
            Ok(stream) => stream.send(batch, sent).await,
            Err(broken) => Err(broken),
        };
        outcome.map_err(|StreamBroken(reason)| {
            count_lost(peer, sent, "error");
            unreachable(reason)
        })
    }

    async fn take_over(&self, client_id: &ClientId) -> Result<Option<MovedSession>, ClusterError> {
        takeover::ask_peers(&self.state, client_id).await
    }
}

/// Counts `count` messages for `peer` that were not forwarded, and why.
fn count_lost(peer: &PeerName, count: usize, reason: &'static str) {
    if count > 0 {
        metrics::counter!(
            "skein_cluster_forward_dropped_total",
            "peer" => peer.to_string(),
            "reason" => reason
        )
        .increment(count as u64);
    }
}
