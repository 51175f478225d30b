//! A listener's private key read from its PEM file: plain (PKCS#8, PKCS#1, SEC1), or PKCS#8
//! encrypted with a password (`ENCRYPTED PRIVATE KEY`, PBES2: PBKDF2 or scrypt, AES-CBC),
//! the password read from its file or environment variable each time the key is read and
//! wiped from memory after use. OpenSSL's legacy PEM encryption (`Proc-Type: 4,ENCRYPTED`)
//! is refused with the command that converts it.

use std::path::Path;

use pkcs8::der::Document;
use pkcs8::EncryptedPrivateKeyInfo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use zeroize::Zeroizing;

use crate::config::KeyPassword;
use crate::tls_error::{TlsError, TlsFile};

/// What starts an encrypted PKCS#8 key in PEM.
const ENCRYPTED_BEGIN: &str = "-----BEGIN ENCRYPTED PRIVATE KEY-----";
/// What ends it.
const ENCRYPTED_END: &str = "-----END ENCRYPTED PRIVATE KEY-----";
/// The header of OpenSSL's legacy PEM encryption.
const LEGACY_HEADER: &str = "Proc-Type: 4,ENCRYPTED";

/// The first private key in the PEM file at `path`, decrypted with the password from
/// `password` when it is encrypted.
pub(crate) fn read_private_key(
    path: &Path,
    password: Option<&KeyPassword>,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let pem = Zeroizing::new(std::fs::read(path).map_err(|source| TlsError::Read {
        file: TlsFile::PrivateKey,
        path: path.to_owned(),
        source,
    })?);
    let text = String::from_utf8_lossy(&pem);
    if text.contains(LEGACY_HEADER) {
        return Err(TlsError::KeyEncryptionUnsupported {
            path: path.to_owned(),
            what: format!("OpenSSL's legacy PEM encryption ({LEGACY_HEADER})"),
        });
    }
    if let Some(block) = encrypted_block(&text) {
        let Some(password) = password else {
            return Err(TlsError::KeyNeedsPassword {
                path: path.to_owned(),
            });
        };
        return decrypt(path, block, password);
    }
    let key = plain_key(path, &pem)?;
    if let Some(password) = password {
        tracing::warn!(
            "{} is not encrypted: the password of {password} is not used.",
            path.display()
        );
    }
    Ok(key)
}

/// The first `ENCRYPTED PRIVATE KEY` PEM block in `text`, its markers included.
fn encrypted_block(text: &str) -> Option<&str> {
    let start = text.find(ENCRYPTED_BEGIN)?;
    let rest = text.get(start..)?;
    let end = rest.find(ENCRYPTED_END)? + ENCRYPTED_END.len();
    rest.get(..end)
}

/// The PKCS#8 key in the encrypted PEM `block` of the file at `path`.
fn decrypt(
    path: &Path,
    block: &str,
    password: &KeyPassword,
) -> Result<PrivateKeyDer<'static>, TlsError> {
    let bad_pem = |error: &dyn std::fmt::Display| TlsError::Invalid {
        file: TlsFile::PrivateKey,
        path: path.to_owned(),
        message: format!("bad encrypted PEM private key: {error}"),
    };
    let (_, document) = Document::from_pem(block).map_err(|error| bad_pem(&error))?;
    // A scheme the parser does not know (PKCS#12's PBE-SHA1-3DES, say) fails here.
    let info = EncryptedPrivateKeyInfo::try_from(document.as_bytes()).map_err(|error| {
        TlsError::KeyEncryptionUnsupported {
            path: path.to_owned(),
            what: format!("its encryption (not PBES2 with PBKDF2 or scrypt and AES-CBC: {error})"),
        }
    })?;
    let secret = read_password(password)?;
    match info.decrypt(secret.as_bytes()) {
        Ok(key) => Ok(PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            key.as_bytes().to_vec(),
        ))),
        Err(pkcs8::Error::EncryptedPrivateKey(
            error @ (pkcs8::pkcs5::Error::UnsupportedAlgorithm { .. }
            | pkcs8::pkcs5::Error::NoPbes1CryptSupport
            | pkcs8::pkcs5::Error::AlgorithmParametersInvalid { .. }),
        )) => Err(TlsError::KeyEncryptionUnsupported {
            path: path.to_owned(),
            what: format!("its encryption ({error})"),
        }),
        // A wrong password fails the padding check, or (rarely) leaves bytes that are not
        // a key.
        Err(_) => Err(TlsError::KeyDecrypt {
            path: path.to_owned(),
            password: password.clone(),
        }),
    }
}

/// The password `source` holds: the first line of the file without its line ending, or the
/// environment variable's value; neither may be empty.
fn read_password(source: &KeyPassword) -> Result<Zeroizing<String>, TlsError> {
    let problem = |message: String| TlsError::KeyPassword {
        password: source.clone(),
        message,
    };
    let password = match source {
        KeyPassword::File(path) => {
            let text = Zeroizing::new(
                std::fs::read_to_string(path)
                    .map_err(|error| problem(format!("cannot read it: {error}")))?,
            );
            let line = text.lines().next().unwrap_or_default();
            Zeroizing::new(line.to_owned())
        }
        KeyPassword::Env(name) => Zeroizing::new(
            std::env::var(name)
                .map_err(|error| problem(format!("cannot read the variable: {error}")))?,
        ),
    };
    if password.is_empty() {
        return Err(problem("the password is empty".to_owned()));
    }
    Ok(password)
}

/// The first plain private key (PKCS#8, PKCS#1 or SEC1) in `pem`, read from `path`.
fn plain_key(path: &Path, pem: &[u8]) -> Result<PrivateKeyDer<'static>, TlsError> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|error| {
        let message = match error {
            rustls::pki_types::pem::Error::NoItemsFound => {
                "no PEM private key (-----BEGIN PRIVATE KEY-----, RSA PRIVATE KEY, EC PRIVATE \
                 KEY or ENCRYPTED PRIVATE KEY) in the file"
                    .to_owned()
            }
            other => format!("bad PEM: {other}"),
        };
        TlsError::Invalid {
            file: TlsFile::PrivateKey,
            path: path.to_owned(),
            message,
        }
    })
}
