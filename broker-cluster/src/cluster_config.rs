//! [`ClusterConfig`]: what a node needs to join its cluster.

use std::net::SocketAddr;
use std::time::Duration;

use crate::cluster_id::ClusterId;
use crate::dns_discovery::DnsDiscovery;
use crate::error::ConfigError;
use crate::node_name::NodeName;
use crate::peer_config::PeerConfig;

/// How long a SUBACK waits, at most, for a connected peer to record a new route.
pub const DEFAULT_ROUTE_ACK_TIMEOUT: Duration = Duration::from_secs(2);

/// A node's cluster settings: its name, its cluster, where it serves gRPC, its peers (listed,
/// or found by DNS). Made by [`ClusterConfig::new`], which checks the peers
/// (`#[non_exhaustive]`: a setting can be added without breaking callers).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClusterConfig {
    /// This node's name.
    pub node: NodeName,
    /// The cluster's id, the same on every node.
    pub cluster_id: ClusterId,
    /// Where this node serves its peers (gRPC).
    pub bind: SocketAddr,
    /// The other nodes listed, fixed for the node's run.
    pub peers: Vec<PeerConfig>,
    /// Where more peers are found during the run, if anywhere.
    pub discovery: Option<DnsDiscovery>,
    /// How long a SUBACK waits, at most, for a connected peer that does not acknowledge a new
    /// route (then it is sent anyway, and counted).
    pub route_ack_timeout: Duration,
}

impl ClusterConfig {
    /// A node `node` of `cluster_id` serving at `bind`, with `peers`.
    ///
    /// # Errors
    ///
    /// [`ConfigError::DuplicatePeer`] when two peers share a name,
    /// [`ConfigError::PeerIsSelf`] when a peer has this node's name.
    pub fn new(
        node: NodeName,
        cluster_id: ClusterId,
        bind: SocketAddr,
        peers: Vec<PeerConfig>,
    ) -> Result<Self, ConfigError> {
        for (i, peer) in peers.iter().enumerate() {
            if peer.name == node {
                return Err(ConfigError::PeerIsSelf(node.to_string()));
            }
            if peers.iter().take(i).any(|other| other.name == peer.name) {
                return Err(ConfigError::DuplicatePeer(peer.name.to_string()));
            }
        }
        Ok(ClusterConfig {
            node,
            cluster_id,
            bind,
            peers,
            discovery: None,
            route_ack_timeout: DEFAULT_ROUTE_ACK_TIMEOUT,
        })
    }

    /// The same, with peers found by `discovery` too.
    #[must_use]
    pub fn with_discovery(mut self, discovery: DnsDiscovery) -> Self {
        self.discovery = Some(discovery);
        self
    }

    /// The same, with another bound on a SUBACK's wait.
    #[must_use]
    pub fn with_route_ack_timeout(mut self, timeout: Duration) -> Self {
        self.route_ack_timeout = timeout;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(text: &str) -> PeerConfig {
        text.parse().unwrap()
    }

    #[test]
    fn peers_are_other_nodes_each_listed_once() {
        let node = NodeName::new("a").unwrap();
        let id = ClusterId::new("prod").unwrap();
        let bind = "127.0.0.1:7400".parse().unwrap();
        let ok = ClusterConfig::new(node.clone(), id.clone(), bind, vec![peer("b=h:1")]);
        assert!(ok.is_ok());
        let twice = vec![peer("b=h:1"), peer("b=h:2")];
        assert_eq!(
            ClusterConfig::new(node.clone(), id.clone(), bind, twice),
            Err(ConfigError::DuplicatePeer("b".into()))
        );
        assert_eq!(
            ClusterConfig::new(node, id, bind, vec![peer("a=h:1")]),
            Err(ConfigError::PeerIsSelf("a".into()))
        );
    }
}
