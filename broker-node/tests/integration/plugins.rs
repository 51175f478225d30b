//! `[[plugins]]` end to end: the `skein` binary loads the `acl` example plugin
//! (`plugins/examples/acl`, built from source for wasm32-unknown-unknown), and its decisions
//! reach real clients: an MQTT 5 publisher gets PUBACK 0x00 or 0x87 (Not authorized,
//! [MQTT-3.3.4-1]'s answer carrying the refusal), a subscriber receives only what was
//! allowed; a required plugin that cannot be loaded stops the start, an optional one does not.
//! The `http-auth` example asks a backend on 127.0.0.1 whom to let in.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use broker_core::types::{ProtocolVersion, ReasonCode};
use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet, QoS};

use crate::support::http_backend::{Backend, Reply};
use crate::support::plugin_build::example_wasm;
use crate::support::raw_publisher::{Answer, Publisher};
use crate::support::rumqttc_client::{publish_fields, Client};
use crate::support::{free_port, run, scratch_dir, ConfiguredSkein};

const WAIT: Duration = Duration::from_secs(10);

fn plugin_table(path: &Path, rest: &str) -> String {
    format!(
        "[[plugins]]\nname = \"acl\"\npath = {:?}\n{rest}\n[plugins.config]\n\
         publish = \"sensors/%c/#\"\nsubscribe = \"sensors/#\"\n",
        path.display().to_string()
    )
}

/// A config with one listener on `port`, the memory store, and `plugins`.
fn node_config(port: u16, plugins: &str) -> String {
    format!(
        "[[listener]]\nbind = \"127.0.0.1:{port}\"\n[storage]\ndurability = \"memory\"\n{plugins}"
    )
}

fn start(tag: &str, plugin: &str) -> (ConfiguredSkein, u16) {
    let mut port = 0;
    let skein = ConfiguredSkein::start(tag, |_| {
        port = free_port();
        (node_config(port, plugin), port)
    });
    (skein, port)
}

#[tokio::test]
async fn the_acl_plugin_decides_who_publishes_where_for_real_clients_mqtt_3_3_4_1() {
    let (skein, port) = start("plugin-acl", &plugin_table(&example_wasm("acl"), ""));
    skein.wait_for_log(&["Plugin acl 0.1.0 loaded from"]);
    let (mut sub, _) = Client::connect(port, skein.log_path(), "watcher", true).await;
    sub.subscribe("sensors/#", QoS::AtLeastOnce).await;
    let mut dev1 = Publisher::connect(port, ProtocolVersion::V5, "dev1").await;
    let mine = dev1
        .publish_qos1("sensors/dev1/t", b"mine".to_vec(), WAIT)
        .await;
    assert_eq!(
        mine,
        Answer::PubAck(ReasonCode::Success),
        "{}",
        skein.log_tail()
    );
    let theirs = dev1
        .publish_qos1("sensors/dev2/t", b"theirs".to_vec(), WAIT)
        .await;
    assert_eq!(
        theirs,
        Answer::PubAck(ReasonCode::NotAuthorized),
        "{}",
        skein.log_tail()
    );
    let again = dev1
        .publish_qos1("sensors/dev1/u", b"again".to_vec(), WAIT)
        .await;
    assert_eq!(again, Answer::PubAck(ReasonCode::Success));
    // The subscriber gets the allowed messages, in order, and not the refused one.
    for expected in ["mine", "again"] {
        let (topic, payload, _, _) = publish_fields("watcher", sub.next("a message").await);
        assert_eq!(String::from_utf8_lossy(&payload), expected, "on {topic}");
    }
    sub.disconnect().await;
}

fn skein_with(config: &str, tag: &str) -> Command {
    let dir = scratch_dir(tag);
    let path = dir.join("skein.toml");
    std::fs::write(&path, config).unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_skein"));
    command.arg("--config").arg(&path).current_dir(&dir);
    command
}

