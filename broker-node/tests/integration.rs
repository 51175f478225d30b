//! broker-node's integration tests in one binary: the `skein` process driven by real MQTT
//! clients (`clients_*`: Python paho-mqtt, Debian's mosquitto clients, rumqttc, raw TCP, TLS
//! and WebSocket), its command line (`cli_binary`) and what it tells operators
//! (`observability`). Each file of `integration/` is a module; `support/` starts the broker
//! and runs the clients.
//!
//! This root sits beside `support/` rather than in `integration/main.rs` so that `mod
//! support;` finds the harness the `auth_*` and `passwd_cli` test binaries share, without a
//! `#[path]`; when those join this binary it can move to `integration/main.rs`.

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod support;

/// The tests, one module per file of `tests/integration/`.
mod integration {
    mod cli_binary;
    mod clients_mosquitto;
    mod clients_paho;
    mod clients_raw;
    mod clients_rumqttc;
    mod clients_tls;
    mod observability;
}
