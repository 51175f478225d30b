//! broker-node's integration tests in one binary: the `skein` process driven by real MQTT
//! clients (`clients_*`: Python paho-mqtt, Debian's mosquitto clients, rumqttc, raw TCP, TLS
//! and WebSocket), its command line (`cli_binary`) and what it tells operators
//! (`observability`). Each file of `integration/` is a module; `support/` starts the broker
//! and runs the clients.
//!
//! The Mosquitto password and ACL files end to end (`auth_*`), `skein passwd`
//! (`passwd_cli`), and the admin API with `skein ctl` (`admin_*`) are here too.

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod support;

/// The tests, one module per file of `tests/integration/`.
mod integration {
    mod admin_api;
    mod admin_ctl;
    mod auth_acl_file;
    mod auth_password_file;
    mod auth_per_listener;
    mod cli_binary;
    mod clients_bridge;
    mod clients_control_chars;
    mod clients_mosquitto;
    mod clients_paho;
    mod clients_raw;
    mod clients_rumqttc;
    mod clients_tls;
    mod cluster;
    mod cluster_faults;
    mod cluster_retained;
    mod cluster_status;
    mod config_env;
    mod config_mosquitto;
    mod observability;
    mod passwd_cli;
    mod persistence;
    mod persistence_crash;
    mod persistence_full_disk;
    mod plugin_examples;
    mod plugins;
    mod proxy_protocol;
    mod systemd_notify;
    mod tls_encrypted_key;
    mod tls_options;
    mod tls_reload;
}
