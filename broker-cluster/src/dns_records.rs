//! [`DnsRecords`]: which records of the discovery name list the peers, and so what a
//! [`Resolve`](crate::Resolve) is asked for.

use std::fmt;

/// Which records of the discovery name list the peers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DnsRecords {
    /// The name's A / AAAA records are the peers' addresses, all with one cluster port (a
    /// Kubernetes headless service, read as `getaddrinfo` reads it).
    Address {
        /// The peers' cluster port.
        port: u16,
    },
    /// The name's SRV records each give a peer's host and cluster port (a Kubernetes
    /// headless service's named port, `_<port>._tcp.<service>`); each host is resolved to its
    /// A / AAAA records. Priority and weight are not read: every target is a peer.
    Srv,
}

impl DnsRecords {
    /// The record type's name in DNS: `"A/AAAA"` or `"SRV"`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            DnsRecords::Address { .. } => "A/AAAA",
            DnsRecords::Srv => "SRV",
        }
    }
}

impl fmt::Display for DnsRecords {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
