use std::path::Path;

use super::*;
use crate::config::NodeConfig;
use crate::mosquitto_conf::parse_lines;

fn import(text: &str) -> Import {
    map(&parse_lines(text, None))
}

/// The imported document as TOML, checked by Skein's own loader.
fn node(import: &Import) -> NodeConfig {
    let text = toml::to_string(&import.document).unwrap();
    NodeConfig::parse("imported", &text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn get<'a>(import: &'a Import, table: &str, key: &str) -> Option<&'a Value> {
    import.document.get(table)?.as_table()?.get(key)
}

fn listeners(import: &Import) -> Vec<Table> {
    import.document["listener"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l.as_table().unwrap().clone())
        .collect()
}

/// (line, key) of each unsupported directive.
fn unsupported(import: &Import) -> Vec<(usize, &str)> {
    import
        .unsupported
        .iter()
        .map(|f| (f.origin.line, f.key.as_str()))
        .collect()
}

#[test]
fn general_keys_map_to_their_skein_keys() {
    let import = import(
        "max_inflight_messages 20\nmax_packet_size 65536\nmax_topic_alias 10\n\
         max_keepalive 120\npersistent_client_expiration 2w\nallow_zero_length_clientid false\n\
         max_queued_messages 500\nmax_queued_bytes 1048576\nqueue_qos0_messages true\n\
         retain_available false\nmax_qos 1\nsys_interval 30\nmax_connections 100\n\
         allow_anonymous true\npassword_file /etc/mosquitto/passwd\nacl_file /etc/mosquitto/acl\n\
         persistence true\npersistence_location /var/lib/mosquitto/\nlog_type error\n\
         log_type warning\nlog_dest stderr\nlog_timestamp true\nconnection_messages true\n",
    );
    assert_eq!(unsupported(&import), []);
    let int = |t: &str, k: &str| get(&import, t, k).and_then(Value::as_integer);
    let boolean = |t: &str, k: &str| get(&import, t, k).and_then(Value::as_bool);
    let string = |t: &str, k: &str| get(&import, t, k).and_then(Value::as_str);
    assert_eq!(int("limits", "max_inflight"), Some(20));
    assert_eq!(int("limits", "max_packet_size"), Some(65536));
    assert_eq!(int("limits", "topic_alias_maximum"), Some(10));
    assert_eq!(int("limits", "max_connections"), Some(100));
    assert_eq!(int("session", "max_keep_alive"), Some(120));
    assert_eq!(int("session", "max_session_expiry"), Some(14 * 86_400));
    assert_eq!(
        boolean("session", "allow_zero_length_client_id"),
        Some(false)
    );
    assert_eq!(int("session", "queue_max_messages"), Some(500));
    assert_eq!(int("session", "queue_max_bytes"), Some(1_048_576));
    assert_eq!(boolean("session", "queue_qos0"), Some(true));
    assert_eq!(boolean("features", "retain_available"), Some(false));
    assert_eq!(int("features", "max_qos"), Some(1));
    assert_eq!(int("sys", "interval"), Some(30));
    assert_eq!(boolean("auth", "allow_anonymous"), Some(true));
    assert_eq!(
        string("auth", "password_file"),
        Some("/etc/mosquitto/passwd")
    );
    assert_eq!(string("auth", "acl_file"), Some("/etc/mosquitto/acl"));
    assert_eq!(string("storage", "durability"), Some("sync"));
    assert_eq!(string("storage", "data_dir"), Some("/var/lib/mosquitto/"));
    assert_eq!(string("log", "level"), Some("warn"));
    let notes: Vec<&str> = import.notes.iter().map(|n| n.key.as_str()).collect();
    assert_eq!(
        notes,
        ["persistent_client_expiration", "persistence_location"]
    );
    let config = node(&import);
    assert_eq!(config.broker.session.max_inflight_v3.get(), 20);
    assert_eq!(
        config.broker.sys_interval,
        Some(std::time::Duration::from_secs(30))
    );
}

