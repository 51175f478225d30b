//! [`Membership`]: who this node is, which cluster it belongs to and which peers it knows;
//! it writes the [`Header`] of every request this node sends and checks the one of every
//! request it receives.
//!
//! A refused request is logged here, once per request, with what was expected and what came,
//! and counted in `skein_cluster_requests_refused_total{reason}`.
//!
//! With DNS discovery the peers change during the run: a Hello that names no target asks
//! "who are you?" and is answered to any node of this cluster, so that a discovered address
//! can be dialed before its name is known; every other request must come from a peer
//! discovery added, and a stranger's request wakes discovery (it may have just started).

use std::sync::{PoisonError, RwLock, RwLockReadGuard};

use tokio::sync::Notify;
use tonic::Status;

use crate::cluster_config::ClusterConfig;
use crate::cluster_id::ClusterId;
use crate::incarnation::Incarnation;
use crate::node_name::NodeName;
use crate::proto::Header;

/// This node's identity in its cluster, and its peers' names.
#[derive(Debug)]
pub(crate) struct Membership {
    cluster_id: ClusterId,
    node: NodeName,
    incarnation: Incarnation,
    peers: RwLock<Vec<NodeName>>,
    /// Whether peers are discovered (the list changes during the run).
    discovers: bool,
    /// Woken when a stranger of this cluster calls, while discovering.
    stranger: Notify,
}

/// The sender of a request that passed the check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Sender {
    /// Its name, one of the peers.
    pub(crate) node: NodeName,
    /// Its run.
    pub(crate) incarnation: Incarnation,
}

impl Membership {
    /// The membership `config` describes, in run `incarnation`.
    pub(crate) fn new(config: &ClusterConfig, incarnation: Incarnation) -> Self {
        Membership {
            cluster_id: config.cluster_id.clone(),
            node: config.node.clone(),
            incarnation,
            peers: RwLock::new(config.peers.iter().map(|peer| peer.name.clone()).collect()),
            discovers: config.discovery.is_some(),
            stranger: Notify::new(),
        }
    }

    fn peers(&self) -> RwLockReadGuard<'_, Vec<NodeName>> {
        self.peers.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// `peer` is a member from now on (discovered).
    pub(crate) fn add_peer(&self, peer: NodeName) {
        let mut peers = self.peers.write().unwrap_or_else(PoisonError::into_inner);
        if !peers.contains(&peer) {
            peers.push(peer);
        }
    }

