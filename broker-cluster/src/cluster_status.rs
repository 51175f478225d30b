//! [`ClusterStatus`]: the cluster as one node sees it at one moment: the node itself, and
//! for each peer its state, its run, its routes and how far behind it is
//! ([`ClusterView::status`](crate::ClusterView::status) takes it; `skein cluster status`
//! shows it).

use std::fmt;

use crate::cluster_id::ClusterId;
use crate::dns_discovery::DnsDiscovery;
use crate::incarnation::Incarnation;
use crate::node_name::NodeName;

/// The cluster as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterStatus {
    /// This node's name.
    pub node: NodeName,
    /// The cluster's id.
    pub cluster_id: ClusterId,
    /// This node's run.
    pub incarnation: Incarnation,
    /// How the peers are found besides the list, if they are.
    pub discovery: Option<DnsDiscovery>,
    /// How many filters this node routes to itself (its own routes).
    pub routes: usize,
    /// The number of this node's last route change in this run.
    pub route_seq: u64,
    /// The peers: listed and discovered ones by name, then the addresses discovery found that
    /// did not name themselves (unreachable, or refusing this node).
    pub peers: Vec<PeerReport>,
}

/// One peer as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerReport {
    /// Its name; `None` for an address that did not say it.
    pub name: Option<NodeName>,
    /// Its cluster endpoint, `host:port`.
    pub address: String,
    /// Where this node's connection to it stands.
    pub state: PeerState,
    /// Its run, as its last hello said.
    pub incarnation: Option<Incarnation>,
    /// How many filters it routes to itself, as this node recorded them.
    pub routes: usize,
    /// This node's route changes it has not acknowledged yet (all of them while no stream
    /// is open).
    pub route_lag: u64,
    /// Messages waiting in its outbox to be forwarded to it.
    pub forward_queue: usize,
    /// Why the last attempt failed, while it is not connected.
    pub error: Option<String>,
}

/// Where this node's connection to a peer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerState {
    /// The route stream is open.
    Connected,
    /// No attempt ended yet.
    Connecting,
    /// The peer answered but refused this node (another cluster id, another name), or
    /// another node answered at its address.
    Refused,
    /// The peer could not be reached, or its stream broke; retried.
    Down,
}

impl PeerState {
    /// The state's name: `connected`, `connecting`, `refused` or `down`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PeerState::Connected => "connected",
            PeerState::Connecting => "connecting",
            PeerState::Refused => "refused",
            PeerState::Down => "down",
        }
    }
}

impl fmt::Display for PeerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
