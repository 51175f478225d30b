//! [`DnsDiscovery`]: where a node finds its peers when they are not listed: a DNS name
//! whose A / AAAA records are the peers' addresses (a Kubernetes headless service), their
//! cluster port, and how often the name is resolved again.

use std::fmt;
use std::time::Duration;

use crate::error::ConfigError;

/// How often the name is resolved again by default (it is also resolved again at once when
/// a peer fails or a stranger of the cluster calls, at most once per
/// [`DnsDiscovery::MIN_INTERVAL`]).
pub const DEFAULT_RESOLVE_INTERVAL: Duration = Duration::from_secs(10);

/// Peers found by resolving a DNS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsDiscovery {
    name: String,
    port: u16,
    interval: Duration,
}

impl DnsDiscovery {
    /// The shortest time between two resolutions.
    pub const MIN_INTERVAL: Duration = Duration::from_secs(1);

    /// Peers at the addresses `name` resolves to, on `port`, resolved again every
    /// [`DEFAULT_RESOLVE_INTERVAL`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidDnsName`] when `name` is not a host name (letters, digits,
    /// '-', '_' and '.', at most 253 characters), [`ConfigError::InvalidPort`] for port 0.
    pub fn new(name: impl Into<String>, port: u16) -> Result<Self, ConfigError> {
        let name = name.into();
        // A rooted name ends with '.': its last label is empty.
        let labels = name.strip_suffix('.').unwrap_or(&name);
        let valid = !labels.is_empty()
            && name.len() <= 253
            && labels
                .split('.')
                .all(|label| !label.is_empty() && label.len() <= 63)
            && name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
        if !valid {
            return Err(ConfigError::InvalidDnsName(name));
        }
        if port == 0 {
            return Err(ConfigError::InvalidPort);
        }
        Ok(DnsDiscovery {
            name,
            port,
            interval: DEFAULT_RESOLVE_INTERVAL,
        })
    }

    /// The same, resolved again every `interval` (at least [`Self::MIN_INTERVAL`]).
    #[must_use]
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval.max(Self::MIN_INTERVAL);
        self
    }

    /// The DNS name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The peers' cluster port.
    #[must_use]
    pub fn port(&self) -> u16 {
        self.port
    }

    /// How often the name is resolved again.
    #[must_use]
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

impl fmt::Display for DnsDiscovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "dns:{}:{}", self.name, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_discovery_name_is_a_host_name_and_a_port() {
        let dns = DnsDiscovery::new("skein-headless.mqtt.svc.cluster.local", 7400).unwrap();
        assert_eq!(dns.interval(), DEFAULT_RESOLVE_INTERVAL);
        assert_eq!(
            dns.to_string(),
            "dns:skein-headless.mqtt.svc.cluster.local:7400"
        );
        assert!(DnsDiscovery::new("localhost.", 1).is_ok(), "a rooted name");
        let quick = dns.with_interval(Duration::from_millis(10));
        assert_eq!(quick.interval(), DnsDiscovery::MIN_INTERVAL);
        for bad in ["", "a b", "http://x", "a..b", ".a"] {
            assert!(DnsDiscovery::new(bad, 7400).is_err(), "{bad:?}");
        }
        assert_eq!(DnsDiscovery::new("x", 0), Err(ConfigError::InvalidPort));
    }
}
