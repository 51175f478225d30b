use std::net::SocketAddr;
use std::path::Path;

use broker_core::config::{BrokerConfig, KeyPassword, ListenerConfig, TlsConfig, Transport};

use crate::config::NodeConfig;
use crate::config_file::FileConfig;
use crate::config_resolve::resolve;

fn parse(text: &str) -> Result<NodeConfig, crate::config::ConfigError> {
    NodeConfig::parse("skein.toml", text)
}

fn error_text(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn protocol_and_tls_keys_map_onto_the_engine_config() {
    let node = parse(
        r#"
        [[listener]]
        name = "plain"
        bind = "127.0.0.1:1883"
        protocol = "mqtt"

        [[listener]]
        name = "tls"
        bind = "127.0.0.1:8883"
        certfile = "server.pem"
        keyfile = "server.key"
        cafile = "ca.pem"
        require_certificate = true
        use_identity_as_username = true

        [[listener]]
        name = "ws"
        bind = "127.0.0.1:8080"
        protocol = "websockets"

        [[listener]]
        name = "wss"
        bind = "127.0.0.1:8081"
        protocol = "websockets"
        websocket_path = "/broker"
        certfile = "server.pem"
        keyfile = "server.key"
        "#,
    )
    .unwrap();
    let tls = TlsConfig::new("server.pem", "server.key")
        .client_ca("ca.pem", true)
        .use_identity_as_username(true);
    let expected = vec![
        ListenerConfig::tcp("plain", addr("127.0.0.1:1883")),
        ListenerConfig::tls("tls", addr("127.0.0.1:8883"), tls),
        ListenerConfig::websocket("ws", addr("127.0.0.1:8080")),
        ListenerConfig::tcp("wss", addr("127.0.0.1:8081"))
            .with_transport(Transport::WebSocket {
                path: "/broker".to_owned(),
            })
            .with_tls(TlsConfig::new("server.pem", "server.key")),
    ];
    assert_eq!(node.broker.listeners, expected);
    assert_eq!(
        node.broker
            .listeners
            .iter()
            .map(ListenerConfig::scheme)
            .collect::<Vec<_>>(),
        ["mqtt", "mqtts", "ws", "wss"]
    );
    // And back: the file view of these listeners resolves to them.
    let engine = BrokerConfig::default().with_listeners(expected);
    let resolved = resolve(&FileConfig::from_engine(&engine)).map(|r| r.broker);
    assert_eq!(resolved, Ok(engine));
}

#[test]
fn inconsistent_keys_are_named() {
    let cases = [
        (
            "certfile = \"s.pem\"",
            "skein.toml: listener[0].keyfile: is required with certfile",
        ),
        (
            "keyfile = \"s.key\"",
            "skein.toml: listener[0].certfile: is required with keyfile",
        ),
        (
            "cafile = \"ca.pem\"",
            "skein.toml: listener[0].cafile: needs TLS on the listener: set certfile and keyfile",
        ),
        (
            "use_identity_as_username = true",
            "skein.toml: listener[0].use_identity_as_username: needs TLS on the listener: set \
             certfile and keyfile",
        ),
        (
            "certfile = \"s.pem\"\nkeyfile = \"s.key\"\nrequire_certificate = true",
            "skein.toml: listener[0].require_certificate: needs cafile: the CA certificates \
             client certificates are verified against",
        ),
        (
            "websocket_path = \"/mqtt\"",
            "skein.toml: listener[0].websocket_path: only for protocol = \"websockets\"",
        ),
        (
            "protocol = \"websockets\"\nwebsocket_path = \"mqtt\"",
            "skein.toml: listener[0].websocket_path: \"mqtt\" is not an HTTP path (it starts \
             with /, e.g. \"/mqtt\")",
        ),
    ];
    for (keys, expected) in cases {
        let text = error_text(&format!("[[listener]]\nbind = \"0.0.0.0:1\"\n{keys}\n"));
        assert_eq!(text, expected, "{keys}");
    }
    let protocol = error_text("[[listener]]\nbind = \"0.0.0.0:1\"\nprotocol = \"http\"\n");
    assert!(
        protocol.starts_with("skein.toml: listener[0].protocol: ")
            && protocol.contains("`mqtt`")
            && protocol.contains("`websockets`"),
        "{protocol}"
    );
}

/// Writes a CA-less self-signed certificate and key, and a key of another pair, into `dir`.
fn write_pems(dir: &Path) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    std::fs::write(dir.join("server.pem"), cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(dir.join("other.key"), other.serialize_pem()).unwrap();
}

#[test]
fn check_files_names_the_listener_key_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    write_pems(dir.path());
    let path = |name: &str| dir.path().join(name).display().to_string();
    let config = |cert: &str, key: &str, ca: Option<&str>| {
        let ca = ca.map_or(String::new(), |ca| format!("cafile = {ca:?}\n"));
        format!(
            "[[listener]]\nbind = \"127.0.0.1:1883\"\n\
             [[listener]]\nbind = \"127.0.0.1:8883\"\ncertfile = {cert:?}\nkeyfile = {key:?}\n{ca}"
        )
    };
    let good = parse(&config(&path("server.pem"), &path("server.key"), None)).unwrap();
    assert!(good.load_files("skein.toml").is_ok());
    let self_signed_ca = parse(&config(
        &path("server.pem"),
        &path("server.key"),
        Some(&path("server.pem")),
    ))
    .unwrap();
    assert!(self_signed_ca.load_files("skein.toml").is_ok());

    let missing = parse(&config(&path("nope.pem"), &path("server.key"), None)).unwrap();
    let text = missing.load_files("skein.toml").unwrap_err().to_string();
    let expected = format!(
        "skein.toml: listener[1].certfile: cannot read {}: No such file or directory",
        path("nope.pem")
    );
    assert!(text.starts_with(&expected), "{text}");

    let mismatch = parse(&config(&path("server.pem"), &path("other.key"), None)).unwrap();
    let text = mismatch.load_files("skein.toml").unwrap_err().to_string();
    assert!(
        text.starts_with(&format!(
            "skein.toml: listener[1].keyfile: {}: ",
            path("other.key")
        )) && text.contains("does not match"),
        "{text}"
    );

    let ca_is_a_key = parse(&config(
        &path("server.pem"),
        &path("server.key"),
        Some(&path("server.key")),
    ))
    .unwrap();
    let text = ca_is_a_key
        .load_files("skein.toml")
        .unwrap_err()
        .to_string();
    assert!(
        text.starts_with("skein.toml: listener[1].cafile: ") && text.contains("no PEM certificate"),
        "{text}"
    );
}

