//! [`ClusterView`]: a started node's window on its cluster, for the admin API and the
//! metrics endpoint: [`ClusterView::status`] takes a [`ClusterStatus`],
//! [`ClusterView::record_metrics`] copies its figures into the `metrics` gauges.

use std::sync::Arc;

use broker_core::BrokerHandle;

use crate::cluster_status::{ClusterStatus, PeerReport, PeerState};
use crate::link_state::LinkState;
use crate::peer::{Attempt, Peer};
use crate::peer_status::StreamState;

/// A cheap handle on a started node's cluster state.
#[derive(Debug, Clone)]
pub struct ClusterView {
    state: Arc<LinkState>,
    handle: BrokerHandle,
}

impl ClusterView {
    pub(crate) fn new(state: Arc<LinkState>, handle: BrokerHandle) -> Self {
        ClusterView { state, handle }
    }

    /// The cluster as this node sees it now.
    #[must_use]
    pub fn status(&self) -> ClusterStatus {
        let (routes, route_seq) = self.state.own_routes();
        let mut peers: Vec<PeerReport> = self
            .state
            .peers()
            .iter()
            .map(|peer| self.report(peer, route_seq))
            .collect();
        peers.extend(self.state.unnamed().into_iter().map(|unnamed| {
            let (state, error) = attempt_state(unnamed.attempt);
            PeerReport {
                name: None,
                address: unnamed.address,
                state,
                incarnation: None,
                routes: 0,
                route_lag: 0,
                forward_queue: 0,
                error,
            }
        }));
        let membership = &self.state.membership;
        ClusterStatus {
            node: membership.node().clone(),
            cluster_id: self.state.config.cluster_id.clone(),
            incarnation: membership.incarnation(),
            discovery: self.state.config.discovery.clone(),
            routes,
            route_seq,
            peers,
        }
    }

    fn report(&self, peer: &Peer, route_seq: u64) -> PeerReport {
        let status = *peer.status.borrow();
        let (state, error) = if status.state == StreamState::Down {
            attempt_state(peer.attempt())
        } else {
            (PeerState::Connected, None)
        };
        let name = &peer.config.name;
        PeerReport {
            name: Some(name.clone()),
            address: peer.config.address.clone(),
            state,
            incarnation: peer.incarnation(),
            routes: self.state.peer_route_count(name),
            route_lag: route_seq.saturating_sub(status.acked),
            forward_queue: self.handle.peer_outbox_depth(&name.to_peer()).unwrap_or(0),
            error,
        }
    }

    /// Copies the peers' figures into the gauges `skein_cluster_peers{state}`,
    /// `skein_cluster_peer_routes{peer}`, `skein_cluster_peer_route_lag{peer}` and
    /// `skein_cluster_peer_forward_queue{peer}` (call it before each scrape).
    pub fn record_metrics(&self) {
        let status = self.status();
        for state in [
            PeerState::Connected,
            PeerState::Connecting,
            PeerState::Refused,
            PeerState::Down,
        ] {
            let count = status.peers.iter().filter(|p| p.state == state).count();
            metrics::gauge!("skein_cluster_peers", "state" => state.as_str()).set(count as f64);
        }
        metrics::gauge!("skein_cluster_routes").set(status.routes as f64);
        for peer in &status.peers {
            let Some(name) = &peer.name else { continue };
            let label = name.to_string();
            metrics::gauge!("skein_cluster_peer_routes", "peer" => label.clone())
                .set(peer.routes as f64);
            metrics::gauge!("skein_cluster_peer_route_lag", "peer" => label.clone())
                .set(peer.route_lag as f64);
            metrics::gauge!("skein_cluster_peer_forward_queue", "peer" => label)
                .set(peer.forward_queue as f64);
        }
    }
}

/// The state and error a down peer's last attempt stands for.
fn attempt_state(attempt: Attempt) -> (PeerState, Option<String>) {
    match attempt {
        Attempt::Pending => (PeerState::Connecting, None),
        Attempt::Refused(why) => (PeerState::Refused, Some(why)),
        Attempt::Failed(why) => (PeerState::Down, Some(why)),
    }
}
