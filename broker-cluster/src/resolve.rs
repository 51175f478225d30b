//! [`Resolve`]: how discovery turns its DNS name into the peers' addresses, from either kind
//! of record ([`DnsRecords`]). Two implementations ship: [`SystemResolver`](crate::SystemResolver)
//! (the default) and [`DnsResolver`](crate::DnsResolver) (chosen DNS servers).

use std::io;
use std::net::SocketAddr;

use async_trait::async_trait;

use crate::dns_records::DnsRecords;

/// Turns a name into the peers' addresses. A test, or an embedder with its own registry or
/// DNS server, gives [`GrpcLink::start_with_resolver`](crate::GrpcLink::start_with_resolver)
/// another one.
///
/// The contract, which discovery relies on:
/// - `Ok` is the whole set of peers under the name now: a peer whose address is missing
///   from it is dropped. Order and duplicates do not matter; this node's own address may be
///   in it (discovery skips it).
/// - An `Err` leaves the peers found before in place, so a lookup that fails part-way (a DNS
///   server's time-out on one SRV target) fails whole rather than answer with a part.
/// - With [`DnsRecords::Srv`], each target is resolved to its A / AAAA addresses, each with
///   the record's port; a target that does not exist (no address) is left out, a target
///   `.` ("no service here", RFC 2782) too.
#[async_trait]
pub trait Resolve: Send + Sync + std::fmt::Debug + 'static {
    /// The peers' addresses under `name` now, as its `records` list them.
    ///
    /// # Errors
    ///
    /// The lookup failed (the name is unknown, or the resolver unreachable).
    async fn resolve(&self, name: &str, records: DnsRecords) -> io::Result<Vec<SocketAddr>>;
}
