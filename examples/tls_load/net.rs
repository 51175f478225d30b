//! Connections to the broker under test: TCP, or TLS over TCP through rustls (the `ring`
//! provider, as the broker uses), with the server verified against a CA file.
//!
//! Full handshakes by default: session resumption is off unless asked for, so each
//! connection pays for the key exchange and the server's signature, as `openssl s_time -new`
//! does.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use rustls::client::Resumption;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpSocket;
use tokio_rustls::TlsConnector;

/// A byte stream to the broker: TCP or TLS.
pub(crate) trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// A connection's stream. Boxed for both transports alike, so the plain runs carry the same
/// (small) indirection as the TLS ones.
pub(crate) type Stream = Box<dyn Io>;

/// The TLS versions the client offers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum TlsVersion {
    /// TLS 1.2 only.
    #[value(name = "1.2")]
    V12,
    /// TLS 1.3 only.
    #[value(name = "1.3")]
    V13,
    /// Both; the server picks (TLS 1.3 when it has it).
    Any,
}

/// How the client speaks TLS.
#[derive(Clone, Debug)]
pub(crate) struct TlsOptions {
    /// PEM file with the CA certificate(s) that sign the server's certificate.
    pub(crate) cafile: PathBuf,
    /// The name checked against the server's certificate (and sent as SNI).
    pub(crate) server_name: String,
    /// The versions offered.
    pub(crate) version: TlsVersion,
    /// Offer only this cipher suite (rustls' name, e.g. `TLS13_AES_128_GCM_SHA256`).
    pub(crate) cipher_suite: Option<String>,
    /// Resume sessions (tickets / session ids) instead of full handshakes.
    pub(crate) resume: bool,
}

/// What a TLS handshake settled on.
#[derive(Clone, Debug)]
pub(crate) struct TlsInfo {
    version: String,
    cipher_suite: String,
    key_exchange: String,
    resumed: bool,
}

impl TlsInfo {
    /// As JSON: `version`, `cipher_suite`, `key_exchange`, `resumed`.
    pub(crate) fn to_json(&self) -> Value {
        json!({
            "version": self.version,
            "cipher_suite": self.cipher_suite,
            "key_exchange": self.key_exchange,
            "resumed": self.resumed,
        })
    }

    /// Whether the handshake resumed an earlier session.
    pub(crate) fn resumed(&self) -> bool {
        self.resumed
    }
}

/// Opens connections to one broker address, with or without TLS.
#[derive(Clone)]
pub(crate) struct Connector {
    addr: SocketAddr,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl Connector {
    /// A connector to `addr`; TLS when `tls` is given.
    pub(crate) fn new(addr: SocketAddr, tls: Option<&TlsOptions>) -> Result<Connector> {
        let tls = match tls {
            None => None,
            Some(options) => {
                let config = client_config(options)?;
                let name = ServerName::try_from(options.server_name.clone())
                    .with_context(|| format!("server name {:?}", options.server_name))?;
                Some((TlsConnector::from(Arc::new(config)), name))
            }
        };
        Ok(Connector { addr, tls })
    }

    /// Whether connections are TLS.
    pub(crate) fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// TCP connect (with SO_SNDBUF `send_buffer` when given, and TCP_NODELAY), then the TLS
    /// handshake when the connector has TLS.
    pub(crate) async fn connect(
        &self,
        send_buffer: Option<u32>,
    ) -> Result<(Stream, Option<TlsInfo>)> {
        let socket = if self.addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        if let Some(size) = send_buffer {
            socket.set_send_buffer_size(size)?;
        }
        let tcp = socket
            .connect(self.addr)
            .await
            .with_context(|| format!("TCP connect to {}", self.addr))?;
        tcp.set_nodelay(true)?;
        let Some((connector, name)) = &self.tls else {
            return Ok((Box::new(tcp), None));
        };
        let tls = connector
            .connect(name.clone(), tcp)
            .await
            .context("TLS handshake")?;
        let session = tls.get_ref().1;
        let info = TlsInfo {
            version: session
                .protocol_version()
                .map_or_else(|| "?".to_owned(), |v| format!("{v:?}")),
            cipher_suite: session
                .negotiated_cipher_suite()
                .map_or_else(|| "?".to_owned(), |s| format!("{:?}", s.suite())),
            key_exchange: session
                .negotiated_key_exchange_group()
                .map_or_else(|| "-".to_owned(), |g| format!("{:?}", g.name())),
            resumed: matches!(
                session.handshake_kind(),
                Some(rustls::HandshakeKind::Resumed)
            ),
        };
        Ok((Box::new(tls), Some(info)))
    }
}

/// The rustls client configuration for `options`.
fn client_config(options: &TlsOptions) -> Result<ClientConfig> {
    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(wanted) = &options.cipher_suite {
        provider
            .cipher_suites
            .retain(|suite| format!("{:?}", suite.suite()).eq_ignore_ascii_case(wanted));
        if provider.cipher_suites.is_empty() {
            bail!("no cipher suite named {wanted} (rustls names, e.g. TLS13_AES_128_GCM_SHA256)");
        }
    }
    let versions: &[&'static rustls::SupportedProtocolVersion] = match options.version {
        TlsVersion::V12 => &[&rustls::version::TLS12],
        TlsVersion::V13 => &[&rustls::version::TLS13],
        TlsVersion::Any => &[&rustls::version::TLS13, &rustls::version::TLS12],
    };
    let mut roots = RootCertStore::empty();
    let certificates = CertificateDer::pem_file_iter(&options.cafile)
        .with_context(|| format!("reading {}", options.cafile.display()))?;
    for certificate in certificates {
        let certificate =
            certificate.with_context(|| format!("reading {}", options.cafile.display()))?;
        roots
            .add(certificate)
            .with_context(|| format!("a CA certificate in {}", options.cafile.display()))?;
    }
    if roots.is_empty() {
        bail!("no CA certificate in {}", options.cafile.display());
    }
    let mut config = ClientConfig::builder_with_provider(Arc::new(provider))
        .with_protocol_versions(versions)
        .context("TLS version and cipher suite do not fit together")?
        .with_root_certificates(roots)
        .with_no_client_auth();
    if !options.resume {
        config.resumption = Resumption::disabled();
    }
    Ok(config)
}
