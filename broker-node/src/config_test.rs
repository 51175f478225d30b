use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::path::Path;
use std::time::Duration;

use broker_core::codec::MAX_PACKET_SIZE;
use broker_core::config::{BrokerConfig, ListenerConfig};
use broker_core::session::OverflowPolicy;
use broker_core::types::{ClientId, QoS};

use super::*;
use crate::config_file::FileConfig;
use crate::config_file::MOSQUITTO_ALIASES;
use crate::config_resolve::resolve;

fn parse(text: &str) -> Result<NodeConfig, ConfigError> {
    NodeConfig::parse("skein.toml", text)
}

fn error_text(text: &str) -> String {
    parse(text).unwrap_err().to_string()
}

fn addr(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

#[test]
fn the_embedded_default_is_exactly_the_engine_default() {
    let node = NodeConfig::embedded_default().unwrap();
    assert_eq!(node.broker, BrokerConfig::default());
    assert_eq!(
        node.log,
        LogConfig {
            level: LogLevel::Info,
            format: LogFormat::Text
        }
    );
    assert_eq!(node.broker.listeners[0].bind, addr("0.0.0.0:1883"));
}

#[test]
fn an_empty_file_is_the_engine_default() {
    assert_eq!(parse("").unwrap(), NodeConfig::embedded_default().unwrap());
    let only_limits = parse("[limits]\nmax_topic_levels = 9\n").unwrap();
    let mut expected = BrokerConfig::default();
    expected.session.max_topic_levels = 9;
    assert_eq!(only_limits.broker, expected);
}

#[test]
fn the_file_view_of_an_engine_config_resolves_back_to_it() {
    let mut engine = BrokerConfig::default().with_listeners(vec![
        ListenerConfig::tcp("a", addr("127.0.0.1:1884")),
        ListenerConfig::tcp("b", addr("[::1]:0")).allow_anonymous(false),
    ]);
    engine.max_connections = Some(10);
    engine.queue_full_wait = Duration::from_millis(250);
    engine.max_connect_size = 4096;
    engine.receive_budget = None;
    engine.sys_interval = Some(Duration::from_secs(30));
    engine.trace_clients = vec![ClientId::new("traced").unwrap()];
    engine.park_idle_after = None;
    engine.retained.max_messages = Some(1000);
    engine.retained.max_payload = Some(65536);
    engine.session.max_keep_alive = Some(60);
    engine.session.max_qos = QoS::AtLeastOnce;
    engine.session.queue.overflow = OverflowPolicy::Disconnect;
    engine.session.response_information = Some("r/".to_owned());
    for config in [BrokerConfig::default(), engine] {
        let resolved = resolve(&FileConfig::from_engine(&config)).map(|r| r.broker);
        assert_eq!(resolved, Ok(config));
    }
}

#[test]
fn every_key_maps_onto_the_engine_config() {
    let node = parse(
        r#"
        [[listener]]
        name = "lo"
        bind = "127.0.0.1:1884"
        [[listener]]
        bind = "[::]:8883"

        [limits]
        max_connections = 5000
        max_packet_size = "256KiB"
        max_connect_size = "8KiB"
        receive_budget = "64MiB"
        max_client_id_len = 23
        max_topic_len = 1024
        max_topic_levels = 16
        receive_maximum = 10
        max_inflight = 20
        topic_alias_maximum = 0
        retained_max_messages = 10000
        retained_max_payload = "64KiB"

        [session]
        max_session_expiry = 3600
        max_keep_alive = 120
        connect_timeout = 5
        allow_zero_length_client_id = false
        queue_max_messages = 50
        queue_max_bytes = 65536
        queue_qos0 = true
        queue_overflow = "drop_oldest"
        response_information = "replies/"
        park_idle_after_ms = 500

        [features]
        retain_available = false
        wildcard_subscriptions = false
        shared_subscriptions = false
        subscription_identifiers = false
        max_qos = 1
        outbound_topic_aliases = false
        allow_control_characters = true

        [log]
        level = "debug"
        format = "json"
        trace_clients = ["sensor-1"]

        [sys]
        interval = 60

        [metrics]
        bind = "127.0.0.1:9883"
        "#,
    )
    .unwrap();
    let mut expected = BrokerConfig::default().with_listeners(vec![
        ListenerConfig::tcp("lo", addr("127.0.0.1:1884")),
        ListenerConfig::tcp("[::]:8883", addr("[::]:8883")),
    ]);
    expected.max_connections = Some(5000);
    expected.queue_full_wait = Duration::from_millis(1000);
    expected.max_connect_size = 8 * 1024;
    expected.receive_budget = Some(64 * 1024 * 1024);
    expected.sys_interval = Some(Duration::from_secs(60));
    expected.trace_clients = vec![ClientId::new("sensor-1").unwrap()];
    expected.park_idle_after = Some(Duration::from_millis(500));
    expected.retained.max_messages = Some(10_000);
    expected.retained.max_payload = Some(64 * 1024);
    let session = &mut expected.session;
    session.max_packet_size = 256 * 1024;
    session.receive_maximum = NonZeroU16::new(10).unwrap();
    session.max_inflight_v3 = NonZeroU16::new(20).unwrap();
    session.topic_alias_maximum = 0;
    session.outbound_topic_aliases = false;
    session.max_keep_alive = Some(120);
    session.max_session_expiry = 3600;
    session.connect_timeout = Duration::from_secs(5);
    session.max_qos = QoS::AtLeastOnce;
    session.retain_available = false;
    session.wildcard_subscriptions = false;
    session.shared_subscriptions = false;
    session.subscription_identifiers = false;
    session.max_client_id_len = 23;
    session.allow_zero_length_client_id = false;
    session.allow_control_characters = true;
    session.max_topic_len = 1024;
    session.max_topic_levels = 16;
    session.queue.max_messages = 50;
    session.queue.max_bytes = 65536;
    session.queue.queue_qos0 = true;
    session.queue.overflow = OverflowPolicy::DropOldest;
    session.response_information = Some("replies/".to_owned());
    assert_eq!(node.broker, expected);
    assert_eq!(node.metrics, Some(addr("127.0.0.1:9883")));
    assert_eq!(
        node.log,
        LogConfig {
            level: LogLevel::Debug,
            format: LogFormat::Json
        }
    );
}

#[test]
fn sys_interval_zero_publishes_no_sys_topics_and_metrics_are_off_by_default() {
    let node = parse("[sys]\ninterval = 0\n").unwrap();
    assert_eq!(node.broker.sys_interval, None);
    assert_eq!(node.metrics, None);
    let default = parse("").unwrap();
    assert_eq!(default.broker.sys_interval, Some(Duration::from_secs(10)));
}

#[test]
fn a_bad_metrics_address_names_the_key() {
    assert_eq!(
        error_text("[metrics]\nbind = \"localhost\"\n"),
        "skein.toml: metrics.bind: must be IP:PORT, such as 127.0.0.1:9883, got \"localhost\""
    );
}

#[test]
fn zero_means_no_limit_for_connections_and_keep_alive() {
    let node = parse("[limits]\nmax_connections = 0\n[session]\nmax_keep_alive = 0\n").unwrap();
    assert_eq!(node.broker.max_connections, None);
    assert_eq!(node.broker.session.max_keep_alive, None);
}

#[test]
fn an_out_of_range_value_names_the_file_the_key_and_the_range() {
    assert_eq!(
        error_text("[limits]\nmax_packet_size = 0\n"),
        format!(
            "skein.toml: limits.max_packet_size: must be between 2 and {MAX_PACKET_SIZE}, got 0"
        )
    );
    assert_eq!(
        error_text("[features]\nmax_qos = 3\n"),
        "skein.toml: features.max_qos: must be between 0 and 2, got 3"
    );
    assert_eq!(
        error_text("[limits]\nreceive_maximum = 0\n"),
        "skein.toml: limits.receive_maximum: must be between 1 and 65535, got 0"
    );
    for (table, key, value) in [
        ("limits", "max_inflight", "0"),
        ("limits", "max_inflight", "65536"),
        ("limits", "topic_alias_maximum", "65536"),
        ("limits", "max_client_id_len", "0"),
        ("limits", "max_topic_len", "70000"),
        ("limits", "max_topic_levels", "0"),
        ("limits", "max_packet_size", "\"1GiB\""),
        ("limits", "max_connect_size", "63"),
        ("limits", "max_connect_size", "\"1GiB\""),
        ("session", "max_session_expiry", "4294967296"),
        ("session", "max_keep_alive", "65536"),
        ("session", "connect_timeout", "0"),
    ] {
        let text = error_text(&format!("[{table}]\n{key} = {value}\n"));
        assert!(
            text.starts_with(&format!("skein.toml: {table}.{key}: must be between")),
            "{table}.{key} = {value}: {text}"
        );
    }
}

#[test]
fn a_receive_budget_below_the_packet_limit_names_both_keys() {
    assert_eq!(
        error_text("[limits]\nmax_packet_size = \"1MiB\"\nreceive_budget = \"512KiB\"\n"),
        "skein.toml: limits.receive_budget: must be 0 (no limit) or at least \
         limits.max_packet_size (1048576), got 524288: a larger packet could never be received"
    );
    let unlimited = parse("[limits]\nreceive_budget = 0\n").unwrap();
    assert_eq!(unlimited.broker.receive_budget, None);
}

#[test]
fn every_problem_is_reported_one_per_line() {
    let text =
        error_text("[limits]\nreceive_maximum = 0\nmax_inflight = 0\n[features]\nmax_qos = 7\n");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[0].contains("limits.receive_maximum"));
    assert!(lines[1].contains("limits.max_inflight"));
    assert!(lines[2].contains("features.max_qos"));
}