#[test]
fn mosquitto_defaults_are_kept_where_skein_differs() {
    let local = import("# nothing but comments\n");
    assert_eq!(unsupported(&local), []);
    let only = listeners(&local);
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["bind"].as_str(), Some("127.0.0.1:1883"));
    assert_eq!(
        get(&local, "auth", "allow_anonymous"),
        Some(&Value::Boolean(true))
    );
    assert_eq!(
        get(&local, "storage", "durability").and_then(Value::as_str),
        Some("memory")
    );
    let open = import("listener 1883\n");
    assert_eq!(listeners(&open)[0]["bind"].as_str(), Some("0.0.0.0:1883"));
    assert_eq!(
        get(&open, "auth", "allow_anonymous"),
        Some(&Value::Boolean(false))
    );
    assert_eq!(get(&open, "log", "level"), None);
    node(&open);
}

#[test]
fn listener_blocks_take_their_keys() {
    let import = import(
        "listener 8883 ::1\ncertfile server.pem\nkeyfile server.key\ncafile ca.pem\n\
         require_certificate true\nuse_identity_as_username true\ncrlfile crl.pem\n\
         tls_version tlsv1.3\nciphers_tls1.3 TLS_AES_128_GCM_SHA256\nmax_connections 10\n\
         enable_proxy_protocol 2\n\
         listener 9001\nprotocol websockets\nsocket_domain ipv6\nmax_connections -1\n",
    );
    assert_eq!(unsupported(&import), []);
    let all = listeners(&import);
    assert_eq!(all.len(), 2);
    let tls = &all[0];
    assert_eq!(tls["bind"].as_str(), Some("[::1]:8883"));
    assert_eq!(tls["certfile"].as_str(), Some("server.pem"));
    assert_eq!(tls["keyfile"].as_str(), Some("server.key"));
    assert_eq!(tls["cafile"].as_str(), Some("ca.pem"));
    assert_eq!(tls["crlfile"].as_str(), Some("crl.pem"));
    assert_eq!(tls["require_certificate"].as_bool(), Some(true));
    assert_eq!(tls["use_identity_as_username"].as_bool(), Some(true));
    assert_eq!(tls["tls_version"].as_str(), Some("tlsv1.3"));
    assert_eq!(tls["max_connections"].as_integer(), Some(10));
    assert_eq!(tls["proxy_protocol"].as_bool(), Some(true));
    let suites: Vec<&str> = tls["cipher_suites"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    // Only TLS 1.3 named: TLS 1.2 keeps every suite, as in Mosquitto.
    assert_eq!(suites[0], "TLS13_AES_128_GCM_SHA256");
    assert_eq!(suites.len(), 7);
    let ws = &all[1];
    assert_eq!(ws["bind"].as_str(), Some("[::]:9001"));
    assert_eq!(ws["protocol"].as_str(), Some("websockets"));
    assert_eq!(ws["max_connections"].as_integer(), Some(0));
    let config = node(&import);
    assert_eq!(config.broker.listeners.len(), 2);
}

#[test]
fn openssl_cipher_names_become_iana_names() {
    let import = import(
        "listener 8883\nciphers ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-CHACHA20-POLY1305\n",
    );
    let suites = listeners(&import)[0]["cipher_suites"].clone();
    let suites: Vec<&str> = suites
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(
        suites,
        [
            "TLS13_AES_256_GCM_SHA384",
            "TLS13_AES_128_GCM_SHA256",
            "TLS13_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        ]
    );
    let bad = self::import("listener 8883\nciphers HIGH:!aNULL\n");
    assert_eq!(unsupported(&bad), [(2, "ciphers")]);
    assert!(bad.unsupported[0]
        .message
        .contains("\"HIGH\" is not a suite"));
}

#[test]
fn per_listener_settings_decides_where_allow_anonymous_goes() {
    let per = import(
        "per_listener_settings true\nlistener 1883 127.0.0.1\nallow_anonymous true\n\
         listener 1884 127.0.0.1\nallow_anonymous false\npassword_file pw\n",
    );
    assert_eq!(unsupported(&per), []);
    let all = listeners(&per);
    assert_eq!(all[0]["allow_anonymous"].as_bool(), Some(true));
    assert_eq!(all[1]["allow_anonymous"].as_bool(), Some(false));
    assert_eq!(
        get(&per, "auth", "allow_anonymous"),
        Some(&Value::Boolean(false))
    );
    assert!(per.notes.is_empty(), "{:?}", per.notes);
    let global = import("listener 1883\nallow_anonymous true\n");
    assert_eq!(listeners(&global)[0].get("allow_anonymous"), None);
    assert_eq!(
        get(&global, "auth", "allow_anonymous"),
        Some(&Value::Boolean(true))
    );
}

#[test]
fn a_second_different_password_file_is_named_without_per_listener_settings() {
    let import = import(
        "listener 1883\npassword_file a\nlistener 1884\n\
         password_file a\nlistener 1885\npassword_file b\n",
    );
    assert_eq!(unsupported(&import), [(6, "password_file")]);
    assert!(import.unsupported[0].message.contains("line 2"));
    assert!(import.unsupported[0]
        .message
        .contains("per_listener_settings true"));
}

/// With `per_listener_settings true`, each listener block's `password_file` and `acl_file`
/// are that listener's own; before any listener they are `[auth]`'s.
#[test]
fn per_listener_settings_gives_each_listener_its_own_files() {
    let import = import(
        "per_listener_settings true\nacl_file global.acl\nlistener 1883\npassword_file a\n\
         listener 1884\npassword_file b\nacl_file b.acl\nlistener 1885\n",
    );
    assert_eq!(unsupported(&import), []);
    assert!(import.notes.is_empty(), "{:?}", import.notes);
    let all = listeners(&import);
    let file = |n: usize, key: &str| all[n].get(key).and_then(Value::as_str);
    assert_eq!(file(0, "password_file"), Some("a"));
    assert_eq!(file(0, "acl_file"), None);
    assert_eq!(file(1, "password_file"), Some("b"));
    assert_eq!(file(1, "acl_file"), Some("b.acl"));
    assert_eq!(file(2, "password_file"), None);
    assert_eq!(
        get(&import, "auth", "acl_file"),
        Some(&Value::String("global.acl".to_owned()))
    );
    assert_eq!(get(&import, "auth", "password_file"), None);
}

#[test]
fn port_and_bind_address_make_the_default_listener() {
    let import = import("port 1884\nbind_address 127.0.0.1\nlistener 8883\n");
    let binds: Vec<String> = listeners(&import)
        .iter()
        .map(|l| l["bind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(binds, ["127.0.0.1:1884", "0.0.0.0:8883"]);
    let orphan = self::import("certfile server.pem\nlistener 8883\n");
    assert_eq!(unsupported(&orphan), [(1, "certfile")]);
    assert!(orphan.unsupported[0].message.contains("default listener"));
}

#[test]
fn a_listener_that_cannot_be_imported_takes_its_block_along() {
    let import = import(
        "listener 0 /run/mosquitto.sock\nprotocol websockets\nlistener 1883 broker.example\n\
         max_connections 5\nlistener 1884 localhost\nlistener 70000\n",
    );
    assert_eq!(
        unsupported(&import),
        [
            (1, "listener"),
            (2, "protocol"),
            (3, "listener"),
            (4, "max_connections"),
            (6, "listener")
        ]
    );
    assert!(import.unsupported[0].message.contains("Unix socket"));
    assert!(import.unsupported[1].message.contains("listener at line 1"));
    assert!(import.unsupported[2].message.contains("not an IP address"));
    let per = self::import(
        "per_listener_settings true\nlistener 0 /run/m.sock\npassword_file pw\nlistener 1883\n",
    );
    assert_eq!(unsupported(&per), [(2, "listener"), (3, "password_file")]);
    assert_eq!(get(&per, "auth", "password_file"), None);
    assert_eq!(
        listeners(&import)[0]["bind"].as_str(),
        Some("127.0.0.1:1884")
    );
}

#[test]
fn every_unsupported_key_is_named_with_its_line_and_a_suggestion() {
    let import = import(
        "auth_plugin /usr/lib/auth.so\nauth_opt_db x\ncapath /etc/ssl/certs\n\
         autosave_interval 60\nconnection upstream\naddress 10.0.0.1\ntopic # both\n\
         bridge_insecure true\nuser mosquitto\nsome_typo 1\nlog_dest syslog\nmax_queued_messages 0\n\
         listener 1883\nmount_point site/\nhttp_dir /www\n",
    );
    assert_eq!(
        unsupported(&import),
        [
            (1, "auth_plugin"),
            (2, "auth_opt_db"),
            (3, "capath"),
            (4, "autosave_interval"),
            (5, "connection"),
            (6, "address"),
            (7, "topic"),
            (8, "bridge_insecure"),
            (9, "user"),
            (10, "some_typo"),
            (11, "log_dest"),
            (12, "max_queued_messages"),
            (14, "mount_point"),
            (15, "http_dir"),
        ]
    );
    let message = |line: usize| {
        import
            .unsupported
            .iter()
            .find(|f| f.origin.line == line)
            .map(|f| f.to_string())
            .unwrap()
    };
    assert!(message(1).starts_with("line 1: auth_plugin: "));
    assert!(message(1).contains("[[plugins]]"));
    assert!(message(3).contains("cafile"));
    assert!(message(5).contains("bridges are not supported"));
    assert!(message(6).contains("part of the bridge `connection upstream` (line 5)"));
    assert!(message(10).contains("not a Mosquitto option"));
    assert!(message(12).contains("bounded"));
    node(&import);
}

#[test]
fn bad_values_are_named_with_their_line() {
    let import = import(
        "listener 1883\nallow_anonymous maybe\nmax_keepalive -5\nsys_interval soon\n\
         persistent_client_expiration 3x\ntls_version tlsv1.1\nlog_type chatty\nport\n\
         protocol http\nsocket_domain ipx\nmax_connections many\n",
    );
    assert_eq!(
        unsupported(&import),
        [
            (2, "allow_anonymous"),
            (3, "max_keepalive"),
            (4, "sys_interval"),
            (5, "persistent_client_expiration"),
            (6, "tls_version"),
            (7, "log_type"),
            (8, "port"),
            (9, "protocol"),
            (10, "socket_domain"),
            (11, "max_connections"),
        ]
    );
    assert!(import.unsupported[0]
        .message
        .contains("expected true or false, got \"maybe\""));
    assert!(import.unsupported[3].message.contains("\"14d\""));
    assert!(import.unsupported[4].message.contains("TLS 1.2 and 1.3"));
    assert!(import.unsupported[6].message.contains("has no value"));
}

#[test]
fn log_types_give_the_most_verbose_level() {
    let level = |text: &str| {
        get(&import(text), "log", "level")
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    assert_eq!(
        level("log_type error\nlog_type debug\n").as_deref(),
        Some("debug")
    );
    assert_eq!(level("log_type notice\n").as_deref(), Some("info"));
    assert_eq!(level("log_type all\n").as_deref(), Some("debug"));
    assert_eq!(level("log_type none\n").as_deref(), Some("off"));
    assert_eq!(
        level("log_dest none\nlog_type error\n").as_deref(),
        Some("off")
    );
    assert_eq!(level("log_dest stderr\n"), None);
}

#[test]
fn included_files_are_named_in_findings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("conf.d")).unwrap();
    std::fs::write(
        dir.path().join("conf.d/extra.conf"),
        "listener 1884\npid_file x\n",
    )
    .unwrap();
    let directives =
        crate::mosquitto_conf::read("include_dir conf.d\nsys_interval 3\n", dir.path()).unwrap();
    let import = map(&directives);
    assert_eq!(import.unsupported.len(), 1);
    let text = import.unsupported[0].to_string();
    assert!(
        text.contains(&format!(
            "{}",
            Path::new("conf.d").join("extra.conf").display()
        )),
        "{text}"
    );
    assert!(
        text.ends_with(&format!(
            "extra.conf line 2: pid_file: {}",
            import.unsupported[0].message
        )),
        "{text}"
    );
    assert_eq!(listeners(&import)[0]["bind"].as_str(), Some("0.0.0.0:1884"));
}
