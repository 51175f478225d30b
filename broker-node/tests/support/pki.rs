//! A test PKI made with rcgen: a CA, a server certificate for `localhost` and 127.0.0.1, a
//! client certificate with the CN `alice`, and a revocation list of the CA that revokes
//! alice's certificate, written as PEM files.

use std::fs;
use std::path::{Path, PathBuf};

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams,
    SanType, SerialNumber,
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
    /// A revocation list (PEM) of the CA that revokes the client certificate.
    pub(crate) crl_revoking_client: PathBuf,
}

/// The client certificate's serial number, which the revocation list names.
const CLIENT_SERIAL: u64 = 0x0A11CE;

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
        let issue = |cn: &str, usage: ExtendedKeyUsagePurpose, file: &str, serial: u64| {
            let key = KeyPair::generate().unwrap();
            let mut params = CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
            params.serial_number = Some(SerialNumber::from(serial));
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
        let (server_cert, server_key) = issue(
            "localhost",
            ExtendedKeyUsagePurpose::ServerAuth,
            "server",
            1,
        );
        let (client_cert, client_key) = issue(
            "alice",
            ExtendedKeyUsagePurpose::ClientAuth,
            "alice",
            CLIENT_SERIAL,
        );
        let ca_path = dir.join("ca.pem");
        fs::write(&ca_path, ca.pem()).unwrap();
        let crl = CertificateRevocationListParams {
            this_update: date_time_ymd(2024, 1, 1),
            next_update: date_time_ymd(2100, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from(CLIENT_SERIAL),
                revocation_time: date_time_ymd(2024, 1, 1),
                reason_code: None,
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&ca, &ca_key)
        .unwrap();
        let crl_path = dir.join("crl.pem");
        fs::write(&crl_path, crl.pem().unwrap()).unwrap();
        Pki {
            ca: ca_path,
            server_cert,
            server_key,
            client_cert,
            client_key,
            crl_revoking_client: crl_path,
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
