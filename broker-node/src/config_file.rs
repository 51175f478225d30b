//! The config file's schema, as serde reads it: one struct per TOML table, every key in
//! `snake_case`, unknown keys rejected. Values are raw here (integers as `u64`, addresses as
//! strings); `config_resolve` checks their ranges and builds the engine's [`BrokerConfig`].
//!
//! Every default is taken from the engine's own `Default` values through
//! [`FileConfig::from_engine`], so an omitted key means exactly what the engine would do.

use std::path::PathBuf;

use broker_core::config::{BrokerConfig, KeyPassword, ListenerConfig, TlsVersion, Transport};
use broker_core::session::OverflowPolicy;
use serde::Deserialize;

use crate::config_admin::AdminSection;
use crate::config_cluster::ClusterSection;
use crate::config_duration::{DurationIn, Millis, Seconds};
use crate::config_plugins::PluginSection;
use crate::config_size::ByteSize;
use crate::config_storage::StorageSection;
use crate::logging::{LogFormat, LogLevel};

/// Mosquitto's spellings accepted beside Skein's keys (the `serde(alias)`es below): (table,
/// Mosquitto's key, Skein's key); the tests check each against its key and the docs.
#[cfg(test)]
pub(crate) const MOSQUITTO_ALIASES: [(&str, &str, &str); 5] = [
    ("limits", "max_inflight_messages", "max_inflight"),
    (
        "session",
        "allow_zero_length_clientid",
        "allow_zero_length_client_id",
    ),
    ("session", "max_queued_messages", "queue_max_messages"),
    ("session", "max_queued_bytes", "queue_max_bytes"),
    ("sys", "sys_interval", "interval"),
];

/// The whole file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FileConfig {
    /// `[[listener]]`: the sockets to listen on. Omitted: one on 0.0.0.0:1883.
    pub(crate) listener: Vec<ListenerSection>,
    /// `[auth]`.
    pub(crate) auth: AuthSection,
    /// `[limits]`.
    pub(crate) limits: LimitsSection,
    /// `[session]`.
    pub(crate) session: SessionSection,
    /// `[features]`.
    pub(crate) features: FeaturesSection,
    /// `[log]`.
    pub(crate) log: LogSection,
    /// `[sys]`.
    pub(crate) sys: SysSection,
    /// `[metrics]`.
    pub(crate) metrics: MetricsSection,
    /// `[storage]`.
    pub(crate) storage: StorageSection,
    /// `[admin]`.
    pub(crate) admin: AdminSection,
    /// `[runtime]`.
    pub(crate) runtime: RuntimeSection,
    /// `[[plugins]]`: WASM plugins for the hook chain.
    pub(crate) plugins: Vec<PluginSection>,
    /// `[cluster]`.
    pub(crate) cluster: ClusterSection,
}

