//! The runtime's test binary: the tokio broker over real sockets (TCP, TLS, WebSocket) and
//! in process: connections, sessions and takeover, parking, back-pressure and overflow,
//! shared subscriptions, hooks on the wire, the session store, `$SYS` statistics and the
//! embedding API. Needs the `runtime` feature (`required-features` in Cargo.toml).
//!
//! `support` starts brokers and speaks MQTT over TCP; `transport_support` adds TLS and
//! WebSocket; `test_hook` is a scriptable hook; `log_capture` is the binary's one log
//! subscriber.

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod admin;
mod backpressure;
mod basic;
mod client_rate;
mod closing;
mod cluster_takeover;
mod durable_copies;
mod durable_queue;
mod durable_will;
mod durable_window;
mod embedding;
mod hooks;
mod hooks_authz;
mod hooks_scram;
mod keeping_store;
mod limits;
mod log_capture;
mod overflow;
mod parking;
mod served_handshakes;
mod served_streams;
mod sessions;
mod shared;
mod stats;
mod store;
mod subscribe_live;
mod support;
mod test_hook;
mod tls;
mod tls_encrypted_key;
mod tls_rustls_config;
mod transport_support;
mod ws;