#[test]
fn an_unknown_key_names_its_path_line_and_column() {
    let error = parse("[limits]\nmax_packet_size = 10\nmax_pakcet_size = 3\n").unwrap_err();
    let ConfigError::Syntax { key, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(key.as_deref(), Some("limits.max_pakcet_size"));
    let text = error.to_string();
    assert!(
        text.starts_with("skein.toml: limits.max_pakcet_size: "),
        "{text}"
    );
    assert!(text.contains("line 3, column 1"), "{text}");
    assert!(text.contains("unknown field `max_pakcet_size`"), "{text}");

    let top = error_text("[limit]\nmax_connections = 1\n");
    assert!(top.starts_with("skein.toml: limit: "), "{top}");
    assert!(top.contains("unknown field `limit`"), "{top}");
    let in_listener = error_text("[[listener]]\nbind = \"0.0.0.0:1\"\nport = 1\n");
    assert!(
        in_listener.starts_with("skein.toml: listener[0].port: "),
        "{in_listener}"
    );
}

#[test]
fn a_wrong_type_names_its_path() {
    let text = error_text("[features]\nretain_available = \"yes\"\n");
    assert!(
        text.starts_with("skein.toml: features.retain_available: "),
        "{text}"
    );
    assert!(text.contains("line 2"), "{text}");
    assert!(text.contains("invalid type"), "{text}");
    let negative = error_text("[limits]\nmax_connections = -1\n");
    assert!(
        negative.starts_with("skein.toml: limits.max_connections: "),
        "{negative}"
    );
    let overflow = error_text("[session]\nqueue_overflow = \"drop_all\"\n");
    assert!(
        overflow.starts_with("skein.toml: session.queue_overflow: "),
        "{overflow}"
    );
    assert!(overflow.contains("drop_oldest"), "{overflow}");
    let level = error_text("[log]\nlevel = \"verbose\"\n");
    assert!(level.starts_with("skein.toml: log.level: "), "{level}");
    let size = error_text("[session]\nqueue_max_bytes = \"16MB\"\n");
    assert!(
        size.starts_with("skein.toml: session.queue_max_bytes: "),
        "{size}"
    );
    assert!(size.contains("MiB"), "{size}");
}

#[test]
fn every_duration_key_takes_a_unit_string_or_an_integer_in_its_unit() {
    let integers = "[session]\nmax_session_expiry = 86400\nmax_keep_alive = 120\n\
                    connect_timeout = 30\nqueue_full_wait_ms = 1500\npark_idle_after_ms = 60000\n\
                    [sys]\ninterval = 120\n[storage]\ndurability = \"batched\"\n\
                    batch_window_ms = 2000\n[[plugins]]\nname = \"p\"\npath = \"p.wasm\"\n\
                    deadline_ms = 1000\nauth_deadline_ms = 3000\nhttp_timeout_ms = 2000\n";
    let units = "[session]\nmax_session_expiry = \"1d\"\nmax_keep_alive = \"2m\"\n\
                 connect_timeout = \"30s\"\nqueue_full_wait_ms = \"1s 500ms\"\n\
                 park_idle_after_ms = \"1m\"\n[sys]\ninterval = \"2m\"\n[storage]\n\
                 durability = \"batched\"\nbatch_window_ms = \"2s\"\n[[plugins]]\n\
                 name = \"p\"\npath = \"p.wasm\"\ndeadline_ms = \"1s\"\n\
                 auth_deadline_ms = \"3s\"\nhttp_timeout_ms = \"2s\"\n";
    let from_integers = parse(integers).unwrap();
    assert_eq!(parse(units).unwrap(), from_integers);
    assert_eq!(from_integers.broker.session.max_session_expiry, 86_400);
    assert_eq!(
        from_integers.broker.queue_full_wait,
        Duration::from_millis(1500)
    );
    assert_eq!(
        from_integers.broker.sys_interval,
        Some(Duration::from_secs(120))
    );
    assert_eq!(from_integers.plugins[0].deadline, Duration::from_secs(1));
}

#[test]
fn a_bad_duration_names_its_key_and_the_units() {
    let text = error_text("[session]\nqueue_full_wait_ms = \"10 parsecs\"\n");
    assert!(
        text.starts_with("skein.toml: session.queue_full_wait_ms: "),
        "{text}"
    );
    assert!(
        text.contains("\"10 parsecs\" is not a duration (use 500ms, 10s, 2m)"),
        "{text}"
    );
    let fraction = error_text("[session]\nconnect_timeout = \"2500ms\"\n");
    assert!(
        fraction.starts_with("skein.toml: session.connect_timeout: "),
        "{fraction}"
    );
    assert!(fraction.contains("whole number of seconds"), "{fraction}");
    let range = error_text("[sys]\ninterval = \"2d\"\n");
    assert!(
        range.contains("sys.interval: must be between 1 and 86400, got 172800"),
        "{range}"
    );
}

#[test]
fn environment_overrides_take_durations_with_units() {
    let overrides = [
        (
            "SKEIN_SESSION__QUEUE_FULL_WAIT_MS".to_owned(),
            "250ms".to_owned(),
        ),
        ("SKEIN_SYS__INTERVAL".to_owned(), "1m".to_owned()),
    ];
    let config = NodeConfig::parse_with("skein.toml", "", &overrides).unwrap();
    assert_eq!(config.broker.queue_full_wait, Duration::from_millis(250));
    assert_eq!(config.broker.sys_interval, Some(Duration::from_secs(60)));
    let bad = [(
        "SKEIN_SESSION__CONNECT_TIMEOUT".to_owned(),
        "soon".to_owned(),
    )];
    let error = NodeConfig::parse_with("skein.toml", "", &bad)
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with(
            "skein.toml with SKEIN_SESSION__CONNECT_TIMEOUT: session.connect_timeout: "
        ),
        "{error}"
    );
    assert!(error.contains("\"soon\" is not a duration"), "{error}");
}

