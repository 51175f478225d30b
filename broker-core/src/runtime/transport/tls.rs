//! A listener's TLS settings turned into a rustls server configuration: the PEM files read
//! (the private key decrypted when it is, [`tls_key`](super::tls_key)),
//! TLS 1.3 and 1.2 (or 1.3 alone) with the `ring` provider and its cipher suites (or those
//! chosen), and client certificates verified against the configured authorities (required,
//! or optional but verified when presented) and revocation lists.
//!
//! Read once when the broker starts (and by [`TlsConfig::check`] for `--check-config`);
//! never on a connection's path.

use std::path::Path;
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig, SupportedCipherSuite, SupportedProtocolVersion};

use crate::config::{TlsConfig, TlsVersion};
use crate::runtime::transport::tls_key::read_private_key;
use crate::tls_error::{TlsError, TlsFile};

impl TlsConfig {
    /// Reads the PEM files and builds the TLS configuration a listener would use, without
    /// binding anything: what `--check-config` runs.
    ///
    /// # Errors
    ///
    /// A [`TlsError`] that names the file: unreadable, no certificate or key in it, a key
    /// that does not match the certificate, an unusable certificate authority; or
    /// `require_certificate` / `use_identity_as_username` without `client_ca`.
    pub fn check(&self) -> Result<(), TlsError> {
        server_config(self).map(|_| ())
    }

    /// The rustls server configuration a listener with these settings uses, for a server of
    /// the embedder's own beside the broker (the node's admin endpoint) to accept TLS as the
    /// listeners do, client certificates included.
    ///
    /// # Errors
    ///
    /// As [`check`](Self::check).
    pub fn server_config(&self) -> Result<Arc<rustls::ServerConfig>, TlsError> {
        server_config(self)
    }
}

/// The `ring` provider, with only `names`'s cipher suites in that order when there are some.
fn provider(names: &[String]) -> Result<CryptoProvider, TlsError> {
    let mut provider = rustls::crypto::ring::default_provider();
    if names.is_empty() {
        return Ok(provider);
    }
    let known = |suite: &SupportedCipherSuite| format!("{:?}", suite.suite());
    let chosen = names
        .iter()
        .map(|name| {
            provider
                .cipher_suites
                .iter()
                .find(|suite| known(suite) == *name)
                .copied()
                .ok_or_else(|| TlsError::Setting {
                    setting: "cipher_suites",
                    message: format!(
                        "{name:?} is not a cipher suite this build offers ({})",
                        provider
                            .cipher_suites
                            .iter()
                            .map(known)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                })
        })
        .collect::<Result<Vec<_>, _>>()?;
    provider.cipher_suites = chosen;
    Ok(provider)
}

/// The rustls server configuration for `tls`.
pub(crate) fn server_config(tls: &TlsConfig) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(provider(&tls.cipher_suites)?);
    let chain = read_certificates(TlsFile::CertChain, &tls.cert_chain)?;
    let key = read_private_key(&tls.private_key, tls.key_password.as_ref())?;
    let versions: &[&SupportedProtocolVersion] = match tls.min_version {
        TlsVersion::Tls12 => &[&rustls::version::TLS13, &rustls::version::TLS12],
        TlsVersion::Tls13 => &[&rustls::version::TLS13],
    };
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(versions)
        .map_err(|error| TlsError::Setting {
            setting: "cipher_suites",
            message: format!("none of the suites chosen serves the TLS versions accepted: {error}"),
        })?;
    let builder = match &tls.client_ca {
        None => {
            for (on, setting) in [
                (tls.require_certificate, "require_certificate"),
                (tls.use_identity_as_username, "use_identity_as_username"),
                (tls.crl.is_some(), "crlfile"),
            ] {
                if on {
                    return Err(TlsError::NeedsClientCa { setting });
                }
            }
            builder.with_no_client_auth()
        }
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in read_certificates(TlsFile::ClientCa, ca)? {
                roots
                    .add(cert)
                    .map_err(|error| invalid(TlsFile::ClientCa, ca, &error))?;
            }
            let mut verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            if let Some(crl) = &tls.crl {
                verifier = verifier.with_crls(read_crls(crl)?);
            }
            let verifier = if tls.require_certificate {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            let verifier = verifier
                .build()
                .map_err(|error| invalid(TlsFile::ClientCa, ca, &error))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let config = builder
        .with_single_cert(chain, key)
        .map_err(|error| match error {
            rustls::Error::InvalidCertificate(_) => {
                invalid(TlsFile::CertChain, &tls.cert_chain, &error)
            }
            rustls::Error::InconsistentKeys(_) => TlsError::Invalid {
                file: TlsFile::PrivateKey,
                path: tls.private_key.clone(),
                message: format!(
                    "the key does not match the certificate in {}",
                    tls.cert_chain.display()
                ),
            },
            other => invalid(TlsFile::PrivateKey, &tls.private_key, &other),
        })?;
    Ok(Arc::new(config))
}

fn invalid(file: TlsFile, path: &Path, error: &dyn std::fmt::Display) -> TlsError {
    TlsError::Invalid {
        file,
        path: path.to_owned(),
        message: error.to_string(),
    }
}

fn read(file: TlsFile, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        file,
        path: path.to_owned(),
        source,
    })
}

/// Every `CERTIFICATE` in the PEM file at `path`; at least one.
fn read_certificates(file: TlsFile, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = read(file, path)?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(file, path, &format_args!("bad PEM: {error}")))?;
    if certificates.is_empty() {
        return Err(TlsError::Invalid {
            file,
            path: path.to_owned(),
            message: "no PEM certificate (-----BEGIN CERTIFICATE-----) in the file".to_owned(),
        });
    }
    Ok(certificates)
}

/// Every `X509 CRL` in the PEM file at `path`; at least one.
fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, TlsError> {
    let pem = read(TlsFile::Crl, path)?;
    let crls = CertificateRevocationListDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| invalid(TlsFile::Crl, path, &format_args!("bad PEM: {error}")))?;
    if crls.is_empty() {
        return Err(TlsError::Invalid {
            file: TlsFile::Crl,
            path: path.to_owned(),
            message: "no PEM revocation list (-----BEGIN X509 CRL-----) in the file".to_owned(),
        });
    }
    Ok(crls)
}