/// One `[[listener]]` entry. The TLS keys have Mosquitto's names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListenerSection {
    /// Shown in logs; defaults to the bind address.
    #[serde(default)]
    pub(crate) name: Option<String>,
    /// `IP:PORT`, e.g. `0.0.0.0:1883` or `[::]:1883`.
    pub(crate) bind: String,
    /// `mqtt` or `websockets`.
    #[serde(default)]
    pub(crate) protocol: ProtocolSetting,
    /// The HTTP path of a `websockets` listener; `/mqtt` when omitted.
    #[serde(default)]
    pub(crate) websocket_path: Option<String>,
    /// The server's certificate chain (PEM); with `keyfile`, turns TLS on.
    #[serde(default)]
    pub(crate) certfile: Option<PathBuf>,
    /// The server's private key (PEM), encrypted or not.
    #[serde(default)]
    pub(crate) keyfile: Option<PathBuf>,
    /// The file whose first line is the password of an encrypted `keyfile`.
    #[serde(default)]
    pub(crate) keyfile_password_file: Option<PathBuf>,
    /// The environment variable holding the password of an encrypted `keyfile`.
    #[serde(default)]
    pub(crate) keyfile_password_env: Option<String>,
    /// The CA certificates (PEM) client certificates are verified against.
    #[serde(default)]
    pub(crate) cafile: Option<PathBuf>,
    /// Whether a client must present a certificate signed by `cafile`.
    #[serde(default)]
    pub(crate) require_certificate: bool,
    /// Whether the client certificate's CN replaces the CONNECT user name.
    #[serde(default)]
    pub(crate) use_identity_as_username: bool,
    /// Certificate revocation lists (PEM) checked on client certificates.
    #[serde(default)]
    pub(crate) crlfile: Option<PathBuf>,
    /// The oldest TLS version accepted: `tlsv1.2` or `tlsv1.3`.
    #[serde(default)]
    pub(crate) tls_version: TlsVersionSetting,
    /// The cipher suites offered, by IANA name; empty: rustls's defaults.
    #[serde(default)]
    pub(crate) cipher_suites: Vec<String>,
    /// Whether clients without credentials may connect here; `[auth]`'s setting when
    /// omitted.
    #[serde(default)]
    pub(crate) allow_anonymous: Option<bool>,
    /// Whether each connection starts with a PROXY protocol header (v1 or v2).
    #[serde(default)]
    pub(crate) proxy_protocol: bool,
    /// Most connections open at once on this listener; 0: no limit of its own.
    #[serde(default)]
    pub(crate) max_connections: u64,
    /// Most new connections accepted a second; 0: no limit.
    #[serde(default)]
    pub(crate) max_connection_rate: u64,
    /// Most PUBLISH packets a second from each client here; omitted: `[limits]`'s; 0: no
    /// limit.
    #[serde(default)]
    pub(crate) client_message_rate: Option<u64>,
    /// Most bytes a second from each client here; omitted: `[limits]`'s; 0: no limit.
    #[serde(default)]
    pub(crate) client_byte_rate: Option<ByteSize>,
    /// This listener's own password file, in place of `[auth]`'s.
    #[serde(default)]
    pub(crate) password_file: Option<PathBuf>,
    /// This listener's own ACL file, in place of `[auth]`'s.
    #[serde(default)]
    pub(crate) acl_file: Option<PathBuf>,
}

/// `listener.tls_version`: the oldest TLS version accepted (Mosquitto's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
pub(crate) enum TlsVersionSetting {
    /// TLS 1.2 and 1.3.
    #[default]
    #[serde(rename = "tlsv1.2")]
    Tls12,
    /// TLS 1.3 only.
    #[serde(rename = "tlsv1.3")]
    Tls13,
}

/// `listener.protocol`: how MQTT travels (Mosquitto's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum ProtocolSetting {
    /// MQTT straight over TCP or TLS.
    #[default]
    Mqtt,
    /// MQTT over WebSocket (or secure WebSocket with `certfile`).
    Websockets,
}

impl ListenerSection {
    /// The section that says exactly `listener`.
    fn from_engine(listener: &ListenerConfig) -> ListenerSection {
        let tls = listener.tls.as_ref();
        ListenerSection {
            name: Some(listener.name.clone()),
            bind: listener.bind.to_string(),
            protocol: match listener.transport {
                Transport::Mqtt => ProtocolSetting::Mqtt,
                Transport::WebSocket { .. } => ProtocolSetting::Websockets,
            },
            websocket_path: listener.transport.websocket_path().map(str::to_owned),
            certfile: tls.map(|tls| tls.cert_chain.clone()),
            keyfile: tls.map(|tls| tls.private_key.clone()),
            keyfile_password_file: tls.and_then(|tls| match &tls.key_password {
                Some(KeyPassword::File(path)) => Some(path.clone()),
                _ => None,
            }),
            keyfile_password_env: tls.and_then(|tls| match &tls.key_password {
                Some(KeyPassword::Env(name)) => Some(name.clone()),
                _ => None,
            }),
            cafile: tls.and_then(|tls| tls.client_ca.clone()),
            require_certificate: tls.is_some_and(|tls| tls.require_certificate),
            use_identity_as_username: tls.is_some_and(|tls| tls.use_identity_as_username),
            crlfile: tls.and_then(|tls| tls.crl.clone()),
            tls_version: match tls.map(|tls| tls.min_version) {
                Some(TlsVersion::Tls13) => TlsVersionSetting::Tls13,
                _ => TlsVersionSetting::Tls12,
            },
            cipher_suites: tls.map(|tls| tls.cipher_suites.clone()).unwrap_or_default(),
            allow_anonymous: listener.allow_anonymous,
            proxy_protocol: listener.proxy_protocol,
            max_connections: listener.max_connections.map_or(0, |max| max as u64),
            max_connection_rate: listener.max_connection_rate.map_or(0, u64::from),
            client_message_rate: Some(listener.client_rate.messages.map_or(0, |n| n.get().into())),
            client_byte_rate: Some(ByteSize(
                listener.client_rate.bytes.map_or(0, |n| n.get().into()),
            )),
            password_file: None,
            acl_file: None,
        }
    }
}