#[test]
fn keyfile_password_keys_map_onto_the_key_password() {
    let node = parse(
        r#"
        [[listener]]
        name = "file"
        bind = "127.0.0.1:8883"
        certfile = "server.pem"
        keyfile = "server.key"
        keyfile_password_file = "server.key.password"

        [[listener]]
        name = "env"
        bind = "127.0.0.1:8884"
        certfile = "server.pem"
        keyfile = "server.key"
        keyfile_password_env = "SKEIN_TLS_KEY_PASSWORD"
        "#,
    )
    .unwrap();
    let passwords: Vec<_> = node
        .broker
        .listeners
        .iter()
        .map(|listener| {
            listener
                .tls
                .as_ref()
                .and_then(|tls| tls.key_password.clone())
        })
        .collect();
    assert_eq!(
        passwords,
        [
            Some(KeyPassword::File("server.key.password".into())),
            Some(KeyPassword::Env("SKEIN_TLS_KEY_PASSWORD".to_owned())),
        ]
    );
    // And back: the file view of these listeners resolves to them.
    let engine = BrokerConfig::default().with_listeners(node.broker.listeners.clone());
    let resolved = resolve(&FileConfig::from_engine(&engine)).map(|r| r.broker);
    assert_eq!(resolved, Ok(engine));
}

#[test]
fn keyfile_password_problems_name_the_key() {
    let both = error_text(
        r#"
        [[listener]]
        bind = "127.0.0.1:8883"
        certfile = "server.pem"
        keyfile = "server.key"
        keyfile_password_file = "p"
        keyfile_password_env = "P"
        "#,
    );
    assert!(
        both.contains("listener[0].keyfile_password_env: set keyfile_password_file or keyfile_password_env, not both"),
        "{both}"
    );
    let without_key = error_text(
        r#"
        [[listener]]
        bind = "127.0.0.1:8883"
        keyfile_password_file = "p"
        "#,
    );
    assert!(
        without_key.contains("listener[0].keyfile_password_file: needs keyfile"),
        "{without_key}"
    );
    let bad_name = error_text(
        r#"
        [admin]
        bind = "127.0.0.1:9884"
        token = "0123456789abcdef0123"
        certfile = "admin.pem"
        keyfile = "admin.key"
        keyfile_password_env = "A=B"
        "#,
    );
    assert!(
        bad_name.contains("admin.keyfile_password_env: \"A=B\" is not the name"),
        "{bad_name}"
    );
}

/// `[limits]` gives every client its rate; a listener's own keys override it, 0 there
/// meaning no limit on that listener.
#[test]
fn client_rates_come_from_limits_unless_the_listener_sets_its_own() {
    use std::num::NonZeroU32;

    use broker_core::config::ClientRate;

    let node = parse(
        r#"
        [[listener]]
        name = "default"
        bind = "127.0.0.1:1883"

        [[listener]]
        name = "sensors"
        bind = "127.0.0.1:1884"
        client_message_rate = 10

        [[listener]]
        name = "backend"
        bind = "127.0.0.1:1885"
        client_message_rate = 0
        client_byte_rate = 0

        [limits]
        client_message_rate = 100
        client_byte_rate = "256KiB"
        "#,
    )
    .unwrap();
    let rate = |messages: u32, bytes: u32| {
        ClientRate::new(NonZeroU32::new(messages), NonZeroU32::new(bytes))
    };
    let rates: Vec<ClientRate> = node
        .broker
        .listeners
        .iter()
        .map(|listener| listener.client_rate)
        .collect();
    assert_eq!(
        rates,
        [
            rate(100, 256 * 1024),
            rate(10, 256 * 1024),
            ClientRate::UNLIMITED
        ]
    );
    // The default: no limit anywhere.
    let default = parse("[[listener]]\nbind = \"127.0.0.1:1\"\n").unwrap();
    assert_eq!(
        default.broker.listeners[0].client_rate,
        ClientRate::UNLIMITED
    );
}

#[test]
fn a_client_rate_out_of_range_names_its_key() {
    let text = error_text(
        "[[listener]]\nbind = \"127.0.0.1:1\"\nclient_byte_rate = \"8GiB\"\n\
         [limits]\nclient_message_rate = 5000000000\n",
    );
    assert!(
        text.contains("listener[0].client_byte_rate: must be between 0 and 4294967295"),
        "{text}"
    );
    assert!(
        text.contains("limits.client_message_rate: must be between 0 and 4294967295"),
        "{text}"
    );
}
