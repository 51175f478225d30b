//! A listener's TLS given as a ready rustls server configuration (embedding), in place of
//! the PEM files of a [`TlsConfig`](crate::config::TlsConfig).

use std::fmt;
use std::sync::Arc;

/// A rustls [`ServerConfig`](rustls::ServerConfig) an embedder built (its certificates and
/// keys from anywhere: a secret store, a hardware module, an ACME client), used as it is by
/// a listener ([`ListenerConfig::with_rustls`](crate::config::ListenerConfig::with_rustls)).
///
/// The configuration decides everything TLS: versions, cipher suites, client certificate
/// verification, ALPN (none is needed; on a WebSocket listener, one that sets ALPN must
/// offer `http/1.1`). [`BrokerHandle::reload_tls`](crate::BrokerHandle::reload_tls) leaves
/// such a listener as it is, and `use_identity_as_username`, a [`TlsConfig`] setting, does
/// not apply to it. Build it with the [`rustls`](crate::rustls) this crate re-exports so the
/// versions match.
///
/// Two are equal when they are the same configuration (the same `Arc`); `Debug` shows none
/// of its contents.
///
/// [`TlsConfig`]: crate::config::TlsConfig
#[derive(Clone)]
pub struct RustlsConfig(pub Arc<rustls::ServerConfig>);

impl fmt::Debug for RustlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RustlsConfig(..)")
    }
}

impl PartialEq for RustlsConfig {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for RustlsConfig {}

impl From<Arc<rustls::ServerConfig>> for RustlsConfig {
    fn from(config: Arc<rustls::ServerConfig>) -> Self {
        RustlsConfig(config)
    }
}