#[test]
fn malformed_toml_gives_the_position_without_a_key() {
    let text = error_text("[limits\n");
    assert!(
        text.starts_with("skein.toml: TOML parse error at line 1"),
        "{text}"
    );
}

#[test]
fn listener_problems_name_the_entry() {
    assert_eq!(
        error_text("listener = []\n"),
        "skein.toml: listener: at least one [[listener]] is required"
    );
    let host = error_text("[[listener]]\nbind = \"localhost:1883\"\n");
    assert!(
        host.starts_with("skein.toml: listener[0].bind: \"localhost:1883\""),
        "{host}"
    );
    let twice = error_text(
        "[[listener]]\nbind = \"0.0.0.0:1883\"\n[[listener]]\nbind = \"0.0.0.0:1883\"\n",
    );
    assert_eq!(
        twice,
        "skein.toml: listener[1].bind: 0.0.0.0:1883 is used by another listener"
    );
    let names = error_text(
        "[[listener]]\nname = \"a\"\nbind = \"0.0.0.0:1\"\n\
         [[listener]]\nname = \"a\"\nbind = \"0.0.0.0:2\"\n",
    );
    assert_eq!(
        names,
        "skein.toml: listener[1].name: \"a\" is used by another listener"
    );
    let empty = error_text("[[listener]]\nname = \" \"\nbind = \"0.0.0.0:1\"\n");
    assert_eq!(empty, "skein.toml: listener[0].name: must not be empty");
    let missing = error_text("[[listener]]\nname = \"x\"\n");
    assert!(missing.contains("missing field `bind`"), "{missing}");
}

