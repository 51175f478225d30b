//! A password and an ACL file per listener (Mosquitto's `per_listener_settings true`): two
//! listeners of one `skein`, each with a password file of its own written by Debian's
//! `mosquitto_passwd`, one with an ACL file of its own; `mosquitto_pub` is let in on the
//! listener whose file has its user and refused on the other, and the ACL binds only the
//! clients of its listener. The same from a `mosquitto.conf` run with `skein -c`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use broker_core::codec::{Connect, Packet, Publish, QosPid};
use broker_core::types::{ClientId, MqttString, PacketId, ProtocolVersion, ReasonCode, TopicName};

use crate::support::mqtt_client::MqttClient;
use crate::support::{free_port, mosquitto_passwd, require_program, run, ConfiguredSkein};

/// How long a mosquitto client may run.
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

fn path_of(path: &Path) -> String {
    path.to_str().expect("a UTF-8 scratch path").to_owned()
}

/// Writes `DIR/passwd-a` (alice / alice-pw) and `DIR/passwd-b` (bob / bob-pw), and
/// `DIR/acl-b`, which lets bob publish to `b/#` only.
fn write_files(dir: &Path) {
    mosquitto_passwd(&[
        "-c",
        "-b",
        &path_of(&dir.join("passwd-a")),
        "alice",
        "alice-pw",
    ]);
    mosquitto_passwd(&["-c", "-b", &path_of(&dir.join("passwd-b")), "bob", "bob-pw"]);
    std::fs::write(dir.join("acl-b"), "user bob\ntopic write b/#\n").unwrap();
}

/// `mosquitto_pub` (MQTT 3.1.1) as `user` on `port`: whether the broker let it publish.
fn mosquitto_pub(port: u16, user: &str, password: &str) -> bool {
    require_program("mosquitto_pub", &["--help"], "mosquitto-clients");
    let mut command = Command::new("mosquitto_pub");
    command
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-V", "mqttv311"])
        .args(["-u", user, "-P", password, "-t", "b/hello", "-m", "hi"]);
    let finished = run(command, CLIENT_TIMEOUT);
    if !finished.success() {
        assert!(
            finished
                .stderr
                .to_lowercase()
                .contains("bad user name or password"),
            "{}",
            finished.describe()
        );
    }
    finished.success()
}

/// The reason code of the PUBACK of a QoS 1 publish to `topic` by `user` on `port`
/// (MQTT 5).
async fn puback(port: u16, user: &str, password: &str, topic: &str) -> ReasonCode {
    let mut connect = Connect::new(ProtocolVersion::V5, ClientId::new("acl-check").unwrap());
    connect.username = Some(MqttString::new(user).unwrap());
    connect.password = Some(password.as_bytes().to_vec().into());
    let (mut client, _) = MqttClient::connect_with(port, connect).await;
    let mut publish = Publish::new(TopicName::new(topic).unwrap(), b"x".to_vec().into());
    publish.qos_pid = QosPid::AtLeastOnce(PacketId::new(1).unwrap());
    client.send(Packet::Publish(publish)).await;
    match client.recv().await {
        Some(Packet::PubAck(ack)) => ack.code,
        other => panic!("expected PUBACK, got {other:?}"),
    }
}

/// Each listener's users are its own: alice connects on `a` only, bob on `b` only, and the
/// ACL file of `b` binds bob there (0x87 Not authorized outside `b/#`), while `a`, with no
/// ACL file, lets alice publish anywhere.
#[tokio::test]
async fn each_listener_checks_its_own_password_and_acl_files() {
    let mut ports = (0, 0);
    let skein = ConfiguredSkein::start("auth-per-listener", |dir| {
        write_files(dir);
        ports = (free_port(), free_port());
        let config = format!(
            "[[listener]]\nname = \"a\"\nbind = \"127.0.0.1:{}\"\npassword_file = \"passwd-a\"\n\n\
             [[listener]]\nname = \"b\"\nbind = \"127.0.0.1:{}\"\npassword_file = \"passwd-b\"\n\
             acl_file = \"acl-b\"\n",
            ports.0, ports.1
        );
        (config, ports.1)
    });
    skein.wait_for_log(&["Password file passwd-a loaded for listener a (1 users)."]);
    skein.wait_for_log(&["ACL file acl-b loaded for listener b (1 rules)."]);
    let (a, b) = ports;
    assert!(
        mosquitto_pub(a, "alice", "alice-pw"),
        "{}",
        skein.log_tail()
    );
    assert!(
        !mosquitto_pub(b, "alice", "alice-pw"),
        "alice is not a user of b"
    );
    assert!(mosquitto_pub(b, "bob", "bob-pw"), "{}", skein.log_tail());
    assert!(!mosquitto_pub(a, "bob", "bob-pw"), "bob is not a user of a");
    // Allowed: success, with nobody subscribed (0x10 No matching subscribers).
    assert!(!puback(b, "bob", "bob-pw", "b/x").await.is_error());
    assert_eq!(
        puback(b, "bob", "bob-pw", "a/x").await,
        ReasonCode::NotAuthorized
    );
    assert!(!puback(a, "alice", "alice-pw", "a/x").await.is_error());
}

/// `skein -c mosquitto.conf` with `per_listener_settings true`: each listener block's
/// `password_file` is that listener's.
#[tokio::test]
async fn a_mosquitto_conf_with_per_listener_settings_keeps_each_listeners_files() {
    let mut ports = (0, 0);
    let skein =
        ConfiguredSkein::start_with_file("auth-per-listener-conf", "mosquitto.conf", |dir| {
            write_files(dir);
            ports = (free_port(), free_port());
            let config = format!(
                "per_listener_settings true\n\
             listener {} 127.0.0.1\npassword_file passwd-a\n\
             listener {} 127.0.0.1\npassword_file passwd-b\nacl_file acl-b\n",
                ports.0, ports.1
            );
            (config, ports.1)
        });
    let (a, b) = ports;
    assert!(
        mosquitto_pub(a, "alice", "alice-pw"),
        "{}",
        skein.log_tail()
    );
    assert!(!mosquitto_pub(b, "alice", "alice-pw"));
    assert!(mosquitto_pub(b, "bob", "bob-pw"), "{}", skein.log_tail());
    assert!(!mosquitto_pub(a, "bob", "bob-pw"));
    assert_eq!(
        puback(b, "bob", "bob-pw", "a/x").await,
        ReasonCode::NotAuthorized
    );
}