    /// `peer` is no longer a member (discovery lost it).
    pub(crate) fn remove_peer(&self, peer: &NodeName) {
        self.peers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|p| p != peer);
    }

    /// Wakes when a node of this cluster that is not a member yet calls (discovering only).
    pub(crate) fn stranger(&self) -> &Notify {
        &self.stranger
    }

    /// The header of a Hello to an address whose node is not known yet: it names no target.
    pub(crate) fn hello_header(&self) -> Header {
        Header {
            cluster_id: self.cluster_id.as_str().to_owned(),
            from_node: self.node.as_str().to_owned(),
            to_node: String::new(),
            incarnation: self.incarnation.get(),
        }
    }

    /// Checks a Hello's `header`: as [`check`](Self::check), except that while discovering,
    /// a Hello that names no target, or comes from a node of this cluster that is not a
    /// member yet, is answered (it only asks this node's name).
    pub(crate) fn check_hello(&self, header: Option<&Header>) -> Result<(), Status> {
        match header {
            Some(header) if self.discovers && header.cluster_id == self.cluster_id.as_str() => {
                if !header.to_node.is_empty() && header.to_node != self.node.as_str() {
                    return self.check("Hello", Some(header)).map(drop);
                }
                let member = header.from_node == self.node.as_str()
                    || self.peers().iter().any(|p| p.as_str() == header.from_node);
                if !member {
                    self.stranger.notify_one();
                }
                Ok(())
            }
            _ => self.check("Hello", header).map(drop),
        }
    }

    /// This node's name.
    pub(crate) fn node(&self) -> &NodeName {
        &self.node
    }

    /// This node's run.
    pub(crate) fn incarnation(&self) -> Incarnation {
        self.incarnation
    }

    /// The header of a request to `peer`.
    pub(crate) fn header(&self, peer: &NodeName) -> Header {
        Header {
            cluster_id: self.cluster_id.as_str().to_owned(),
            from_node: self.node.as_str().to_owned(),
            to_node: peer.as_str().to_owned(),
            incarnation: self.incarnation.get(),
        }
    }

    /// Checks a received request's `header`: this cluster, this node, a known peer. A refusal
    /// is logged and counted, and returned as the status to answer.
    pub(crate) fn check(&self, rpc: &str, header: Option<&Header>) -> Result<Sender, Status> {
        let Some(header) = header else {
            return Err(self.refuse(rpc, "no_header", "the request has no header".into()));
        };
        if header.cluster_id != self.cluster_id.as_str() {
            let why = format!(
                "node {:?} is configured for cluster {:?}, this node {} belongs to cluster {:?}",
                header.from_node,
                header.cluster_id,
                self.node,
                self.cluster_id.as_str()
            );
            return Err(self.refuse(rpc, "cluster_id", why));
        }
        if header.to_node != self.node.as_str() {
            let why = format!(
                "node {:?} meant to reach node {:?}, but this is node {}: check its peer list",
                header.from_node, header.to_node, self.node
            );
            return Err(self.refuse(rpc, "target_node", why));
        }
        let Some(node) = self
            .peers()
            .iter()
            .find(|p| p.as_str() == header.from_node)
            .cloned()
        else {
            if self.discovers {
                self.stranger.notify_one();
                let why = format!(
                    "node {:?} is not discovered yet by node {}; it retries",
                    header.from_node, self.node
                );
                return Err(Status::unavailable(why));
            }
            let why = format!(
                "node {:?} is not in the peer list of node {}",
                header.from_node, self.node
            );
            return Err(self.refuse(rpc, "unknown_peer", why));
        };
        Ok(Sender {
            node,
            incarnation: Incarnation::from_wire(header.incarnation),
        })
    }

    fn refuse(&self, rpc: &str, reason: &'static str, why: String) -> Status {
        tracing::warn!(rpc, reason, "Refused a cluster request: {why}.");
        metrics::counter!("skein_cluster_requests_refused_total", "reason" => reason).increment(1);
        Status::permission_denied(format!("refused by cluster node {}: {why}", self.node))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn membership(node: &str, cluster: &str, peers: &[&str]) -> Membership {
        let peers = peers
            .iter()
            .map(|p| format!("{p}=127.0.0.1:1").parse().unwrap())
            .collect();
        let config = ClusterConfig::new(
            NodeName::new(node).unwrap(),
            ClusterId::new(cluster).unwrap(),
            "127.0.0.1:0".parse().unwrap(),
            peers,
        )
        .unwrap();
        Membership::new(&config, Incarnation::from_wire(42))
    }

    #[test]
    fn a_peer_of_the_same_cluster_is_accepted() {
        let a = membership("a", "prod", &["b"]);
        let b = membership("b", "prod", &["a"]);
        let header = a.header(b.node());
        let sender = b.check("Hello", Some(&header)).unwrap();
        assert_eq!(sender.node.as_str(), "a");
        assert_eq!(sender.incarnation, Incarnation::from_wire(42));
    }

    #[test]
    fn another_cluster_another_target_or_a_stranger_is_refused() {
        let b = membership("b", "prod", &["a"]);
        let other = membership("a", "staging", &["b"]);
        let refused = b.check("Hello", Some(&other.header(b.node()))).unwrap_err();
        assert_eq!(refused.code(), tonic::Code::PermissionDenied);
        assert!(
            refused.message().contains("\"staging\""),
            "{}",
            refused.message()
        );
        let a = membership("a", "prod", &["b", "c"]);
        let to_c = a.header(&NodeName::new("c").unwrap());
        assert!(b.check("Hello", Some(&to_c)).is_err());
        let stranger = membership("x", "prod", &["b"]);
        assert!(b.check("Hello", Some(&stranger.header(b.node()))).is_err());
        assert!(b.check("Hello", None).is_err());
    }

    #[test]
    fn a_discovering_node_tells_its_name_to_a_stranger_but_takes_nothing_else() {
        let config = ClusterConfig::new(
            NodeName::new("b").unwrap(),
            ClusterId::new("prod").unwrap(),
            "127.0.0.1:0".parse().unwrap(),
            Vec::new(),
        )
        .unwrap()
        .with_discovery(crate::dns_discovery::DnsDiscovery::new("skein", 7400).unwrap());
        let b = Membership::new(&config, Incarnation::from_wire(7));
        let a = membership("a", "prod", &[]);
        assert!(b.check_hello(Some(&a.hello_header())).is_ok());
        let routes = b.check("Routes", Some(&a.header(b.node()))).unwrap_err();
        assert_eq!(
            routes.code(),
            tonic::Code::Unavailable,
            "not discovered yet"
        );
        b.add_peer(NodeName::new("a").unwrap());
        assert!(b.check("Routes", Some(&a.header(b.node()))).is_ok());
        b.remove_peer(&NodeName::new("a").unwrap());
        assert!(b.check("Routes", Some(&a.header(b.node()))).is_err());
        let other = membership("a", "staging", &[]);
        assert!(b.check_hello(Some(&other.hello_header())).is_err());
        let to_c = a.header(&NodeName::new("c").unwrap());
        assert!(b.check_hello(Some(&to_c)).is_err());
    }
}