#[test]
fn command_line_listeners_replace_the_files() {
    let mut node = NodeConfig::embedded_default().unwrap();
    node.override_listeners(Vec::new());
    assert_eq!(node.broker.listeners, BrokerConfig::default().listeners);
    let cli = vec![ListenerConfig::tcp("x", addr("127.0.0.1:1884"))];
    node.override_listeners(cli.clone());
    assert_eq!(node.broker.listeners, cli);
}

#[test]
fn a_missing_file_names_its_path() {
    let error = NodeConfig::load(Path::new("/nonexistent/skein.toml")).unwrap_err();
    let text = error.to_string();
    assert!(
        text.starts_with("/nonexistent/skein.toml: cannot read: "),
        "{text}"
    );
}

/// Every `table.key` the default file sets (or shows commented out), for the docs check.
fn default_file_keys() -> Vec<String> {
    let mut keys = Vec::new();
    for line in DEFAULT_CONFIG.lines() {
        let line = line.trim_start_matches('#').trim();
        if let Some((key, _)) = line.split_once(" = ") {
            if key
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            {
                keys.push(key.to_owned());
            }
        }
    }
    keys
}

/// Mosquitto's spelling of a key means what Skein's does, and the page says so.
#[test]
fn mosquitto_spellings_of_keys_are_accepted_and_documented() {
    let docs_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
    let docs = std::fs::read_to_string(docs_path).unwrap();
    for (table, mosquitto, skein) in MOSQUITTO_ALIASES {
        let value = if mosquitto.starts_with("allow") {
            "false"
        } else if mosquitto.ends_with("bytes") {
            "65536"
        } else {
            "7"
        };
        let with = |key: &str| {
            NodeConfig::parse(
                "test",
                &format!("[[listener]]\nbind = \"127.0.0.1:1\"\n[{table}]\n{key} = {value}\n"),
            )
            .unwrap_or_else(|e| panic!("{key}: {e}"))
        };
        assert_eq!(
            with(mosquitto).broker,
            with(skein).broker,
            "{mosquitto} is {skein}"
        );
        assert!(
            docs.contains(&format!("`{mosquitto}`")),
            "`{mosquitto}` is not in docs/configuration.md"
        );
    }
}