#[test]
fn a_required_plugin_that_does_not_load_stops_the_start_and_an_optional_one_does_not() {
    let port = free_port();
    let missing = Path::new("no-such-plugin.wasm");
    let config = node_config(port, &plugin_table(missing, ""));
    let refused = run(skein_with(&config, "plugin-missing"), WAIT);
    assert!(!refused.success(), "{}", refused.describe());
    assert!(
        refused.stderr.contains("plugins[0].path")
            && refused.stderr.contains("no-such-plugin.wasm"),
        "{}",
        refused.describe()
    );
    // There, but not a plugin: the load says which plugin, and why.
    let junk = scratch_dir("plugin-junk").join("junk.wasm");
    std::fs::write(&junk, b"not a plugin").unwrap();
    let config = node_config(port, &plugin_table(&junk, ""));
    let refused = run(skein_with(&config, "plugin-junk"), WAIT);
    assert!(!refused.success(), "{}", refused.describe());
    assert!(
        refused.stderr.contains("plugin acl is required")
            && refused
                .stderr
                .contains("not a WebAssembly component or module"),
        "{}",
        refused.describe()
    );
    let config = node_config(port, &plugin_table(missing, "required = false"));
    let skein = ConfiguredSkein::start("plugin-optional", |_| (config.clone(), port));
    skein.wait_for_log(&["Plugin acl was not loaded; the broker starts without it"]);
}

/// SIGHUP reloads a plugin: its file is read again and its `${file:}` references resolved
/// again, so rules kept in a file change without a restart; the chain forgets its cached
/// decisions, and the next publish is decided by the new rules. A plugin file broken on disk
/// fails the next reload, and the running version keeps deciding.
#[tokio::test]
async fn sighup_reloads_a_plugin_and_its_rules_and_a_broken_file_keeps_the_running_one() {
    let (mut rules, mut wasm) = (PathBuf::new(), PathBuf::new());
    let mut port = 0;
    let skein = ConfiguredSkein::start("plugin-reload", |dir| {
        port = free_port();
        rules = dir.join("publish.rules");
        std::fs::write(&rules, "sensors/%c/#\n").unwrap();
        wasm = dir.join("acl.wasm");
        std::fs::copy(example_wasm("acl"), &wasm).unwrap();
        let table = format!(
            "[[plugins]]\nname = \"acl\"\npath = {:?}\n[plugins.config]\npublish = \"${{file:{}}}\"\nsubscribe = \"#\"\n",
            wasm.display().to_string(),
            rules.display()
        );
        (node_config(port, &table), port)
    });
    // Someone to deliver to: an allowed message is answered 0x00, not 0x10.
    let (mut watcher, _) = Client::connect(port, skein.log_path(), "watcher", true).await;
    watcher.subscribe("#", QoS::AtMostOnce).await;
    let mut dev1 = Publisher::connect(port, ProtocolVersion::V5, "dev1").await;
    let ok = Answer::PubAck(ReasonCode::Success);
    let refused = Answer::PubAck(ReasonCode::NotAuthorized);
    assert_eq!(
        dev1.publish_qos1("sensors/dev1/t", b"1".to_vec(), WAIT)
            .await,
        ok
    );
    assert_eq!(
        dev1.publish_qos1("other/t", b"2".to_vec(), WAIT).await,
        refused
    );

    std::fs::write(&rules, "other/#\n").unwrap();
    skein.hangup();
    skein.wait_for_log(&["Reloading plugin acl (version 0.1.0)."]);
    assert_eq!(
        dev1.publish_qos1("other/t", b"3".to_vec(), WAIT).await,
        ok,
        "{}",
        skein.log_tail()
    );
    assert_eq!(
        dev1.publish_qos1("sensors/dev1/t", b"4".to_vec(), WAIT)
            .await,
        refused
    );

    std::fs::write(&wasm, b"junk").unwrap();
    std::fs::write(&rules, "sensors/%c/#\n").unwrap();
    skein.hangup();
    skein.wait_for_log(&["Reloading plugin acl failed, version 0.1.0 keeps serving"]);
    assert_eq!(dev1.publish_qos1("other/t", b"5".to_vec(), WAIT).await, ok);
    watcher.disconnect().await;
}

