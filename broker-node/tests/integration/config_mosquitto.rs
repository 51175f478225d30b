//! Coming from Mosquitto: `skein config import` turns a realistic mosquitto.conf
//! (`tests/fixtures/mosquitto.conf`) into a config `skein --check-config` accepts, naming each
//! setting it did not import by its line, and `skein -c mosquitto.conf` runs the broker with
//! the imported configuration: a password file made by `skein passwd` lets the right password
//! in and refuses the wrong one.

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use broker_core::codec::Connect;
use broker_core::types::{ClientId, MqttString, ProtocolVersion, ReasonCode};

use crate::support::mqtt_client::MqttClient;
use crate::support::{free_port, run, scratch_dir, ConfiguredSkein, Finished, Pki};

const SKEIN: &str = env!("CARGO_BIN_EXE_skein");
const WAIT: Duration = Duration::from_secs(20);

/// The fixture: a Mosquitto 2 configuration with listeners, TLS, auth files, limits,
/// persistence, logging, and settings Skein does not have.
const FIXTURE: &str = include_str!("../fixtures/mosquitto.conf");

/// Runs `skein <args>` in `dir`.
fn skein_in(dir: &Path, args: &[&str]) -> Finished {
    let mut command = Command::new(SKEIN);
    command.args(args).current_dir(dir).env_remove("RUST_LOG");
    run(command, WAIT)
}

/// Writes `skein passwd`'s file of alice / alice-pw to `dir/passwd`.
fn password_file(dir: &Path) {
    let finished = skein_in(dir, &["passwd", "-c", "-b", "passwd", "alice", "alice-pw"]);
    assert!(finished.success(), "skein passwd: {}", finished.describe());
}

/// A directory holding the fixture as mosquitto.conf and every file it names.
fn fixture_dir() -> std::path::PathBuf {
    let dir = scratch_dir("mosquitto-import");
    fs::write(dir.join("mosquitto.conf"), FIXTURE).unwrap();
    password_file(&dir);
    fs::write(dir.join("acl"), "user alice\ntopic readwrite sensors/#\n").unwrap();
    let pki_dir = dir.join("pki");
    fs::create_dir(&pki_dir).unwrap();
    let pki = Pki::new(&pki_dir);
    fs::copy(&pki.server_cert, dir.join("server.pem")).unwrap();
    fs::copy(&pki.server_key, dir.join("server.key")).unwrap();
    fs::copy(&pki.ca, dir.join("ca.pem")).unwrap();
    fs::copy(&pki.crl_revoking_client, dir.join("crl.pem")).unwrap();
    dir
}

