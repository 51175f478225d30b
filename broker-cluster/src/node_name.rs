//! [`NodeName`]: a node's name in the cluster.

use std::fmt;
use std::str::FromStr;

use broker_core::cluster::PeerName;

use crate::error::ConfigError;
use crate::name_rule;

/// A node's name, unique in its cluster: 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeName(String);

impl NodeName {
    /// `value` as a node name.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidNodeName`] when it breaks the rule above.
    pub fn new(value: impl Into<String>) -> Result<Self, ConfigError> {
        let value = value.into();
        if name_rule::is_valid(&value) {
            Ok(NodeName(value))
        } else {
            Err(ConfigError::InvalidNodeName(value))
        }
    }

    /// The name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as broker-core's cluster seam knows a peer.
    #[must_use]
    pub fn to_peer(&self) -> PeerName {
        PeerName::new(self.0.clone())
    }
}

impl FromStr for NodeName {
    type Err = ConfigError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        NodeName::new(value)
    }
}

impl fmt::Display for NodeName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