/// `[auth]`: authentication and authorization with Mosquitto's files (Mosquitto's key
/// names).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AuthSection {
    /// A password file (`mosquitto_passwd`, `skein passwd`).
    pub(crate) password_file: Option<PathBuf>,
    /// An ACL file.
    pub(crate) acl_file: Option<PathBuf>,
    /// Whether clients without credentials may connect; omitted: `true` unless
    /// `password_file` is set.
    pub(crate) allow_anonymous: Option<bool>,
}

/// `[limits]`: sizes and counts the broker enforces.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LimitsSection {
    /// Most connections at once; 0 is no limit.
    pub(crate) max_connections: u64,
    /// Largest packet accepted, in bytes.
    pub(crate) max_packet_size: ByteSize,
    /// Largest first packet (CONNECT) accepted, in bytes.
    pub(crate) max_connect_size: ByteSize,
    /// Bytes all connections together may hold for large packets still arriving; 0 is no
    /// limit.
    pub(crate) receive_budget: ByteSize,
    /// Longest client identifier, in bytes.
    pub(crate) max_client_id_len: u64,
    /// Longest topic name or filter, in bytes.
    pub(crate) max_topic_len: u64,
    /// Most levels in a topic name or filter.
    pub(crate) max_topic_levels: u64,
    /// Unacknowledged QoS 1/2 PUBLISH packets a client may send (v5 Receive Maximum).
    pub(crate) receive_maximum: u64,
    /// Unacknowledged QoS 1/2 messages the broker sends a 3.x client (Mosquitto's
    /// `max_inflight_messages` too).
    #[serde(alias = "max_inflight_messages")]
    pub(crate) max_inflight: u64,
    /// Topic aliases a v5 client may set.
    pub(crate) topic_alias_maximum: u64,
    /// Most topics with a retained message; 0 is no limit.
    pub(crate) retained_max_messages: u64,
    /// Largest payload retained, in bytes; 0 is no limit.
    pub(crate) retained_max_payload: ByteSize,
    /// Most PUBLISH packets a second from each client, unless its listener says; 0 is no
    /// limit.
    pub(crate) client_message_rate: u64,
    /// Most bytes a second from each client, unless its listener says; 0 is no limit.
    pub(crate) client_byte_rate: ByteSize,
}

