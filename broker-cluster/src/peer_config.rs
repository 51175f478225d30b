//! [`PeerConfig`]: one peer of a static peer list.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;
use crate::node_name::NodeName;

/// A peer: its node name and the `host:port` of its cluster (gRPC) endpoint. Written
/// `name=host:port` on the command line. Made by [`PeerConfig::new`] or parsed, which check
/// the address.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PeerConfig {
    /// The peer's node name, which it must answer to.
    pub name: NodeName,
    /// Its cluster endpoint, `host:port` (a host name is resolved at each connection).
    pub address: String,
}

impl PeerConfig {
    /// The peer `name` at `address` (`host:port`).
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidPeer`] when `address` is not `host:port` with a port number.
    pub fn new(name: NodeName, address: impl Into<String>) -> Result<Self, ConfigError> {
        let address = address.into();
        let valid = address.rsplit_once(':').is_some_and(|(host, port)| {
            !host.is_empty() && !host.contains('/') && port.parse::<u16>().is_ok()
        });
        if valid {
            Ok(PeerConfig { name, address })
        } else {
            Err(ConfigError::InvalidPeer(format!("{name}={address}")))
        }
    }

    /// The URI tonic dials.
    pub(crate) fn uri(&self) -> String {
        format!("http://{}", self.address)
    }
}

impl FromStr for PeerConfig {
    type Err = ConfigError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        let (name, address) = value
            .split_once('=')
            .ok_or_else(|| ConfigError::InvalidPeer(value.to_owned()))?;
        let name = NodeName::new(name).map_err(|_| ConfigError::InvalidPeer(value.to_owned()))?;
        PeerConfig::new(name, address)
    }
}

impl fmt::Display for PeerConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={}", self.name, self.address)
    }
}

#[cfg(test)]
mod tests {
    use super::PeerConfig;

    #[test]
    fn a_peer_is_a_name_and_a_host_port() {
        let peer: PeerConfig = "b=127.0.0.1:7401".parse().unwrap();
        assert_eq!(peer.name.as_str(), "b");
        assert_eq!(peer.uri(), "http://127.0.0.1:7401");
        assert!("b=node-b.skein:7400".parse::<PeerConfig>().is_ok());
        assert!("b=[::1]:7400".parse::<PeerConfig>().is_ok());
        for bad in [
            "127.0.0.1:7401",
            "b=127.0.0.1",
            "b=:7401",
            "=h:1",
            "b=h:port",
        ] {
            assert!(bad.parse::<PeerConfig>().is_err(), "{bad}");
        }
    }
}
