//! A test PKI made with rcgen: a CA, a server certificate for `localhost` and 127.0.0.1, and a
//! client certificate with the CN `alice`, written as PEM files.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose, SanType,
};

/// The test PKI's files.
pub(crate) struct Pki {
    /// The CA certificate (PEM): the server's `cafile`, the clients' `--cafile`.
    pub(crate) ca: PathBuf,
    /// The server certificate, for `localhost` and 127.0.0.1.
    pub(crate) server_cert: PathBuf,
    /// Its key.
    pub(crate) server_key: PathBuf,
    /// A client certificate with the subject CN `alice`.
    pub(crate) client_cert: PathBuf,
    /// Its key.
    pub(crate) client_key: PathBuf,
}

impl Pki {
    /// Makes the certificates and writes them into `dir`.
    pub(crate) fn new(dir: &Path) -> Pki {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "Skein test CA");
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = ca_params.self_signed(&ca_key).unwrap();
        let issue = |cn: &str, usage: ExtendedKeyUsagePurpose, file: &str| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
            params
                .subject_alt_names
                .push(SanType::IpAddress([127, 0, 0, 1].into()));
            params.distinguished_name.push(DnType::CommonName, cn);
            params.extended_key_usages = vec![usage];
            let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
            let (cert_path, key_path) = (
                dir.join(format!("{file}.pem")),
                dir.join(format!("{file}.key")),
            );
            fs::write(&cert_path, cert.pem()).unwrap();
            fs::write(&key_path, key.serialize_pem()).unwrap();
            (cert_path, key_path)
        };
        let (server_cert, server_key) =
            issue("localhost", ExtendedKeyUsagePurpose::ServerAuth, "server");
        let (client_cert, client_key) =
            issue("alice", ExtendedKeyUsagePurpose::ClientAuth, "alice");
        let ca_path = dir.join("ca.pem");
        fs::write(&ca_path, ca.pem()).unwrap();
        Pki {
            ca: ca_path,
            server_cert,
            server_key,
            client_cert,
            client_key,
        }
    }

    /// The `certfile` / `keyfile` lines of a TLS listener with the server certificate.
    pub(crate) fn server_keys(&self) -> String {
        format!(
            "certfile = {:?}\nkeyfile = {:?}\n",
            self.server_cert.display().to_string(),
            self.server_key.display().to_string()
        )
    }
}