/// `[session]`: timers and the per-session message queue.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SessionSection {
    /// Largest Session Expiry Interval granted, in seconds; 4294967295 is "never".
    pub(crate) max_session_expiry: Seconds,
    /// Largest Keep Alive accepted, in seconds; 0 is no cap.
    pub(crate) max_keep_alive: Seconds,
    /// Seconds a new connection has to send CONNECT.
    pub(crate) connect_timeout: Seconds,
    /// Whether an empty client id gets an assigned one (3.1.1 with clean session, 5.0);
    /// Mosquitto's `allow_zero_length_clientid` too.
    #[serde(alias = "allow_zero_length_clientid")]
    pub(crate) allow_zero_length_client_id: bool,
    /// Most messages queued per session (Mosquitto's `max_queued_messages` too).
    #[serde(alias = "max_queued_messages")]
    pub(crate) queue_max_messages: u64,
    /// Most bytes queued per session (Mosquitto's `max_queued_bytes` too).
    #[serde(alias = "max_queued_bytes")]
    pub(crate) queue_max_bytes: ByteSize,
    /// Whether QoS 0 messages are queued for offline persistent sessions.
    pub(crate) queue_qos0: bool,
    /// What a full queue does with one more message.
    pub(crate) queue_overflow: OverflowSetting,
    /// Milliseconds a publisher waits for room in an online subscriber's full queue.
    pub(crate) queue_full_wait_ms: Millis,
    /// Milliseconds of idleness after which a connection is parked; 0 never parks.
    pub(crate) park_idle_after_ms: Millis,
    /// v5 Response Information for clients that request it; omitted sends none.
    pub(crate) response_information: Option<String>,
}

/// `session.queue_overflow`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OverflowSetting {
    /// Drop the incoming message (Mosquitto's behaviour).
    DropNewest,
    /// Drop the oldest queued messages to make room.
    DropOldest,
    /// Disconnect the slow client.
    Disconnect,
}

/// `[features]`: what the broker offers clients (v5 CONNACK capability flags).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct FeaturesSection {
    /// Retained messages.
    pub(crate) retain_available: bool,
    /// `+` and `#` in subscriptions.
    pub(crate) wildcard_subscriptions: bool,
    /// `$share/group/filter` subscriptions.
    pub(crate) shared_subscriptions: bool,
    /// v5 subscription identifiers.
    pub(crate) subscription_identifiers: bool,
    /// Highest QoS granted, 0 to 2.
    pub(crate) max_qos: u64,
    /// Whether the broker sets topic aliases on what it sends v5 clients.
    pub(crate) outbound_topic_aliases: bool,
    /// Whether client ids, user names, topics and filters may hold control characters.
    pub(crate) allow_control_characters: bool,
}

/// `[log]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct LogSection {
    /// `off`, `error`, `warn`, `info`, `debug` or `trace`.
    pub(crate) level: LogLevel,
    /// `text` or `json`.
    pub(crate) format: LogFormat,
    /// Client identifiers whose every packet is logged at info level.
    pub(crate) trace_clients: Vec<String>,
}

/// `[sys]`: the `$SYS/broker/...` topics.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct SysSection {
    /// Seconds between two publications of the `$SYS` topics; 0 publishes none (Mosquitto's
    /// `sys_interval` too).
    #[serde(alias = "sys_interval")]
    pub(crate) interval: Seconds,
}

/// `[runtime]`: the tokio runtime `skein` runs on (`runtime.rs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct RuntimeSection {
    /// Whether woken tasks run in the order they were woken (tokio's LIFO slot disabled).
    pub(crate) arrival_order: bool,
}

/// `[metrics]`: the Prometheus endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct MetricsSection {
    /// `IP:PORT` to serve `/metrics` on; omitted, there is no endpoint.
    pub(crate) bind: Option<String>,
}

