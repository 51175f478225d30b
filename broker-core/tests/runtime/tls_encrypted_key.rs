//! Encrypted private keys (PKCS#8 `ENCRYPTED PRIVATE KEY`): the password from a file or an
//! environment variable, a TLS handshake with the decrypted key, the reload that reads the
//! password again, and the errors for a wrong password, a missing one and OpenSSL's legacy
//! encryption. Keys are encrypted by the test (the `pkcs8` crate, and `openssl` when it is
//! installed).

use std::path::{Path, PathBuf};

use broker_core::config::{KeyPassword, ListenerConfig, TlsConfig};
use broker_core::types::{ProtocolVersion, ReasonCode};
use broker_core::{BrokerError, TlsError, TlsFile};
use pkcs8::pkcs5::{pbes2, scrypt};
use pkcs8::{LineEnding, PrivateKeyInfo};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::PrivatePkcs8KeyDer;

use crate::log_capture::LogCapture;
use crate::transport_support::{any_port, refused, start, tls, Pki, WireClient};

const SALT: [u8; 16] = *b"0123456789abcdef";
const IV: [u8; 16] = *b"fedcba9876543210";

/// The server key of `pki` encrypted with `password` (PBKDF2-SHA256, AES-256-CBC), written
/// beside it as `name`.
fn encrypted_key(pki: &Pki, name: &str, password: &str) -> PathBuf {
    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &SALT, &IV).unwrap();
    write_encrypted(pki, name, params, password)
}

