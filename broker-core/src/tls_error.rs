//! Why a listener's TLS settings cannot be used: each error names the file it concerns.

use std::fmt;
use std::path::PathBuf;

use thiserror::Error;

use crate::config::KeyPassword;

/// Which file of a [`TlsConfig`](crate::config::TlsConfig) an error is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsFile {
    /// [`TlsConfig::cert_chain`](crate::config::TlsConfig::cert_chain) (Mosquitto's
    /// `certfile`).
    CertChain,
    /// [`TlsConfig::private_key`](crate::config::TlsConfig::private_key) (`keyfile`).
    PrivateKey,
    /// [`TlsConfig::client_ca`](crate::config::TlsConfig::client_ca) (`cafile`).
    ClientCa,
    /// [`TlsConfig::crl`](crate::config::TlsConfig::crl) (`crlfile`).
    Crl,
}

impl TlsFile {
    /// The Mosquitto name of the setting: `certfile`, `keyfile` or `cafile`.
    #[must_use]
    pub fn mosquitto_key(self) -> &'static str {
        match self {
            TlsFile::CertChain => "certfile",
            TlsFile::PrivateKey => "keyfile",
            TlsFile::ClientCa => "cafile",
            TlsFile::Crl => "crlfile",
        }
    }
}

impl fmt::Display for TlsFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mosquitto_key())
    }
}

/// A listener's TLS settings could not be turned into a TLS server configuration.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TlsError {
    /// A file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// Which setting names the file.
        file: TlsFile,
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        #[source]
        source: std::io::Error,
    },
    /// A file was read but does not hold what it should: no PEM certificate, no PEM private
    /// key, bad PEM, a certificate authority that cannot be used, a key that does not match
    /// the certificate.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// Which setting names the file.
        file: TlsFile,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The private key is encrypted and no password is configured.
    #[error(
        "{} is encrypted: set keyfile_password_file (or keyfile_password_env) to the file \
         (or environment variable) holding its password",
        path.display()
    )]
    KeyNeedsPassword {
        /// The key file.
        path: PathBuf,
    },
    /// The encrypted private key could not be decrypted with the password given.
    #[error("cannot decrypt {} with the password from {password}: wrong password?", path.display())]
    KeyDecrypt {
        /// The key file.
        path: PathBuf,
        /// Where the password came from (never the password).
        password: KeyPassword,
    },
    /// The private key is encrypted in a way that cannot be read: OpenSSL's legacy PEM
    /// encryption (`Proc-Type: 4,ENCRYPTED`), PBES1, or a cipher other than AES-CBC.
    #[error(
        "{}: {what} is not supported; convert the key to PKCS#8 with AES: openssl pkcs8 \
         -topk8 -v2 aes-256-cbc -in old.key -out new.key",
        path.display()
    )]
    KeyEncryptionUnsupported {
        /// The key file.
        path: PathBuf,
        /// The encryption found.
        what: String,
    },
    /// The password of the private key cannot be had: the file unreadable or empty, the
    /// environment variable unset or empty.
    #[error("{password}: {message}")]
    KeyPassword {
        /// Where the password should come from.
        password: KeyPassword,
        /// What is wrong.
        message: String,
    },
    /// `require_certificate` or `use_identity_as_username` without a client CA to verify
    /// certificates with.
    #[error("{setting} needs cafile: the certificate authority that client certificates are verified against")]
    NeedsClientCa {
        /// `require_certificate`, `use_identity_as_username` or `crlfile`.
        setting: &'static str,
    },
    /// A setting that is not a file cannot be used: an unknown cipher suite, or suites that
    /// leave the accepted TLS versions none to use.
    #[error("{setting}: {message}")]
    Setting {
        /// `cipher_suites` or `tls_version`.
        setting: &'static str,
        /// What is wrong.
        message: String,
    },
}

impl TlsError {
    /// The file the error is about; `None` for a missing setting.
    #[must_use]
    pub fn file(&self) -> Option<TlsFile> {
        match self {
            TlsError::Read { file, .. } | TlsError::Invalid { file, .. } => Some(*file),
            TlsError::KeyNeedsPassword { .. }
            | TlsError::KeyDecrypt { .. }
            | TlsError::KeyEncryptionUnsupported { .. }
            | TlsError::KeyPassword { .. } => Some(TlsFile::PrivateKey),
            TlsError::NeedsClientCa { .. } | TlsError::Setting { .. } => None,
        }
    }
}
