//! Skein's MQTT engine.
//!
//! Today this crate holds the foundation every other part of Skein stands on:
//!
//! - [`types`]: domain newtypes that parse on construction ([`types::TopicName`],
//!   [`types::TopicFilter`], [`types::ClientId`], [`types::PacketId`], [`types::QoS`],
//!   [`types::ReasonCode`], ...). Holding one is proof that the value is valid.
//! - [`codec`]: an incremental, strict, zero-copy encoder and decoder of every MQTT 3.1,
//!   3.1.1 and 5.0 control packet. Every rejection names the normative statement it enforces
//!   and maps, in one place, to the reason code or return code the broker answers with.
//! - [`router`]: the subscription index (topic trie with `+`, `#` and the `$` rule), shared
//!   subscription groups and retained messages: who gets a publish, and which retained
//!   messages a new subscription gets.
//! - [`session`]: the building blocks of one client's session: the routed
//!   [`session::Message`], packet identifiers, the outbound in-flight window, QoS 2 receive
//!   state, topic alias maps and the keep-alive deadline.
//! - [`Broker`] (feature `runtime`, on by default): the tokio runtime that drives sessions
//!   over TCP, and the embedding API: [`Broker::builder`], a [`BrokerHandle`] to publish and
//!   subscribe in-process, and a graceful [`Broker::shutdown`].
//!
//! - [`clock`]: the one clock the engine is handed ([`clock::Clock`]): tokio's under the
//!   runtime, std's without it.
//!
//! The codec never does I/O, never spawns and never reads a clock: it takes bytes and returns
//! packets, and the other way round.
//!
//! # Embedding
//!
//! A broker inside your own tokio runtime: MQTT clients connect to its listeners, your code
//! publishes and subscribes in-process through a [`BrokerHandle`], and
//! [`Broker::shutdown`] ends it gracefully. Hooks (authentication, authorization,
//! rewriting, events: [`hooks::Hook`]) are given to [`Broker::builder`]; the session store
//! ([`store::SessionStore`]) too. The `skein` binary (crate `broker-node`) and
//! `examples/embedded.rs` are complete programs built this way (feature `runtime`).
//!
//! The configuration ([`config::BrokerConfig`], [`config::ListenerConfig`],
//! [`config::TlsConfig`], [`config::ClientRate`], [`config::RetainedLimits`],
//! [`session::SessionConfig`], [`session::QueueLimits`], [`hooks::HookOptions`]) is plain
//! data with public fields, and every one of those structs is `#[non_exhaustive]`, so a
//! later version can add a setting without breaking your code: start from `Default` (or a
//! constructor such as `ListenerConfig::tcp`, `TlsConfig::new`, `ClientRate::new`) and set
//! the fields you care about, or chain the `with_...` methods; struct literals (even with
//! `..Default::default()`) are not available outside this crate.
//!
//! ```
//! use std::time::Duration;
//! use broker_core::config::{BrokerConfig, ListenerConfig};
//!
//! let mut config = BrokerConfig::default()
//!     .with_listeners(vec![ListenerConfig::tcp("local", "127.0.0.1:1883".parse().unwrap())]);
//! config.max_connections = Some(10_000);
//! config.session.connect_timeout = Duration::from_secs(5);
//! config.session.queue.max_messages = 100;
//! config.retained.max_payload = Some(64 * 1024);
//! ```
//!
//! A listener speaks TLS from PEM files ([`config::TlsConfig`]; an encrypted private key
//! takes its password from a file or an environment variable, [`config::KeyPassword`]) or
//! from a rustls `ServerConfig` you build yourself (certificates from a secret store, your
//! own client certificate verifier): `ListenerConfig::with_rustls`, with the `rustls`
//! this crate re-exports (feature `runtime`). `BrokerHandle::reload_tls` reads the files of
//! the first kind again and leaves listeners of the second as they are.
//!
//! Connections need not come from a socket the broker binds: `BrokerBuilder::bound_listener`
//! takes a TCP socket you bound (systemd's socket activation, a port bound before dropping
//! privileges), and a stream listener (`BrokerBuilder::stream_listener`) takes connections
//! you accept yourself, any `AsyncRead + AsyncWrite` stream (a Unix socket, an in-memory
//! `tokio::io::duplex` pipe, a TLS stream of your own), one at a time through
//! `BrokerHandle::serve_stream`. The stream listener's settings apply as a TCP listener's
//! do: with TLS (files or rustls, reloaded by `reload_tls`), WebSocket or the PROXY header
//! configured, the broker does those handshakes on each stream before MQTT.
#![cfg_attr(
    feature = "runtime",
    doc = r#"
