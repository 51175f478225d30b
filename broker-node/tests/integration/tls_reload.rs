//! SIGHUP reloads a TLS listener's certificate and key without dropping its clients: a
//! `mosquitto_sub` connected with the first certificate keeps its session and gets a message
//! published after the rotation; new handshakes get the new certificate (a client that
//! trusts only the new CA connects, one that trusts only the old CA no longer does); files
//! that do not load keep the ones in force.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::support::{free_port, require_program, run, scratch_dir, ConfiguredSkein, Pki, Running};

const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// A `mosquitto_pub` / `mosquitto_sub` on `port` trusting `ca`.
fn mosquitto(program: &str, port: u16, ca: &Path, extra: &[&str]) -> Command {
    require_program(program, &["--help"], "mosquitto-clients");
    let mut command = Command::new(program);
    command
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-V", "mqttv311"])
        .arg("--cafile")
        .arg(ca)
        .args(extra);
    command
}

fn publish(port: u16, ca: &Path, id: &str, message: &str) -> bool {
    let mut command = mosquitto("mosquitto_pub", port, ca, &[]);
    command.args(["-i", id, "-t", "rotated", "-q", "1", "-m", message]);
    run(command, CLIENT_TIMEOUT).success()
}

#[test]
fn sighup_rotates_the_tls_certificate_for_new_handshakes_and_keeps_connected_clients() {
    let old = Pki::new(&scratch_dir("tls-old-pki"));
    let new = Pki::new(&scratch_dir("tls-new-pki"));
    let mut port = 0;
    let mut files = None;
    let skein = ConfiguredSkein::start("tls-reload", |dir| {
        port = free_port();
        let cert = dir.join("server.pem");
        let key = dir.join("server.key");
        std::fs::copy(&old.server_cert, &cert).unwrap();
        std::fs::copy(&old.server_key, &key).unwrap();
        let config = format!(
            "[[listener]]\nname = \"tls\"\nbind = \"127.0.0.1:{port}\"\ncertfile = {:?}\nkeyfile = {:?}\n\
             [storage]\ndurability = \"memory\"\n",
            cert.display().to_string(),
            key.display().to_string()
        );
        files = Some((cert, key));
        (config, port)
    });
    let (cert, key) = files.expect("the setup ran");

    let mut sub = mosquitto("mosquitto_sub", port, &old.ca, &[]);
    sub.args([
        "-i", "old-sub", "-t", "rotated", "-q", "1", "-C", "2", "-W", "20",
    ]);
    let sub = Running::start(sub);
    skein.wait_for_log(&["Received SUBSCRIBE from old-sub"]);

    // Files that do not load: the certificate in force stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    skein.hangup();
    skein.wait_for_log(&["Reloading the TLS files of listener tls failed, the ones in force stay"]);
    assert!(
        publish(port, &old.ca, "old-pub", "still old"),
        "{}",
        skein.log_tail()
    );

    std::fs::copy(&new.server_cert, &cert).unwrap();
    std::fs::copy(&new.server_key, &key).unwrap();
    skein.hangup();
    skein.wait_for_log(&["Reloading the TLS files of listener tls: new handshakes use them."]);
    assert!(
        !publish(port, &old.ca, "stale-pub", "refused"),
        "a client trusting only the old CA must fail its handshake now"
    );
    assert!(
        publish(port, &new.ca, "new-pub", "after rotation"),
        "{}",
        skein.log_tail()
    );

    // The subscriber connected before the rotation got the messages from before and after
    // it, on its one connection (its -C 2 ends it then).
    let finished = sub.finish(CLIENT_TIMEOUT);
    assert!(finished.success(), "{}", finished.describe());
    assert_eq!(
        finished.stdout.lines().collect::<Vec<_>>(),
        ["still old", "after rotation"],
        "{}",
        skein.log_tail()
    );
}
