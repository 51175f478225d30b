//! The crate's errors: [`ConfigError`] for a configuration that cannot work, [`StartError`]
//! for a node that could not start its cluster endpoint.

use std::net::SocketAddr;

use thiserror::Error;

/// A cluster configuration that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    /// A node name breaks the naming rule.
    #[error("invalid node name {0:?}: use 1 to 64 ASCII letters, digits, '.', '_' or '-'")]
    InvalidNodeName(String),
    /// The cluster id breaks the naming rule.
    #[error("invalid cluster id {0:?}: use 1 to 64 ASCII letters, digits, '.', '_' or '-'")]
    InvalidClusterId(String),
    /// A peer is not written `name=host:port`.
    #[error("invalid peer {0:?}: write it as name=host:port")]
    InvalidPeer(String),
    /// Two peers have one name.
    #[error("peer {0} is listed twice")]
    DuplicatePeer(String),
    /// The node lists itself as a peer.
    #[error("node {0} lists itself as a peer")]
    PeerIsSelf(String),
    /// The discovery name is not a DNS host name.
    #[error("invalid DNS name {0:?}: use letters, digits, '-', '_' and '.'")]
    InvalidDnsName(String),
    /// Port 0 for the discovered peers.
    #[error("the discovered peers' port must not be 0")]
    InvalidPort,
}

/// Why the cluster endpoint did not start.
#[derive(Debug, Error)]
pub enum StartError {
    /// The gRPC address could not be bound.
    #[error("cannot bind the cluster address {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// What the system said.
        source: std::io::Error,
    },
    /// `start` was called twice on one link.
    #[error("the cluster link was started already")]
    AlreadyStarted,
}