impl FileConfig {
    /// The file that says exactly `engine`: the inverse of resolving (default log settings).
    pub(crate) fn from_engine(engine: &BrokerConfig) -> FileConfig {
        let session = &engine.session;
        let to_u64 = |value: usize| u64::try_from(value).unwrap_or(u64::MAX);
        FileConfig {
            listener: engine
                .listeners
                .iter()
                .map(ListenerSection::from_engine)
                .collect(),
            auth: AuthSection::default(),
            limits: LimitsSection {
                max_connections: engine.max_connections.map_or(0, to_u64),
                max_packet_size: ByteSize(u64::from(session.max_packet_size)),
                max_connect_size: ByteSize(u64::from(engine.max_connect_size)),
                receive_budget: ByteSize(engine.receive_budget.map_or(0, to_u64)),
                max_client_id_len: to_u64(session.max_client_id_len),
                max_topic_len: to_u64(session.max_topic_len),
                max_topic_levels: to_u64(session.max_topic_levels),
                receive_maximum: u64::from(session.receive_maximum.get()),
                max_inflight: u64::from(session.max_inflight_v3.get()),
                topic_alias_maximum: u64::from(session.topic_alias_maximum),
                retained_max_messages: engine.retained.max_messages.map_or(0, to_u64),
                retained_max_payload: ByteSize(engine.retained.max_payload.map_or(0, to_u64)),
                client_message_rate: 0,
                client_byte_rate: ByteSize(0),
            },
            session: SessionSection {
                max_session_expiry: DurationIn(u64::from(session.max_session_expiry)),
                max_keep_alive: DurationIn(session.max_keep_alive.map_or(0, u64::from)),
                connect_timeout: DurationIn(session.connect_timeout.as_secs()),
                allow_zero_length_client_id: session.allow_zero_length_client_id,
                queue_max_messages: to_u64(session.queue.max_messages),
                queue_max_bytes: ByteSize(to_u64(session.queue.max_bytes)),
                queue_qos0: session.queue.queue_qos0,
                queue_overflow: OverflowSetting::from(session.queue.overflow),
                queue_full_wait_ms: DurationIn(
                    u64::try_from(engine.queue_full_wait.as_millis()).unwrap_or(u64::MAX),
                ),
                park_idle_after_ms: DurationIn(engine.park_idle_after.map_or(0, |after| {
                    u64::try_from(after.as_millis()).unwrap_or(u64::MAX)
                })),
                response_information: session.response_information.clone(),
            },
            features: FeaturesSection {
                retain_available: session.retain_available,
                wildcard_subscriptions: session.wildcard_subscriptions,
                shared_subscriptions: session.shared_subscriptions,
                subscription_identifiers: session.subscription_identifiers,
                max_qos: u64::from(u8::from(session.max_qos)),
                outbound_topic_aliases: session.outbound_topic_aliases,
                allow_control_characters: session.allow_control_characters,
            },
            log: LogSection {
                trace_clients: engine
                    .trace_clients
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
                ..LogSection::default()
            },
            sys: SysSection {
                interval: DurationIn(engine.sys_interval.map_or(0, |interval| interval.as_secs())),
            },
            metrics: MetricsSection::default(),
            storage: StorageSection::default(),
            admin: AdminSection::default(),
            runtime: RuntimeSection::default(),
            plugins: Vec::new(),
            cluster: ClusterSection::default(),
        }
    }
}

impl Default for FileConfig {
    fn default() -> Self {
        FileConfig::from_engine(&BrokerConfig::default())
    }
}

impl Default for LimitsSection {
    fn default() -> Self {
        FileConfig::default().limits
    }
}

impl Default for SessionSection {
    fn default() -> Self {
        FileConfig::default().session
    }
}

impl Default for FeaturesSection {
    fn default() -> Self {
        FileConfig::default().features
    }
}

impl Default for SysSection {
    fn default() -> Self {
        FileConfig::default().sys
    }
}

impl Default for RuntimeSection {
    fn default() -> Self {
        RuntimeSection {
            arrival_order: true,
        }
    }
}

impl Default for LogSection {
    fn default() -> Self {
        LogSection {
            level: LogLevel::Info,
            format: LogFormat::Text,
            trace_clients: Vec::new(),
        }
    }
}

impl From<OverflowPolicy> for OverflowSetting {
    fn from(policy: OverflowPolicy) -> Self {
        match policy {
            OverflowPolicy::DropNewest => OverflowSetting::DropNewest,
            OverflowPolicy::DropOldest => OverflowSetting::DropOldest,
            OverflowPolicy::Disconnect => OverflowSetting::Disconnect,
        }
    }
}

impl From<OverflowSetting> for OverflowPolicy {
    fn from(setting: OverflowSetting) -> Self {
        match setting {
            OverflowSetting::DropNewest => OverflowPolicy::DropNewest,
            OverflowSetting::DropOldest => OverflowPolicy::DropOldest,
            OverflowSetting::Disconnect => OverflowPolicy::Disconnect,
        }
    }
}
