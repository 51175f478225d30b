//! [`ClusterId`]: which cluster a node belongs to.

use std::fmt;
use std::str::FromStr;

use crate::error::ConfigError;
use crate::name_rule;

/// The id every node of one cluster is configured with; a node refuses any RPC that carries
/// another. 1 to 64 ASCII letters, digits, `.`, `_` or `-`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClusterId(String);

impl ClusterId {
    /// `value` as a cluster id.
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidClusterId`] when it breaks the rule above.
    pub fn new(value: impl Into<String>) -> Result<Self, ConfigError> {
        let value = value.into();
        if name_rule::is_valid(&value) {
            Ok(ClusterId(value))
        } else {
            Err(ConfigError::InvalidClusterId(value))
        }
    }

    /// The id.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ClusterId {
    type Err = ConfigError;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        ClusterId::new(value)
    }
}

impl fmt::Display for ClusterId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
