//! TLS and WebSocket listeners of the `skein` binary with real clients: Python paho-mqtt over
//! TLS, WebSocket and secure WebSocket (`tests/python/transports.py`), and Debian's
//! `mosquitto_pub` / `mosquitto_sub` with `--cafile` (and `--cert` / `--key`).
//!
//! Each test makes a CA, a server certificate (for `localhost` and 127.0.0.1) and a client
//! certificate (CN `alice`) with rcgen, writes a config file with five listeners, starts
//! `skein --config` on it and kills it (by PID) at the end:
//!
//! | listener  | protocol   | TLS                                                    |
//! |-----------|------------|--------------------------------------------------------|
//! | `plain`   | mqtt       | none                                                   |
//! | `tls`     | mqtt       | server certificate only                                |
//! | `mutual`  | mqtt       | client certificate required, its CN is the user name   |
//! | `ws`      | websockets | none                                                   |
//! | `wss`     | websockets | server certificate only                                |

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::support::{
    free_port, require_paho, require_program, run, tail, ConfiguredSkein, Pki, Running,
};

/// How long a client program may run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(45);

/// The ports of the five listeners.
#[derive(Debug, Clone, Copy)]
struct Ports {
    plain: u16,
    tls: u16,
    mutual: u16,
    ws: u16,
    wss: u16,
}

/// A `skein` process with the five listeners, killed on drop.
struct TlsBroker {
    skein: ConfiguredSkein,
    ports: Ports,
    pki: Pki,
}

impl TlsBroker {
    fn start() -> TlsBroker {
        let mut made = None;
        let skein = ConfiguredSkein::start("tls", |dir| {
            let pki = Pki::new(dir);
            let ports = Ports {
                plain: free_port(),
                tls: free_port(),
                mutual: free_port(),
                ws: free_port(),
                wss: free_port(),
            };
            let server = pki.server_keys();
            let config = format!(
                "[[listener]]\nname = \"plain\"\nbind = \"127.0.0.1:{}\"\n\n\
                 [[listener]]\nname = \"tls\"\nbind = \"127.0.0.1:{}\"\n{server}\n\
                 [[listener]]\nname = \"mutual\"\nbind = \"127.0.0.1:{}\"\n{server}\
                 cafile = {:?}\nrequire_certificate = true\nuse_identity_as_username = true\n\n\
                 [[listener]]\nname = \"ws\"\nbind = \"127.0.0.1:{}\"\nprotocol = \"websockets\"\n\n\
                 [[listener]]\nname = \"wss\"\nbind = \"127.0.0.1:{}\"\nprotocol = \"websockets\"\n\
                 {server}",
                ports.plain,
                ports.tls,
                ports.mutual,
                pki.ca.display().to_string(),
                ports.ws,
                ports.wss,
            );
            let plain = ports.plain;
            made = Some((ports, pki));
            (config, plain)
        });
        let (ports, pki) = made.expect("the setup ran");
        TlsBroker { skein, ports, pki }
    }

    fn log(&self) -> String {
        self.skein.log()
    }

    /// Waits until the log has a line containing every one of `parts`.
    fn wait_for_log(&self, parts: &[&str]) -> String {
        self.skein.wait_for_log(parts)
    }

    /// Runs `transports.py` against `port`; `cert` presents the client certificate.
    fn paho(&self, port: u16, version: &str, transport: &str, tls: bool, cert: bool, expect: &str) {
        require_paho();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/transports.py");
        let file = |path: &Path, on: bool| {
            if on {
                path.display().to_string()
            } else {
                "-".to_owned()
            }
        };
        let mut command = Command::new("python3");
        command
            .arg(script)
            .arg(port.to_string())
            .args([version, transport])
            .arg(file(&self.pki.ca, tls))
            .arg(file(&self.pki.client_cert, cert))
            .arg(file(&self.pki.client_key, cert))
            .arg(expect)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1");
        let finished = run(command, CLIENT_TIMEOUT);
        assert!(
            finished.success(),
            "transports.py {port} {version} {transport} tls={tls} cert={cert} {expect}: {}\n\
             --- broker log (tail) ---\n{}",
            finished.describe(),
            tail(&self.log(), 40)
        );
    }
}

#[test]
fn paho_over_tls_v311_and_v5() {
    let broker = TlsBroker::start();
    broker.paho(broker.ports.tls, "3.1.1", "tcp", true, false, "ok");
    broker.paho(broker.ports.tls, "5", "tcp", true, false, "ok");
}