#[test]
fn every_key_of_the_default_file_is_documented() {
    let docs_path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/configuration.md");
    let docs = std::fs::read_to_string(docs_path).unwrap();
    let keys = default_file_keys();
    assert!(keys.len() >= 31, "{keys:?}");
    for key in keys {
        assert!(
            docs.contains(&format!("`{key}`")),
            "`{key}` is not in docs/configuration.md"
        );
    }
    for flag in [
        "--config",
        "--listen",
        "--port",
        "--log-level",
        "--check-config",
        "--print-default-config",
        "RUST_LOG",
    ] {
        assert!(
            docs.contains(flag),
            "{flag} is not in docs/configuration.md"
        );
    }
}

#[test]
fn every_schema_key_is_in_the_default_file() {
    // A file setting every key the default file shows (commented ones included) must parse:
    // the file and the schema list the same keys.
    let uncommented: String = DEFAULT_CONFIG
        .lines()
        .map(|line| line.strip_prefix('#').unwrap_or(line))
        .filter(|line| !line.starts_with('#') && !line.starts_with(' '))
        .collect::<Vec<_>>()
        .join("\n");
    let node = NodeConfig::parse("uncommented", &uncommented).unwrap();
    // default, ipv6, tls, websockets.
    assert_eq!(node.broker.listeners.len(), 4);
    assert!(node.broker.listeners[2].tls.is_some());
    assert!(node.broker.listeners[3]
        .transport
        .websocket_path()
        .is_some());
    assert!(node.broker.session.response_information.is_some());
    assert_eq!(node.broker.listeners[0].allow_anonymous, Some(true));
    assert!(node.auth.password_file.is_some() && node.auth.acl_file.is_some());
    assert!(!node.auth.allow_anonymous);
    assert_eq!(node.plugins.len(), 1);
    let admin = node.admin.unwrap();
    assert!(admin.token.is_some() && admin.requires_certificate());
}

