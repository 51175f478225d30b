//! [`DnsResolver`]: a [`Resolve`] that asks DNS servers itself (hickory-resolver, a stub
//! resolver with a cache that follows the records' TTLs): the system's, or servers the
//! embedder names. It reads SRV records, which `getaddrinfo` cannot, and resolves their
//! targets.

use std::io;
use std::net::SocketAddr;

use async_trait::async_trait;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::NetError;
use hickory_resolver::proto::rr::RData;
use hickory_resolver::TokioResolver;

use crate::dns_records::DnsRecords;
use crate::resolve::Resolve;

/// Asks DNS servers for the discovery name's A / AAAA or SRV records.
#[derive(Debug, Clone)]
pub struct DnsResolver {
    inner: TokioResolver,
}

impl DnsResolver {
    /// The DNS servers, search domains and options of the system's configuration
    /// (`/etc/resolv.conf`), and `/etc/hosts`.
    ///
    /// # Errors
    ///
    /// The configuration cannot be read.
    pub fn system() -> io::Result<Self> {
        let inner = TokioResolver::builder_tokio()
            .and_then(hickory_resolver::ResolverBuilder::build)
            .map_err(|error| {
                io::Error::other(format!(
                    "cannot read the system's DNS configuration: {error}"
                ))
            })?;
        Ok(DnsResolver { inner })
    }

    /// Asks only the DNS servers at `servers`, over UDP (TCP for an answer too large for a
    /// datagram), with no search domains and not `/etc/hosts`: a name is looked up as it is
    /// written. For an embedder with its own DNS server, and for tests.
    ///
    /// # Errors
    ///
    /// The resolver could not be built.
    pub fn with_name_servers(servers: &[SocketAddr]) -> io::Result<Self> {
        let servers = servers
            .iter()
            .map(|server| {
                let mut udp = ConnectionConfig::udp();
                udp.port = server.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = server.port();
                NameServerConfig::new(server.ip(), true, vec![udp, tcp])
            })
            .collect();
        let mut options = ResolverOpts::default();
        options.use_hosts_file = ResolveHosts::Never;
        let config = ResolverConfig::from_name_servers(servers);
        let inner = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options)
            .build()
            .map_err(|error| io::Error::other(format!("cannot build a DNS resolver: {error}")))?;
        Ok(DnsResolver { inner })
    }

    /// The addresses of `host`, each with `port`.
    async fn addresses(&self, host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        let found = self
            .inner
            .lookup_ip(host)
            .await
            .map_err(|error| failed(host, "A/AAAA", &error))?;
        Ok(found.iter().map(|ip| SocketAddr::new(ip, port)).collect())
    }

    /// The addresses of the targets of `name`'s SRV records, each with its record's port.
    async fn srv(&self, name: &str) -> io::Result<Vec<SocketAddr>> {
        let lookup = self
            .inner
            .srv_lookup(name)
            .await
            .map_err(|error| failed(name, "SRV", &error))?;
        let mut found = Vec::new();
        for record in lookup.answers() {
            // Other records (a CNAME on the way) carry no target.
            let RData::SRV(srv) = &record.data else {
                continue;
            };
            if srv.target.is_root() {
                continue; // "." : decidedly no service at this name (RFC 2782)
            }
            match self.inner.lookup_ip(srv.target.clone()).await {
                Ok(ips) => found.extend(ips.iter().map(|ip| SocketAddr::new(ip, srv.port))),
                Err(error) if error.is_no_records_found() => {
                    tracing::debug!(name, target = %srv.target, "An SRV target of the cluster's DNS name has no address; skipped.");
                }
                Err(error) => return Err(failed(&srv.target.to_string(), "A/AAAA", &error)),
            }
        }
        found.sort_unstable();
        found.dedup();
        Ok(found)
    }
}

#[async_trait]
impl Resolve for DnsResolver {
    async fn resolve(&self, name: &str, records: DnsRecords) -> io::Result<Vec<SocketAddr>> {
        match records {
            DnsRecords::Address { port } => self.addresses(name, port).await,
            DnsRecords::Srv => self.srv(name).await,
        }
    }
}

/// The lookup of `name`'s `kind` records failed with `error`.
fn failed(name: &str, kind: &str, error: &NetError) -> io::Error {
    let what = format!("{kind} records of {name}: {error}");
    if error.is_no_records_found() {
        io::Error::new(io::ErrorKind::NotFound, what)
    } else {
        io::Error::other(what)
    }
}