#[test]
fn paho_over_websockets_mqtt_6_0_0_3_and_4() {
    let broker = TlsBroker::start();
    broker.paho(broker.ports.ws, "3.1.1", "websockets", false, false, "ok");
    broker.paho(broker.ports.ws, "5", "websockets", false, false, "ok");
}

#[test]
fn paho_over_secure_websockets() {
    let broker = TlsBroker::start();
    broker.paho(broker.ports.wss, "3.1.1", "websockets", true, false, "ok");
    broker.paho(broker.ports.wss, "5", "websockets", true, false, "ok");
}

/// A listener that requires a client certificate: paho with one connects (and its user name
/// is the certificate's CN), paho without one is refused.
#[test]
fn paho_with_a_client_certificate_and_without_where_one_is_required() {
    let broker = TlsBroker::start();
    broker.paho(broker.ports.mutual, "3.1.1", "tcp", true, true, "ok");
    let line = broker.wait_for_log(&["New client connected", "as tcp-tls-sub ("]);
    assert!(line.ends_with(", ualice)."), "{line}");
    broker.paho(broker.ports.mutual, "5", "tcp", true, false, "refused");
}

/// `mosquitto_sub` and `mosquitto_pub` with `--cafile` on the TLS listener: the message
/// arrives.
#[test]
fn mosquitto_pub_with_cafile_reaches_a_tls_subscriber() {
    let broker = TlsBroker::start();
    let received = pub_sub(
        &broker,
        broker.ports.tls,
        &[],
        "it/tls/mosquitto",
        "hello over tls",
    );
    assert_eq!(received.trim(), "hello over tls");
}

/// `mosquitto_pub --cert --key` on the listener that requires a certificate and maps its CN
/// to the user name; without `--cert` it cannot connect.
#[test]
fn mosquitto_with_a_client_certificate_and_without_where_one_is_required() {
    let broker = TlsBroker::start();
    let cert = broker.pki.client_cert.display().to_string();
    let key = broker.pki.client_key.display().to_string();
    let with_cert = ["--cert", cert.as_str(), "--key", key.as_str()];
    let received = pub_sub(
        &broker,
        broker.ports.mutual,
        &with_cert,
        "it/mutual",
        "from alice",
    );
    assert_eq!(received.trim(), "from alice");
    let line = broker.wait_for_log(&["New client connected", "as tls-pub ("]);
    assert!(line.ends_with(", ualice)."), "{line}");

    let mut command = mosquitto("mosquitto_pub", &broker, broker.ports.mutual, &[]);
    command.args(["-i", "no-cert", "-t", "it/mutual", "-m", "nobody"]);
    let refused = run(command, CLIENT_TIMEOUT);
    assert!(
        !refused.success(),
        "mosquitto_pub without a certificate succeeded: {}",
        refused.describe()
    );
}

/// A `mosquitto_pub` / `mosquitto_sub` command for `port` with the test CA and `extra`
/// arguments.
fn mosquitto(program: &str, broker: &TlsBroker, port: u16, extra: &[&str]) -> Command {
    require_program(program, &["--help"], "mosquitto-clients");
    let mut command = Command::new(program);
    command
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-V", "mqttv311"])
        .arg("--cafile")
        .arg(&broker.pki.ca)
        .args(extra);
    command
}

/// Subscribes with `mosquitto_sub` (waiting for its SUBSCRIBE in the broker log), publishes
/// with `mosquitto_pub`, both on `port` with `extra` arguments; returns what the subscriber
/// printed.
fn pub_sub(broker: &TlsBroker, port: u16, extra: &[&str], topic: &str, message: &str) -> String {
    let mut sub = mosquitto("mosquitto_sub", broker, port, extra);
    sub.args([
        "-i", "tls-sub", "-t", topic, "-q", "1", "-C", "1", "-W", "20",
    ]);
    let sub = Running::start(sub);
    broker.wait_for_log(&["Received SUBSCRIBE from tls-sub"]);
    // The SUBSCRIBE is logged before the subscription is made: let it settle.
    thread::sleep(Duration::from_millis(200));
    let mut command = mosquitto("mosquitto_pub", broker, port, extra);
    command.args(["-i", "tls-pub", "-t", topic, "-q", "1", "-m", message]);
    let published = run(command, CLIENT_TIMEOUT);
    assert!(
        published.success(),
        "mosquitto_pub failed: {}\n--- broker log ---\n{}",
        published.describe(),
        tail(&broker.log(), 40)
    );
    let finished = sub.finish(CLIENT_TIMEOUT);
    assert!(
        finished.success(),
        "mosquitto_sub failed: {}\n--- broker log ---\n{}",
        finished.describe(),
        tail(&broker.log(), 40)
    );
    finished.stdout
}