/// The keys serde expects in a table, read from its "unknown field" message.
fn schema_keys(table_header: &str) -> Vec<String> {
    let text = error_text(&format!("{table_header}\nzzz_unknown = 1\n"));
    let (_, expected) = text.split_once("expected ").unwrap();
    expected
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_schema_key_is_shown_in_the_default_file() {
    let shown = default_file_keys();
    let tables = [
        "",
        "[auth]",
        "[limits]",
        "[session]",
        "[features]",
        "[log]",
        "[sys]",
        "[metrics]",
        "[admin]",
        "[storage]",
        "[cluster]",
        "[runtime]",
    ];
    let mut count = 0;
    for header in tables {
        for key in schema_keys(header) {
            count += 1;
            let is_table = tables.contains(&format!("[{key}]").as_str())
                || key == "listener"
                || key == "plugins";
            let alias = MOSQUITTO_ALIASES
                .iter()
                .any(|(_, mosquitto, _)| *mosquitto == key);
            assert!(
                is_table || alias || shown.contains(&key),
                "{header} {key} is missing from default.toml"
            );
        }
    }
    for key in schema_keys("[[plugins]]\nname = \"a\"\npath = \"a.wasm\"") {
        assert!(
            key == "config" || shown.contains(&key),
            "[[plugins]] {key} is missing from default.toml"
        );
    }
    let listener = schema_keys("[[listener]]\nbind = \"0.0.0.0:1\"");
    assert_eq!(
        listener,
        [
            "name",
            "bind",
            "protocol",
            "websocket_path",
            "certfile",
            "keyfile",
            "keyfile_password_file",
            "keyfile_password_env",
            "cafile",
            "require_certificate",
            "use_identity_as_username",
            "crlfile",
            "tls_version",
            "cipher_suites",
            "allow_anonymous",
            "proxy_protocol",
            "max_connections",
            "max_connection_rate",
            "client_message_rate",
            "client_byte_rate",
            "password_file",
            "acl_file"
        ]
    );
    assert!(count >= 33, "{count}");
}