```no_run
# async fn demo() -> Result<(), Box<dyn std::error::Error>> {
use broker_core::config::ListenerConfig;
use broker_core::Broker;

let local = ListenerConfig::tcp("local", "127.0.0.1:0".parse()?); // `bind` is not used
let broker = Broker::builder().no_listeners().stream_listener(local).start().await?;
let socket = tokio::net::UnixListener::bind("/run/skein/mqtt.sock")?;
let handle = broker.handle();
while let Ok((stream, _)) = socket.accept().await {
    handle.serve_stream("local", stream, None)?;
}
# Ok(())
# }
```
"#
)]
//!
//! The embedding example, in full:
#![cfg_attr(
    feature = "runtime",
    doc = r#"
```no_run
# async fn demo() -> Result<(), broker_core::BrokerError> {
use broker_core::codec::{PublishProperties, SubscriptionOptions};
use broker_core::config::{BrokerConfig, ListenerConfig};
use broker_core::types::{MqttString, QoS, TopicFilter, TopicName};
use broker_core::Broker;

let mut config = BrokerConfig::default();
config.listeners = vec![ListenerConfig::tcp("mqtt", "0.0.0.0:1883".parse().unwrap())];
let broker = Broker::builder().config(config).start().await?;
let handle = broker.handle();

let filter = TopicFilter::new("sensors/#").unwrap();
let mut sub = handle
    .subscribe_with(filter, SubscriptionOptions::qos(QoS::AtLeastOnce))
    .await?;
let properties = PublishProperties {
    content_type: Some(MqttString::new("text/plain").unwrap()),
    ..PublishProperties::default()
};
let topic = TopicName::new("sensors/1").unwrap();
handle
    .publish_with(topic, "21.5".into(), QoS::AtLeastOnce, false, properties)
    .await?;
// `sub` is also a `futures_core::Stream` of the same messages.
let message = sub.recv().await;
assert_eq!(message.map(|m| m.payload), Some("21.5".into()));
broker.shutdown().await;
# Ok(())
# }
```
"#
)]

#[cfg(feature = "runtime")]
pub mod admin;
#[cfg(feature = "runtime")]
mod broker;
#[cfg(feature = "runtime")]
mod broker_builder;
#[cfg(feature = "runtime")]
mod broker_error;
#[cfg(feature = "runtime")]
mod broker_handle;
#[cfg(feature = "runtime")]
mod broker_stats;
#[cfg(feature = "runtime")]
mod broker_subscription;
pub mod clock;
pub mod cluster;
pub mod codec;
pub mod config;
pub mod hooks;
#[cfg(feature = "runtime")]
mod listener_stats;
pub mod router;
#[cfg(feature = "runtime")]
mod runtime;
#[cfg(feature = "runtime")]
mod rustls_config;
pub mod session;
pub mod store;
#[cfg(feature = "runtime")]
mod tls_error;
pub mod types;

#[cfg(feature = "runtime")]
pub use broker::{
    Broker, BrokerBuilder, BrokerError, BrokerHandle, BrokerStats, DroppedMessages, PerQos,
    Subscription,
};
#[cfg(feature = "runtime")]
pub use listener_stats::{ListenerStats, PacketCounts, TrafficStats};
/// The rustls this crate's listeners use, for a [`RustlsConfig`] built with the same version.
#[cfg(feature = "runtime")]
pub use rustls;
#[cfg(feature = "runtime")]
pub use rustls_config::RustlsConfig;
#[cfg(feature = "runtime")]
pub use tls_error::{TlsError, TlsFile};
