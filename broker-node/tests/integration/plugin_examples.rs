//! The `jwt-auth` and `topic-rewrite` example plugins end to end: the `skein` binary loads
//! them (built from source), and real clients see their decisions.
//!
//! - jwt-auth, through paho-mqtt (MQTT 3.1.1 and 5, `tests/python/plugin_jwt.py`): an RS256
//!   token in the password, verified with the public key in the plugin's configuration (read
//!   from a file by `${file:...}`); its `topic_prefix` claim is the client's ACL.
//! - topic-rewrite, through rumqttc: a publish to `x/y/<rest>` arrives as `z/y/<rest>`, a
//!   subscription to `old/<rest>` is one to `new/<rest>`.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use rumqttc::QoS;
use sha2::Sha256;

use crate::support::plugin_build::example_wasm;
use crate::support::rumqttc_client::{publish_fields, Client};
use crate::support::{free_port, python_command, run, ConfiguredSkein, PYTHON_TIMEOUT};

/// The RSA key the plugin host's tests sign with; it guards nothing.
const TEST_KEY: &str = include_str!("../../../plugins/wasm/tests/data/rs256-test-key.pem");

fn rs256(key: &RsaPrivateKey, claims: &str) -> String {
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#);
    let signed = format!("{header}.{}", URL_SAFE_NO_PAD.encode(claims));
    let signature = SigningKey::<Sha256>::new(key.clone())
        .sign(signed.as_bytes())
        .to_bytes();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// One listener on a free port and `plugin` (a `[[plugins]]` table); the memory store.
fn start(tag: &str, plugin: impl Fn(&Path) -> String) -> (ConfiguredSkein, u16) {
    let mut port = 0;
    let skein = ConfiguredSkein::start(tag, |dir| {
        port = free_port();
        let config = format!(
            "[[listener]]\nbind = \"127.0.0.1:{port}\"\n[storage]\ndurability = \"memory\"\n{}",
            plugin(dir)
        );
        (config, port)
    });
    (skein, port)
}

fn jwt_broker() -> (ConfiguredSkein, u16) {
    let key = RsaPrivateKey::from_pkcs8_pem(TEST_KEY).unwrap();
    let public = key
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .unwrap();
    let (skein, port) = start("plugin-jwt", |dir| {
        let pem = dir.join("jwt.pem");
        std::fs::write(&pem, &public).unwrap();
        format!(
            "[[plugins]]\nname = \"jwt\"\npath = {:?}\n[plugins.config]\n\
             public-key = \"${{file:{}}}\"\nprefix-claim = \"topic_prefix\"\n",
            example_wasm("jwt-auth").display().to_string(),
            pem.display()
        )
    });
    skein.wait_for_log(&["Plugin jwt 0.1.0 loaded from"]);
    (skein, port)
}

fn paho_jwt(skein: &ConfiguredSkein, port: u16, version: &str) {
    let key = RsaPrivateKey::from_pkcs8_pem(TEST_KEY).unwrap();
    let exp = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        + 3600;
    let claims = format!(r#"{{"sub":"car","exp":{exp},"topic_prefix":"fleet/7/"}}"#);
    let token = rs256(&key, &claims);
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims.replace("fleet/7/", "fleet/"));
    let forged = parts.join(".");
    let args = [version, "car", &token, &forged, "fleet/7/"];
    let finished = run(python_command("plugin_jwt.py", port, &args), PYTHON_TIMEOUT);
    assert!(
        finished.success(),
        "plugin_jwt.py {version}: {}\n--- broker log (tail) ---\n{}",
        finished.describe(),
        skein.log_tail()
    );
}

/// MQTT 5: 0x86 for a forged token ([MQTT-3.1.4-2], [MQTT-3.2.2-6]), SUBACK and PUBACK 0x87
/// outside the token's prefix ([MQTT-3.9.3-1]).
#[test]
fn paho_v5_jwt_plugin_rs256_token_and_its_prefix_claim_as_acl_mqtt_3_1_4_2() {
    let (skein, port) = jwt_broker();
    paho_jwt(&skein, port, "5");
}

/// MQTT 3.1.1: return code 4 for a forged token, SUBACK 0x80 outside the prefix
/// ([MQTT-3.9.3-2] allows it), and a refused publish delivered to nobody.
#[test]
fn paho_v311_jwt_plugin_rs256_token_and_its_prefix_claim_as_acl_mqtt_3_9_3_2() {
    let (skein, port) = jwt_broker();
    paho_jwt(&skein, port, "3.1.1");
}

#[tokio::test]
async fn the_topic_rewrite_plugin_rewrites_what_real_clients_publish_and_subscribe() {
    let (skein, port) = start("plugin-rewrite", |_| {
        format!(
            "[[plugins]]\nname = \"rewrite\"\npath = {:?}\n[plugins.config]\n\
             \"publish.1\" = \"x/y/+ | ^x/y/(.+)$ | z/y/$1\"\n\
             \"subscribe.1\" = \"old/# | ^old/(.*)$ | new/$1\"\n",
            example_wasm("topic-rewrite").display().to_string()
        )
    });
    skein.wait_for_log(&["Plugin rewrite 0.1.0 loaded from"]);
    let (mut z, _) = Client::connect(port, skein.log_path(), "z-watcher", true).await;
    z.subscribe("z/y/#", QoS::AtLeastOnce).await;
    // Subscribes to new/# in truth.
    let (mut old, _) = Client::connect(port, skein.log_path(), "old-watcher", true).await;
    old.subscribe("old/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Client::connect(port, skein.log_path(), "pub", true).await;
    publisher.publish_qos1("x/y/a", b"rewritten").await;
    publisher.publish_qos1("new/b", b"to new").await;
    let (topic, payload, ..) = publish_fields("z-watcher", z.next("the rewritten publish").await);
    assert_eq!((topic.as_str(), &payload[..]), ("z/y/a", &b"rewritten"[..]));
    let (topic, payload, ..) =
        publish_fields("old-watcher", old.next("the publish to new/b").await);
    assert_eq!((topic.as_str(), &payload[..]), ("new/b", &b"to new"[..]));
    publisher.disconnect().await;
    z.disconnect().await;
    old.disconnect().await;
}

/// A restart on the same data directory reads the compiled plugin back from its
/// `plugin-cache` instead of compiling it again.
#[test]
fn a_restarted_skein_reads_its_compiled_plugins_back_from_the_data_directory() {
    let data = crate::support::scratch_dir("plugin-cache-data").join("data");
    let table = |_: &Path| {
        format!(
            "[[plugins]]\nname = \"acl\"\npath = {:?}\n[plugins.config]\npublish = \"a/#\"\n",
            example_wasm("acl").display().to_string()
        )
    };
    let start_on_disk = |tag: &str| {
        ConfiguredSkein::start(tag, |dir| {
            let port = free_port();
            let config = format!(
                "[[listener]]\nbind = \"127.0.0.1:{port}\"\n[storage]\ndata_dir = {:?}\n{}",
                data.display().to_string(),
                table(dir)
            );
            (config, port)
        })
    };
    let first = start_on_disk("plugin-cache-1");
    first.wait_for_log(&["Plugin compile cache: 0 read back, 1 compiled."]);
    drop(first);
    let second = start_on_disk("plugin-cache-2");
    second.wait_for_log(&["Plugin compile cache: 1 read back, 0 compiled."]);
    assert!(data.join("plugin-cache").is_dir());
}