fn write_encrypted(
    pki: &Pki,
    name: &str,
    params: pbes2::Parameters<'_>,
    password: &str,
) -> PathBuf {
    let plain = PrivatePkcs8KeyDer::from_pem_file(&pki.server.key).unwrap();
    let info = PrivateKeyInfo::try_from(plain.secret_pkcs8_der()).unwrap();
    let encrypted = info.encrypt_with_params(params, password).unwrap();
    let path = pki.dir.path().join(name);
    encrypted
        .write_pem_file(&path, "ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .unwrap();
    path
}

/// A password file holding `password` and a newline.
fn password_file(pki: &Pki, name: &str, password: &str) -> KeyPassword {
    let path = pki.dir.path().join(name);
    std::fs::write(&path, format!("{password}\n")).unwrap();
    KeyPassword::File(path)
}

fn tls_with(pki: &Pki, key: &Path, password: Option<KeyPassword>) -> TlsConfig {
    let mut tls = TlsConfig::new(&pki.server.cert, key);
    tls.key_password = password;
    tls
}

async fn assert_connack(pki: &Pki, addr: std::net::SocketAddr) {
    let stream = tls(addr, &pki.connector(None, &[]))
        .await
        .expect("TLS handshake");
    let mut client = WireClient::raw(stream, ProtocolVersion::V5);
    let ack = client.connect("encrypted-key").await.expect("CONNACK");
    assert_eq!(ack.code, ReasonCode::Success);
}

#[tokio::test]
async fn an_encrypted_key_with_its_password_file_serves_tls() {
    let pki = Pki::new("encrypted");
    let key = encrypted_key(&pki, "server-enc.key", "s3cret pass");
    let password = password_file(&pki, "password", "s3cret pass");
    let listener = ListenerConfig::tls("secure", any_port(), tls_with(&pki, &key, Some(password)));
    let (broker, addrs) = start(vec![listener]).await;
    assert_connack(&pki, addrs[0]).await;
    broker.shutdown().await;
}

#[tokio::test]
async fn a_password_from_the_environment_and_scrypt_encryption() {
    let pki = Pki::new("encrypted-env");
    let params = scrypt::Params::new(10, 8, 1, 32).unwrap();
    let params = pbes2::Parameters::scrypt_aes256cbc(params, &SALT, &IV).unwrap();
    let key = write_encrypted(&pki, "server-scrypt.key", params, "from-env");
    let variable = "SKEIN_TEST_TLS_KEY_PASSWORD_SCRYPT";
    std::env::set_var(variable, "from-env");
    let config = tls_with(&pki, &key, Some(KeyPassword::Env(variable.to_owned())));
    assert!(config.check().is_ok(), "{:?}", config.check());

    let unset = tls_with(
        &pki,
        &key,
        Some(KeyPassword::Env(
            "SKEIN_TEST_TLS_KEY_PASSWORD_UNSET".to_owned(),
        )),
    );
    let error = unset.check().unwrap_err();
    assert!(matches!(error, TlsError::KeyPassword { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("keyfile_password_env SKEIN_TEST_TLS_KEY_PASSWORD_UNSET"),
        "{error}"
    );
}

#[tokio::test]
async fn a_wrong_password_stops_the_start_naming_the_listener_and_the_file() {
    let pki = Pki::new("wrong-password");
    let key = encrypted_key(&pki, "server-enc.key", "right");
    let password = password_file(&pki, "password", "wrong");
    let listener = ListenerConfig::tls("secure", any_port(), tls_with(&pki, &key, Some(password)));
    let error = refused(listener).await;
    let BrokerError::Tls { name, source } = &error else {
        panic!("expected a TLS error, got {error:?}");
    };
    assert_eq!(name, "secure");
    assert!(matches!(source, TlsError::KeyDecrypt { .. }), "{source:?}");
    assert_eq!(source.file(), Some(TlsFile::PrivateKey));
    let text = error.to_string();
    assert!(
        text.contains("listener `secure`")
            && text.contains("cannot decrypt")
            && text.contains("server-enc.key")
            && text.contains("wrong password?")
            && !text.contains("right"),
        "{text}"
    );
}

#[test]
fn an_encrypted_key_without_a_password_says_what_to_set() {
    let pki = Pki::new("no-password");
    let key = encrypted_key(&pki, "server-enc.key", "right");
    let error = tls_with(&pki, &key, None).check().unwrap_err();
    assert!(
        matches!(error, TlsError::KeyNeedsPassword { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("server-enc.key is encrypted: set keyfile_password_file"),
        "{text}"
    );
}

#[test]
fn an_empty_or_missing_password_file_is_an_error() {
    let pki = Pki::new("empty-password");
    let key = encrypted_key(&pki, "server-enc.key", "right");
    let empty = password_file(&pki, "empty", "");
    let error = tls_with(&pki, &key, Some(empty)).check().unwrap_err();
    assert!(
        error.to_string().contains("the password is empty"),
        "{error}"
    );
    let missing = KeyPassword::File(pki.dir.path().join("missing"));
    let error = tls_with(&pki, &key, Some(missing)).check().unwrap_err();
    assert!(
        matches!(error, TlsError::KeyPassword { .. }) && error.to_string().contains("cannot read"),
        "{error}"
    );
}

/// Accepted with a warning, as OpenSSL ignores a passphrase given for a plain key; the
/// password itself is not logged.
#[test]
fn a_password_for_a_plain_key_is_not_used() {
    let logs = LogCapture::global();
    let pki = Pki::new("plain-with-password");
    let password = password_file(&pki, "plain-key-password", "never-logged");
    let key = pki.server.key.clone();
    assert!(tls_with(&pki, &key, Some(password)).check().is_ok());
    let text = logs.text();
    assert!(
        text.contains("is not encrypted: the password of keyfile_password_file")
            && text.contains("plain-key-password is not used"),
        "{text}"
    );
    assert!(!text.contains("never-logged"), "{text}");
}

#[test]
fn the_legacy_openssl_encryption_is_refused_with_the_conversion_command() {
    let pki = Pki::new("legacy");
    let legacy = pki.dir.path().join("legacy.key");
    std::fs::write(
        &legacy,
        "-----BEGIN EC PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n\
         DEK-Info: AES-256-CBC,00112233445566778899AABBCCDDEEFF\n\n\
         AAAA\n-----END EC PRIVATE KEY-----\n",
    )
    .unwrap();
    let password = password_file(&pki, "password", "legacy");
    let error = tls_with(&pki, &legacy, Some(password)).check().unwrap_err();
    assert!(
        matches!(error, TlsError::KeyEncryptionUnsupported { .. }),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains("legacy.key")
            && text.contains("Proc-Type: 4,ENCRYPTED")
            && text.contains("openssl pkcs8 -topk8 -v2 aes-256-cbc"),
        "{text}"
    );
}

/// The reload reads the password file again with the key: a key re-encrypted with a new
/// password is taken with it; a wrong password leaves the key in force.
#[tokio::test]
async fn reload_tls_reads_the_password_file_again() {
    let pki = Pki::new("reload-password");
    let key = encrypted_key(&pki, "server-enc.key", "first");
    let password = password_file(&pki, "password", "first");
    let listener = ListenerConfig::tls("secure", any_port(), tls_with(&pki, &key, Some(password)));
    let (broker, addrs) = start(vec![listener]).await;

    encrypted_key(&pki, "server-enc.key", "second");
    password_file(&pki, "password", "second");
    let outcome = broker.handle().reload_tls();
    assert!(
        matches!(outcome.as_slice(), [(name, Ok(()))] if name == "secure"),
        "{outcome:?}"
    );
    assert_connack(&pki, addrs[0]).await;

    password_file(&pki, "password", "third");
    let outcome = broker.handle().reload_tls();
    assert!(
        matches!(outcome.as_slice(), [(_, Err(TlsError::KeyDecrypt { .. }))]),
        "{outcome:?}"
    );
    assert_connack(&pki, addrs[0]).await;
    broker.shutdown().await;
}

/// `openssl` with `args`, the password from the file `password`; `None` (and a printed
/// reason) when `openssl` cannot be run.
#[allow(clippy::print_stderr)]
fn openssl(args: &[&str], password: &Path) -> Option<()> {
    let run = std::process::Command::new("openssl")
        .args(args)
        .arg(format!("file:{}", password.display()))
        .status();
    match run {
        Err(error) => {
            eprintln!("skipped: openssl cannot be run ({error})");
            None
        }
        Ok(status) => {
            assert!(status.success(), "openssl {args:?}: {status}");
            Some(())
        }
    }
}

/// Keys encrypted by OpenSSL: what `openssl pkcs8 -topk8 -v2 aes-256-cbc` and its variants
/// write (PBKDF2 with HMAC-SHA256 or -SHA512, scrypt, AES-128 or AES-256) serve; OpenSSL's
/// legacy encryption (`openssl ec -aes256`), PBES1 and 3DES are refused with the conversion
/// command. Skipped when `openssl` is not installed.
#[test]
fn keys_encrypted_by_openssl() {
    let pki = Pki::new("openssl");
    let password = password_file(&pki, "password", "by openssl");
    let KeyPassword::File(password_path) = &password else {
        unreachable!()
    };
    let plain = pki.server.key.display().to_string();
    let accepted: [&[&str]; 4] = [
        &["-v2", "aes-256-cbc"],
        &["-v2", "aes-128-cbc", "-v2prf", "hmacWithSHA512"],
        &["-scrypt"],
        &["-v2", "aes-256-cbc", "-iter", "100000"],
    ];
    let refused: [&[&str]; 2] = [&["-v1", "PBE-SHA1-3DES"], &["-v2", "des3"]];
    for (n, (variant, works)) in accepted
        .iter()
        .map(|v| (v, true))
        .chain(refused.iter().map(|v| (v, false)))
        .enumerate()
    {
        let key = pki.dir.path().join(format!("openssl-{n}.key"));
        let out = key.display().to_string();
        let mut args = vec!["pkcs8", "-topk8", "-in", &plain, "-out", &out];
        args.extend_from_slice(variant);
        args.push("-passout");
        if openssl(&args, password_path).is_none() {
            return;
        }
        let text = std::fs::read_to_string(&key).unwrap();
        assert!(
            text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"),
            "{text}"
        );
        let checked = tls_with(&pki, &key, Some(password.clone())).check();
        if works {
            assert!(checked.is_ok(), "{variant:?}: {checked:?}");
        } else {
            let error = checked.unwrap_err();
            assert!(
                matches!(error, TlsError::KeyEncryptionUnsupported { .. })
                    && error
                        .to_string()
                        .contains("openssl pkcs8 -topk8 -v2 aes-256-cbc"),
                "{variant:?}: {error}"
            );
        }
    }

    let legacy = pki.dir.path().join("openssl-legacy.key");
    let out = legacy.display().to_string();
    let args = ["ec", "-in", &plain, "-out", &out, "-aes256", "-passout"];
    if openssl(&args, password_path).is_none() {
        return;
    }
    let error = tls_with(&pki, &legacy, Some(password.clone()))
        .check()
        .unwrap_err();
    assert!(
        matches!(error, TlsError::KeyEncryptionUnsupported { .. }),
        "{error:?}"
    );

    // OpenSSL 3's `genpkey -aes256`: a new key, so it decrypts but is not the certificate's.
    let generated = pki.dir.path().join("openssl-genpkey.key");
    let out = generated.display().to_string();
    let args = [
        "genpkey",
        "-algorithm",
        "EC",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-out",
        &out,
        "-aes256",
        "-pass",
    ];
    if openssl(&args, password_path).is_none() {
        return;
    }
    let error = tls_with(&pki, &generated, Some(password))
        .check()
        .unwrap_err();
    assert!(
        error.to_string().contains("does not match the certificate"),
        "{error}"
    );
}
