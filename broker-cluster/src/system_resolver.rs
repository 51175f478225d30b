//! [`SystemResolver`]: discovery's default [`Resolve`]: A / AAAA records as the system's
//! `getaddrinfo` returns them, SRV records from the DNS servers of the system's
//! configuration.

use std::io;
use std::net::SocketAddr;

use async_trait::async_trait;
use tokio::sync::OnceCell;

use crate::dns_records::DnsRecords;
use crate::dns_resolver::DnsResolver;
use crate::resolve::Resolve;

/// The system's resolver: A / AAAA records through `getaddrinfo` (on a blocking thread,
/// through tokio: `/etc/hosts`, `nsswitch.conf` and the DNS servers, as every program on the
/// host sees them); SRV records, which `getaddrinfo` cannot read, and their targets through
/// a [`DnsResolver::system`] made at the first SRV lookup (`/etc/resolv.conf` is read then,
/// and again after a failure to read it).
#[derive(Debug, Clone, Default)]
pub struct SystemResolver {
    /// The DNS servers of `/etc/resolv.conf`, once an SRV lookup needed them.
    dns: OnceCell<DnsResolver>,
}

#[async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, name: &str, records: DnsRecords) -> io::Result<Vec<SocketAddr>> {
        match records {
            DnsRecords::Address { port } => {
                Ok(tokio::net::lookup_host((name, port)).await?.collect())
            }
            DnsRecords::Srv => {
                let dns = self
                    .dns
                    .get_or_try_init(|| async { DnsResolver::system() })
                    .await?;
                dns.resolve(name, records).await
            }
        }
    }
}
