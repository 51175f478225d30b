//! A TLS listener's options beyond its files, checked with the real `openssl s_client` and
//! `mosquitto_pub`: `tls_version = "tlsv1.3"` refuses a TLS 1.2 handshake and takes a 1.3
//! one; `cipher_suites` offers only the suites named (a client that asks for another fails);
//! `crlfile` refuses a client certificate the CA revoked, which the same listener without the
//! list takes.

use std::process::Command;
use std::time::Duration;

use crate::support::{free_port, require_program, run, ConfiguredSkein, Pki};

const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Whether `openssl s_client` with `args` completes a handshake with 127.0.0.1:`port`,
/// verifying the server against `pki`'s CA.
fn handshake(pki: &Pki, port: u16, args: &[&str]) -> bool {
    require_program("openssl", &["version"], "openssl");
    let mut command = Command::new("openssl");
    command
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .arg("-CAfile")
        .arg(&pki.ca)
        .args(["-verify_return_error", "-brief"])
        .args(args);
    let finished = run(command, CLIENT_TIMEOUT);
    finished.success()
}

#[test]
fn tls_version_and_cipher_suites_choose_what_a_handshake_may_use() {
    let mut ports = (0, 0, 0);
    let mut made = None;
    let skein = ConfiguredSkein::start("tls-options", |dir| {
        let pki = Pki::new(dir);
        ports = (free_port(), free_port(), free_port());
        let keys = pki.server_keys();
        let config = format!(
            "[[listener]]\nname = \"plain\"\nbind = \"127.0.0.1:{}\"\n\
             [[listener]]\nname = \"tls13\"\nbind = \"127.0.0.1:{}\"\n{keys}tls_version = \"tlsv1.3\"\n\
             [[listener]]\nname = \"one-suite\"\nbind = \"127.0.0.1:{}\"\n{keys}\
             cipher_suites = [\"TLS13_AES_128_GCM_SHA256\"]\n",
            ports.0, ports.1, ports.2
        );
        made = Some(pki);
        (config, ports.0)
    });
    let pki = made.expect("the setup ran");
    let (_, tls13, one_suite) = ports;
    assert!(handshake(&pki, tls13, &["-tls1_3"]), "{}", skein.log_tail());
    assert!(
        !handshake(&pki, tls13, &["-tls1_2"]),
        "TLS 1.2 on a tlsv1.3 listener"
    );
    assert!(handshake(
        &pki,
        one_suite,
        &["-tls1_3", "-ciphersuites", "TLS_AES_128_GCM_SHA256"]
    ));
    assert!(!handshake(
        &pki,
        one_suite,
        &["-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384"]
    ));
}

#[test]
fn a_client_certificate_the_crl_revokes_is_refused() {
    let mut ports = (0, 0, 0);
    let mut made = None;
    let skein = ConfiguredSkein::start("tls-crl", |dir| {
        let pki = Pki::new(dir);
        ports = (free_port(), free_port(), free_port());
        let keys = pki.server_keys();
        let ca = pki.ca.display().to_string();
        let crl = pki.crl_revoking_client.display().to_string();
        let config = format!(
            "[[listener]]\nname = \"plain\"\nbind = \"127.0.0.1:{}\"\n\
             [[listener]]\nname = \"mutual\"\nbind = \"127.0.0.1:{}\"\n{keys}cafile = {ca:?}\n\
             require_certificate = true\n\
             [[listener]]\nname = \"revoking\"\nbind = \"127.0.0.1:{}\"\n{keys}cafile = {ca:?}\n\
             require_certificate = true\ncrlfile = {crl:?}\n",
            ports.0, ports.1, ports.2
        );
        made = Some(pki);
        (config, ports.0)
    });
    let pki = made.expect("the setup ran");
    let publish = |port: u16| {
        require_program("mosquitto_pub", &["--help"], "mosquitto-clients");
        let mut command = Command::new("mosquitto_pub");
        command
            .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-V", "mqttv311"])
            .arg("--cafile")
            .arg(&pki.ca)
            .arg("--cert")
            .arg(&pki.client_cert)
            .arg("--key")
            .arg(&pki.client_key)
            .args(["-t", "crl/t", "-m", "x", "-q", "1"]);
        run(command, CLIENT_TIMEOUT)
    };
    let (_, mutual, revoking) = ports;
    let taken = publish(mutual);
    assert!(
        taken.success(),
        "{}\n{}",
        taken.describe(),
        skein.log_tail()
    );
    let refused = publish(revoking);
    assert!(!refused.success(), "{}", refused.describe());
    skein.wait_for_log(&["TLS handshake", "Revoked"]);
}