/// An MQTT 3.1.1 rumqttc client connecting as `user`: its CONNACK return code.
async fn rumqttc_connect(port: u16, id: &str, user: &str, password: &str) -> ConnectReturnCode {
    let mut options = MqttOptions::new(id, "127.0.0.1", port);
    options.set_credentials(user, password);
    let (_client, mut eventloop) = AsyncClient::new(options, 4);
    for _ in 0..8 {
        match tokio::time::timeout(WAIT, eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::ConnAck(ack)))) => return ack.code,
            Ok(Ok(_)) => {}
            Ok(Err(ConnectionError::ConnectionRefused(code))) => return code,
            other => panic!("{id}: no CONNACK: {other:?}"),
        }
    }
    panic!("{id}: no CONNACK among the first events");
}

/// The http-auth example in `[[plugins]]`: the backend on 127.0.0.1 decides who connects, an
/// MQTT 5 client refused gets CONNACK 0x86 with Session Present 0 ([MQTT-3.2.2-6]) and the
/// connection closed ([MQTT-3.1.4-2]), an MQTT 3.1.1 client return code 4; the same
/// credentials again are answered from the plugin's cache, without asking the backend.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_http_auth_plugin_lets_in_whom_its_backend_allows_mqtt_3_1_4_2_mqtt_3_2_2_6() {
    // As EMQX's HTTP authentication expects a backend: user alice allowed, anyone denied.
    let backend = Backend::start(|request| {
        let result = if request["username"] == "alice" {
            "allow"
        } else {
            "deny"
        };
        Reply::Answer(200, format!(r#"{{"result":"{result}"}}"#))
    });
    let origin = backend.origin();
    let table = format!(
        "[[plugins]]\nname = \"http-auth\"\npath = {:?}\ngrants = [\"log\", \"kv\", \"http\"]\n\
         http_allow = [\"{origin}\"]\nhttp_timeout_ms = 2000\nauth_deadline_ms = 5000\n\
         [plugins.config]\nurl = \"{}\"\n",
        example_wasm("http-auth").display().to_string(),
        backend.url()
    );
    let (skein, port) = start("plugin-http-auth", &table);
    skein.wait_for_log(&["Plugin http-auth 0.1.0 loaded from"]);

    let (ack, _) = Publisher::connect_as(port, ProtocolVersion::V5, "dev-a", "alice", "pw").await;
    assert_eq!(ack.code, ReasonCode::Success, "{}", skein.log_tail());
    let (ack, closed) =
        Publisher::connect_as(port, ProtocolVersion::V5, "dev-b", "bob", "pw").await;
    assert_eq!(
        ack.code,
        ReasonCode::BadUserNameOrPassword,
        "{}",
        skein.log_tail()
    );
    assert!(!ack.session_present);
    assert!(closed, "the refused connection must be closed");
    assert_eq!(backend.requests().len(), 2);

    // A real 3.1.1 client with the same credentials: answered from the cache.
    assert_eq!(
        rumqttc_connect(port, "dev-a", "alice", "pw").await,
        ConnectReturnCode::Success
    );
    assert_eq!(
        rumqttc_connect(port, "dev-b", "bob", "pw").await,
        ConnectReturnCode::BadUserNamePassword
    );
    assert_eq!(backend.requests().len(), 2);
    // Other credentials: asked.
    assert_eq!(
        rumqttc_connect(port, "dev-c", "carol", "pw").await,
        ConnectReturnCode::BadUserNamePassword
    );
    assert_eq!(backend.requests().len(), 3);
}