#[test]
fn config_import_writes_a_config_that_check_config_accepts() {
    let dir = fixture_dir();
    let printed = skein_in(&dir, &["config", "import", "mosquitto.conf"]);
    assert!(printed.success(), "{}", printed.describe());
    let not_imported = [
        "mosquitto.conf line 12: autosave_interval: ",
        "mosquitto.conf line 15: log_dest: ",
        "mosquitto.conf line 29: pid_file: ",
        "mosquitto.conf line 30: user: ",
        "mosquitto.conf line 47: connection: bridges are not supported",
        "mosquitto.conf line 48: address: part of the bridge `connection cloud` (line 47)",
        "mosquitto.conf line 49: topic: ",
    ];
    assert!(
        printed.stdout.contains("# Not imported (7):"),
        "{}",
        printed.stdout
    );
    for line in not_imported {
        assert!(
            printed.stdout.contains(&format!("#   {line}")),
            "{line} missing:\n{}",
            printed.stdout
        );
    }
    assert!(
        printed
            .stderr
            .contains("7 setting(s) of mosquitto.conf not imported"),
        "{}",
        printed.stderr
    );
    // What was imported, through Skein's loader: the TOML is a config of its own.
    let table: toml::Table = printed.stdout.parse().unwrap();
    assert_eq!(table["auth"]["password_file"].as_str(), Some("passwd"));
    assert_eq!(table["auth"]["allow_anonymous"].as_bool(), Some(false));
    assert_eq!(table["limits"]["max_inflight"].as_integer(), Some(40));
    assert_eq!(
        table["session"]["max_session_expiry"].as_integer(),
        Some(604_800)
    );
    assert_eq!(table["storage"]["data_dir"].as_str(), Some("data/"));
    assert_eq!(table["log"]["level"].as_str(), Some("info"));
    let listeners = table["listener"].as_array().unwrap();
    let binds: Vec<&str> = listeners
        .iter()
        .filter_map(|l| l["bind"].as_str())
        .collect();
    assert_eq!(
        binds,
        ["127.0.0.1:1883", "127.0.0.1:8883", "127.0.0.1:9001"]
    );

    let written = skein_in(
        &dir,
        &["config", "import", "mosquitto.conf", "-o", "skein.toml"],
    );
    assert!(written.success(), "{}", written.describe());
    assert_eq!(written.stdout, "");
    assert_eq!(
        fs::read_to_string(dir.join("skein.toml")).unwrap(),
        printed.stdout
    );
    let check = skein_in(&dir, &["--check-config", "-c", "skein.toml"]);
    assert!(check.success(), "{}", check.describe());
    assert!(
        check.stdout.contains("configuration OK (3 listener(s))"),
        "{}",
        check.stdout
    );

    let strict = skein_in(&dir, &["config", "import", "--strict", "mosquitto.conf"]);
    assert_eq!(
        strict.status.and_then(|s| s.code()),
        Some(1),
        "{}",
        strict.describe()
    );
    // --check-config on the Mosquitto file itself imports it and names what it left out.
    let direct = skein_in(&dir, &["--check-config", "-c", "mosquitto.conf"]);
    assert!(direct.success(), "{}", direct.describe());
    assert!(
        direct
            .stderr
            .contains("not imported: mosquitto.conf line 29: pid_file: "),
        "{}",
        direct.stderr
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn config_import_of_a_missing_file_fails_naming_it() {
    let dir = scratch_dir("mosquitto-missing");
    let finished = skein_in(&dir, &["config", "import", "nowhere.conf"]);
    assert!(!finished.success());
    assert!(
        finished.stderr.contains("nowhere.conf: cannot read"),
        "{}",
        finished.stderr
    );
    let _ = fs::remove_dir_all(&dir);
}

/// A CONNECT of `user` with `password` (MQTT 5).
fn login(user: &str, password: &str) -> Connect {
    let mut connect = Connect::new(ProtocolVersion::V5, ClientId::new("importer").unwrap());
    connect.username = Some(MqttString::new(user).unwrap());
    connect.password = Some(password.as_bytes().to_vec().into());
    connect
}

#[tokio::test]
async fn skein_runs_a_mosquitto_conf_with_its_password_file() {
    let mut port = 0;
    let skein = ConfiguredSkein::start_with_file("mosquitto-run", "mosquitto.conf", |dir| {
        password_file(dir);
        port = free_port();
        let config = format!(
            "# Mosquitto's format\nlistener {port} 127.0.0.1\npassword_file passwd\n\
             autosave_interval 60\n"
        );
        (config, port)
    });
    skein.wait_for_log(&[
        "Not imported: ",
        "mosquitto.conf line 4: autosave_interval: ",
    ]);
    let right = MqttClient::connack(port, login("alice", "alice-pw")).await;
    assert_eq!(right.code, ReasonCode::Success, "{}", skein.log_tail());
    let wrong = MqttClient::connack(port, login("alice", "wrong")).await;
    assert_eq!(
        wrong.code,
        ReasonCode::BadUserNameOrPassword,
        "{}",
        skein.log_tail()
    );
    let anonymous = MqttClient::connack(
        port,
        Connect::new(ProtocolVersion::V5, ClientId::new("anon").unwrap()),
    )
    .await;
    assert_eq!(
        anonymous.code,
        ReasonCode::NotAuthorized,
        "{}",
        skein.log_tail()
    );
}
