//! `skein ctl` against a running skein's admin endpoint: every subcommand, its tables and
//! `--json`, the token from the environment, and the errors an operator meets (a wrong
//! token, an endpoint that is off, an unknown client) with exit status 1. Over mTLS too, and
//! over TLS across a certificate rotation (SIGHUP).

use std::process::Command;
use std::time::Duration;

use broker_core::codec::Packet;
use broker_core::types::{ProtocolVersion, QoS, ReasonCode};
use serde_json::Value;

use crate::support::admin_skein::{AdminSkein, TOKEN};
use crate::support::mqtt_client::MqttClient;
use crate::support::{free_port, run, scratch_dir, Finished, Pki};

const V5: ProtocolVersion = ProtocolVersion::V5;

fn ok(finished: &Finished, what: &str) -> String {
    assert!(finished.success(), "{what}: {}", finished.describe());
    finished.stdout.clone()
}

fn failed(finished: &Finished, what: &str) -> String {
    assert_eq!(
        finished.status.and_then(|status| status.code()),
        Some(1),
        "{what}: {}",
        finished.describe()
    );
    finished.stderr.clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_subcommand_does_what_it_says() {
    let skein = AdminSkein::start("ctl", |_| String::new());
    let port = skein.mqtt_port;
    let (mut watcher, _) = MqttClient::connect(port, V5, "watcher", true).await;
    watcher.subscribe("ctl/#", QoS::AtLeastOnce).await;
    let (mut kept, _) = MqttClient::connect(port, V5, "kept", false).await;

    let listing = ok(
        &skein.ctl(&["clients", "list", "--connected"]),
        "clients list",
    );
    let header = listing.lines().next().unwrap_or_default();
    assert!(header.starts_with("CLIENT ID"), "{listing}");
    assert!(
        listing.contains("kept") && listing.contains("watcher"),
        "{listing}"
    );
    let json: Value = serde_json::from_str(&ok(
        &skein.ctl(&["clients", "list", "--prefix", "wat", "--json"]),
        "clients list --json",
    ))
    .unwrap();
    assert_eq!(json["data"][0]["client_id"], "watcher");
    assert_eq!(json["data"].as_array().unwrap().len(), 1);
    let limited = ok(&skein.ctl(&["clients", "list", "--limit", "1"]), "--limit");
    assert!(limited.contains("More: --cursor"), "{limited}");

    let shown = ok(&skein.ctl(&["clients", "show", "watcher"]), "clients show");
    assert!(shown.contains("ctl/#") && shown.contains("5.0"), "{shown}");
    let subscriptions = ok(&skein.ctl(&["subscriptions", "list"]), "subscriptions list");
    assert!(
        subscriptions.contains("watcher") && subscriptions.contains("ctl/#"),
        "{subscriptions}"
    );

    let published = ok(
        &skein.ctl(&[
            "publish",
            "--topic",
            "ctl/news",
            "--message",
            "hello",
            "--qos",
            "1",
            "--retain",
        ]),
        "publish",
    );
    assert_eq!(published.trim(), "Published.");
    let publish = watcher.recv_publish().await;
    assert_eq!(&publish.payload[..], b"hello");
    let retained = ok(
        &skein.ctl(&["retained", "list", "--filter", "ctl/#"]),
        "retained list",
    );
    assert!(
        retained.contains("ctl/news") && retained.contains("hello"),
        "{retained}"
    );
    let deleted = ok(
        &skein.ctl(&["retained", "delete", "--topic", "ctl/news"]),
        "retained delete",
    );
    assert_eq!(deleted.trim(), "Deleted 1 retained message(s).");
    let none = ok(&skein.ctl(&["retained", "list"]), "retained list");
    assert_eq!(none.trim(), "(none)");
    let by_filter = ok(
        &skein.ctl(&["retained", "delete", "--filter", "nothing/#"]),
        "delete --filter",
    );
    assert_eq!(by_filter.trim(), "Deleted 0 retained message(s).");

    let kicked = ok(&skein.ctl(&["clients", "kick", "kept"]), "clients kick");
    assert_eq!(kicked.trim(), "Client kept disconnected.");
    match kept.until_closed().await.as_slice() {
        [Packet::Disconnect(d)] => assert_eq!(d.code, ReasonCode::AdministrativeAction),
        other => panic!("expected DISCONNECT 0x98, got {other:?}"),
    }
    let discarded = ok(
        &skein.ctl(&["clients", "kick", "kept", "--discard-session"]),
        "kick --discard-session",
    );
    assert_eq!(discarded.trim(), "Session of client kept discarded.");
    let (_back, ack) = MqttClient::connect(port, V5, "kept", false).await;
    assert!(!ack.session_present);

    let status = ok(&skein.ctl(&["status"]), "status");
    assert!(status.contains("Clients connected"), "{status}");
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_exit_1_with_a_clear_message() {
    let skein = AdminSkein::start("ctl-errors", |_| String::new());
    let unknown = failed(&skein.ctl(&["clients", "show", "nobody"]), "unknown client");
    assert!(
        unknown.contains("no client \"nobody\"") && unknown.contains("404"),
        "{unknown}"
    );

    let mut wrong = Command::new(env!("CARGO_BIN_EXE_skein"));
    wrong.args([
        "ctl",
        "--url",
        &skein.url,
        "--token",
        "not-the-token-at-all",
        "status",
    ]);
    let wrong = failed(&run(wrong, Duration::from_secs(30)), "wrong token");
    assert!(wrong.contains("401"), "{wrong}");

    let mut from_env = Command::new(env!("CARGO_BIN_EXE_skein"));
    from_env
        .args(["ctl", "--url", &skein.url, "status"])
        .env("SKEIN_ADMIN_TOKEN", TOKEN);
    ok(
        &run(from_env, Duration::from_secs(30)),
        "token from SKEIN_ADMIN_TOKEN",
    );

    let mut off = Command::new(env!("CARGO_BIN_EXE_skein"));
    off.args([
        "ctl",
        "--url",
        &format!("http://127.0.0.1:{}", free_port()),
        "status",
    ]);
    let off = failed(&run(off, Duration::from_secs(30)), "no endpoint");
    assert!(
        off.contains("is the admin endpoint enabled? ([admin] bind)"),
        "{off}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn over_mtls_a_client_certificate_is_needed() {
    let mut pki = None;
    let skein = AdminSkein::start("ctl-mtls", |dir| {
        let made = Pki::new(dir);
        let extra = format!(
            "certfile = \"{}\"\nkeyfile = \"{}\"\ncafile = \"{}\"\n",
            made.server_cert.display(),
            made.server_key.display(),
            made.ca.display()
        );
        pki = Some(made);
        extra
    });
    let pki = pki.expect("the setup ran");
    assert!(skein.url.starts_with("https://"));
    let ca = pki.ca.display().to_string();
    let with_cert = skein.ctl(&[
        "--cacert",
        &ca,
        "--cert",
        &pki.client_cert.display().to_string(),
        "--key",
        &pki.client_key.display().to_string(),
        "status",
    ]);
    ok(&with_cert, "status with a client certificate");
    let without = failed(
        &skein.ctl(&["--cacert", &ca, "status"]),
        "no client certificate",
    );
    assert!(without.contains("failed"), "{without}");
}

#[test]
fn sighup_rotates_the_admin_endpoints_certificate_for_new_handshakes() {
    let old = Pki::new(&scratch_dir("admin-tls-old-pki"));
    let new = Pki::new(&scratch_dir("admin-tls-new-pki"));
    let mut files = None;
    let admin = AdminSkein::start("admin-tls-reload", |dir| {
        let cert = dir.join("admin.pem");
        let key = dir.join("admin.key");
        std::fs::copy(&old.server_cert, &cert).unwrap();
        std::fs::copy(&old.server_key, &key).unwrap();
        let extra = format!(
            "certfile = \"{}\"\nkeyfile = \"{}\"\n",
            cert.display(),
            key.display()
        );
        files = Some((cert, key));
        extra
    });
    let (cert, key) = files.expect("the setup ran");
    let status = |pki: &Pki| admin.ctl(&["--cacert", &pki.ca.display().to_string(), "status"]);
    ok(&status(&old), "status over the first certificate");

    // Files that do not load: the certificate in force stays.
    std::fs::write(&cert, "not a certificate").unwrap();
    admin.skein.hangup();
    admin
        .skein
        .wait_for_log(&["Reloading the admin endpoint's TLS files failed, the ones in force stay"]);
    ok(&status(&old), "status over the first certificate, kept");

    std::fs::copy(&new.server_cert, &cert).unwrap();
    std::fs::copy(&new.server_key, &key).unwrap();
    admin.skein.hangup();
    admin
        .skein
        .wait_for_log(&["Reloading the admin endpoint's TLS files: new handshakes use them."]);
    failed(&status(&old), "a client trusting only the old CA");
    ok(&status(&new), "status over the new certificate");
}
