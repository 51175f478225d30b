//! [`DnsDiscovery`]: where a node finds its peers when they are not listed: a DNS name
//! (a Kubernetes headless service) whose A / AAAA records are the peers' addresses on one
//! cluster port, or whose SRV records give each peer's host and port; and how often the name
//! is resolved again.

use std::fmt;
use std::time::Duration;

use crate::dns_records::DnsRecords;
use crate::error::ConfigError;

/// How often the name is resolved again by default (it is also resolved again at once when
/// a peer fails or a stranger of the cluster calls, at most once per
/// [`DnsDiscovery::MIN_INTERVAL`]).
pub const DEFAULT_RESOLVE_INTERVAL: Duration = Duration::from_secs(10);

/// Peers found by resolving a DNS name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DnsDiscovery {
    name: String,
    records: DnsRecords,
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
        let dns = Self::with_records(name.into(), DnsRecords::Address { port })?;
        if port == 0 {
            return Err(ConfigError::InvalidPort);
        }
        Ok(dns)
    }

    /// Peers at the targets of the SRV records of `name` (for example
    /// `_cluster._tcp.skein-headless.mqtt.svc.cluster.local`), each on its record's port,
    /// resolved again every [`DEFAULT_RESOLVE_INTERVAL`].
    ///
    /// # Errors
    ///
    /// [`ConfigError::InvalidDnsName`] when `name` is not a host name (letters, digits,
    /// '-', '_' and '.', at most 253 characters).
    pub fn srv(name: impl Into<String>) -> Result<Self, ConfigError> {
        Self::with_records(name.into(), DnsRecords::Srv)
    }

    /// Checks `name`.
    fn with_records(name: String, records: DnsRecords) -> Result<Self, ConfigError> {
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
        Ok(DnsDiscovery {
            name,
            records,
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

    /// Which of the name's records list the peers (with their port, for A / AAAA).
    #[must_use]
    pub fn records(&self) -> DnsRecords {
        self.records
    }

    /// The peers' cluster port when it is the same for all (A / AAAA records); `None` when
    /// each SRV record gives its own.
    #[must_use]
    pub fn port(&self) -> Option<u16> {
        match self.records {
            DnsRecords::Address { port } => Some(port),
            DnsRecords::Srv => None,
        }
    }

    /// How often the name is resolved again.
    #[must_use]
    pub fn interval(&self) -> Duration {
        self.interval
    }
}

impl fmt::Display for DnsDiscovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.records {
            DnsRecords::Address { port } => write!(f, "dns:{}:{port}", self.name),
            DnsRecords::Srv => write!(f, "dns-srv:{}", self.name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_discovery_name_is_a_host_name_and_a_port() {
        let dns = DnsDiscovery::new("skein-headless.mqtt.svc.cluster.local", 7400).unwrap();
        assert_eq!(dns.interval(), DEFAULT_RESOLVE_INTERVAL);
        assert_eq!(dns.records(), DnsRecords::Address { port: 7400 });
        assert_eq!(dns.port(), Some(7400));
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

    #[test]
    fn an_srv_discovery_is_a_name_whose_records_carry_the_ports() {
        let name = "_cluster._tcp.skein-headless.mqtt.svc.cluster.local";
        let dns = DnsDiscovery::srv(name).unwrap();
        assert_eq!(
            (dns.name(), dns.records(), dns.port()),
            (name, DnsRecords::Srv, None)
        );
        assert_eq!(dns.interval(), DEFAULT_RESOLVE_INTERVAL);
        assert_eq!(dns.to_string(), format!("dns-srv:{name}"));
        for bad in ["", "_cluster._tcp..x", "_cluster _tcp"] {
            assert_eq!(
                DnsDiscovery::srv(bad),
                Err(ConfigError::InvalidDnsName(bad.into())),
                "{bad:?}"
            );
        }
    }
}
