//! [`Resolve`]: how discovery turns its DNS name into addresses; [`SystemResolver`] asks the
//! system's resolver (A and AAAA records, as `getaddrinfo` returns them).

use std::io;
use std::net::SocketAddr;

use async_trait::async_trait;

/// Turns a name and a port into the peers' addresses. A test, or an embedder with its own
/// registry, gives [`GrpcLink::start_with_resolver`](crate::GrpcLink::start_with_resolver)
/// another one.
#[async_trait]
pub trait Resolve: Send + Sync + std::fmt::Debug + 'static {
    /// The addresses `name` stands for now, each with `port`.
    ///
    /// # Errors
    ///
    /// The lookup failed (the name is unknown, or the resolver unreachable).
    async fn resolve(&self, name: &str, port: u16) -> io::Result<Vec<SocketAddr>>;
}

/// The system's resolver, through tokio (`getaddrinfo` on a blocking thread).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemResolver;

#[async_trait]
impl Resolve for SystemResolver {
    async fn resolve(&self, name: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
        Ok(tokio::net::lookup_host((name, port)).await?.collect())
    }
}
