//! The broker's configuration as the engine takes it: plain values with defaults. Reading it
//! from files and the command line is the node binary's job.
//!
//! Every struct here is `#[non_exhaustive]`, so that a setting can be added without breaking
//! the code that fills them in: outside this crate, start from `Default` or a constructor
//! ([`ListenerConfig::tcp`], [`TlsConfig::new`], [`ClientRate::new`]) and assign the fields,
//! or chain the `with_...` methods.

use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use crate::session::SessionConfig;
use crate::types::ClientId;

/// Everything a [`Broker`](crate::Broker) is built with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct BrokerConfig {
    /// The listeners to bind. Default: one TCP listener named `default` on 0.0.0.0:1883.
    pub listeners: Vec<ListenerConfig>,
    /// Most client connections open at once, across listeners; a connection beyond it is
    /// closed at once (after CONNACK 0x97 / return code 3 once its CONNECT is read).
    /// `None`: no limit. Default `None`.
    pub max_connections: Option<usize>,
    /// How long a publisher waits for room in the full queue of a subscriber that is online
    /// and taking messages. A subscriber that keeps up slows its publishers down to its pace
    /// instead of losing messages; one that takes nothing for this long is a slow subscriber,
    /// and its queue's overflow policy drops (or disconnects). Default 1 s.
    pub queue_full_wait: Duration,
    /// The largest first packet, a CONNECT, in bytes, fixed header included (the lower of it
    /// and the session's `max_packet_size` applies). It bounds what a connection that has not
    /// authenticated can make the broker hold: a larger CONNECT is refused from its fixed
    /// header, before its body is read, and the connection is closed (the version is not
    /// known yet, so no CONNACK is sent); a first packet that is not a CONNECT is refused from
    /// its first byte ([MQTT-3.1.0-1]). Raise it for clients with large wills, user names or
    /// passwords. Default [`Self::DEFAULT_MAX_CONNECT_SIZE`].
    pub max_connect_size: u32,
    /// Most bytes all connections together may hold for large packets still arriving (those
    /// of which a connection holds at least 64 KiB, one read's worth, before they are
    /// complete), as Mosquitto's `memory_limit` but for receive buffers only. Each such packet
    /// counts with the size it declares, from when it reaches 64 KiB until it is complete. A
    /// packet that does not fit is refused: the connection is closed (MQTT 5: DISCONNECT
    /// 0x97, Quota exceeded). `None`: no limit. Default [`Self::DEFAULT_RECEIVE_BUDGET`].
    pub receive_budget: Option<usize>,
    /// The limits and capabilities every session gets.
    pub session: SessionConfig,
    /// How often the `$SYS/broker/...` topics are published; `None` publishes none.
    /// Default 10 s, as Mosquitto's `sys_interval`.
    pub sys_interval: Option<Duration>,
    /// Clients whose packets are logged at info level from the start (see
    /// [`BrokerHandle::trace_client`](crate::BrokerHandle::trace_client)). Default none.
    pub trace_clients: Vec<ClientId>,
    /// How long a connected plain TCP connection may have nothing to do (no packet, no
    /// message) before it is parked: its task ends and its socket waits in a shared epoll
    /// set until the next packet, message or deadline resumes it, so idle connections cost
    /// little memory. `None` never parks. Default 2 s.
    pub park_idle_after: Option<Duration>,
    /// What the retained store keeps at most. Default: no limit.
    pub retained: RetainedLimits,
}

/// What the retained store keeps at most (the broker's own `$SYS` figures aside). A
/// retained publish past a limit is delivered as any publish is, and acknowledged, but not
/// retained: the topic's retained message stays as it was, and the log says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct RetainedLimits {
    /// Most topics with a retained message; a new topic past it is not retained (replacing
    /// or deleting a retained message always works). `None`: no limit.
    pub max_messages: Option<usize>,
    /// Largest payload retained, in bytes. `None`: no limit (besides the packet size).
    pub max_payload: Option<usize>,
}

impl BrokerConfig {
    /// The same configuration with `listeners` in place of its own.
    #[must_use]
    pub fn with_listeners(mut self, listeners: Vec<ListenerConfig>) -> Self {
        self.listeners = listeners;
        self
    }

    /// The default [`max_connect_size`](Self::max_connect_size): 16 KiB, room for a client
    /// identifier, a user name and a password of a few KiB each (a JWT, say) and a small
    /// will, while 10,000 connections that never authenticate can pin at most about 160 MiB
    /// of receive buffers.
    pub const DEFAULT_MAX_CONNECT_SIZE: u32 = 16 * 1024;
    /// The default [`receive_budget`](Self::receive_budget): 256 MiB, 256 packets of the
    /// default 1 MiB maximum arriving at once.
    pub const DEFAULT_RECEIVE_BUDGET: usize = 256 * 1024 * 1024;
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            listeners: vec![ListenerConfig::tcp(
                "default",
                SocketAddr::from((Ipv4Addr::UNSPECIFIED, 1883)),
            )],
            max_connections: None,
            queue_full_wait: Duration::from_secs(1),
            max_connect_size: BrokerConfig::DEFAULT_MAX_CONNECT_SIZE,
            receive_budget: Some(BrokerConfig::DEFAULT_RECEIVE_BUDGET),
            session: SessionConfig::default(),
            sys_interval: Some(Duration::from_secs(10)),
            trace_clients: Vec::new(),
            park_idle_after: Some(Duration::from_secs(2)),
            retained: RetainedLimits::default(),
        }
    }
}

/// One listening socket: where it binds, how MQTT travels over it (plain or inside
/// WebSocket frames) and whether TLS wraps it.
///
/// ```
/// use std::net::SocketAddr;
/// use broker_core::config::{ListenerConfig, TlsConfig};
///
/// let bind: SocketAddr = "127.0.0.1:8884".parse().unwrap();
/// let wss = ListenerConfig::websocket("browsers", bind)
///     .with_tls(TlsConfig::new("server.pem", "server.key").client_ca("ca.pem", true));
/// assert_eq!(wss.transport.websocket_path(), Some("/mqtt"));
/// assert!(wss.tls.is_some());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ListenerConfig {
    /// The listener's name, used in logs and in the requests hooks get.
    pub name: String,
    /// The address to bind; port 0 picks a free port
    /// ([`Broker::local_addrs`](crate::Broker::local_addrs) tells which).
    pub bind: SocketAddr,
    /// Whether clients no hook authenticates may connect on this listener: `Some(false)`
    /// refuses them (CONNACK 0x87, MQTT 3 return code 5), `Some(true)` lets them in, `None`
    /// follows the hook chain's [`Anonymous`](crate::hooks::Anonymous) policy. Default `None`.
    pub allow_anonymous: Option<bool>,
    /// How MQTT packets travel over the (TCP or TLS) stream. Default [`Transport::Mqtt`].
    pub transport: Transport,
    /// TLS on this listener: the server's certificate and key, and client certificates.
    /// `None`: plain TCP (or TLS from [`rustls`](Self::rustls)).
    pub tls: Option<TlsConfig>,
    /// TLS on this listener from a rustls server configuration the embedder built, in
    /// place of [`tls`](Self::tls)'s files (not both). `None`: see `tls`.
    #[cfg(feature = "runtime")]
    pub rustls: Option<crate::RustlsConfig>,
    /// Whether every connection starts with a PROXY protocol header (HAProxy's, version 1
    /// or 2), as a TCP load balancer sends it: the client's address in it stands for the
    /// connection's peer (logs, hook requests, ACL patterns). A connection without one is
    /// closed. Default `false`; only for listeners that nothing but the proxy can reach.
    pub proxy_protocol: bool,
    /// Most client connections open at once on this listener (besides the broker's
    /// [`BrokerConfig::max_connections`]); a CONNECT past it gets CONNACK 0x97 Quota exceeded
    /// (3.x: return code 3). `None`: no limit of its own.
    pub max_connections: Option<usize>,
    /// Most new connections accepted per second (a burst of as many at once); past it the
    /// listener accepts more slowly, leaving the rest in the kernel's backlog, so a
    /// reconnection storm does not take the broker's CPU from the clients it serves.
    /// `None`: no limit.
    pub max_connection_rate: Option<u32>,
    /// How fast each client of this listener may send. Default: no limit.
    pub client_rate: ClientRate,
}

/// How fast one client may send: PUBLISH packets and bytes a second, each a token bucket
/// that holds one second's worth (the burst). A client past either is not refused: its
/// connection stops reading from the socket until the bucket has refilled, so it slows down
/// to the rate and loses nothing (EMQX's `messages_rate` / `bytes_rate` behave so). The
/// broker may read one read's worth (at most 64 KiB) past the bucket before it pauses; the
/// pause then pays that back, so the rate holds on average. MQTT 5 reason codes 0x96
/// (Message rate too high) and 0x97 (Quota exceeded) are not used for it: either would drop
/// a message or the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ClientRate {
    /// Most PUBLISH packets a second. `None`: no limit.
    pub messages: Option<NonZeroU32>,
    /// Most bytes a second, every packet counted whole (the fixed header included).
    /// `None`: no limit.
    pub bytes: Option<NonZeroU32>,
}

impl ClientRate {
    /// No limit.
    pub const UNLIMITED: ClientRate = ClientRate::new(None, None);

    /// At most `messages` PUBLISH packets and `bytes` bytes a second (`None`: no limit of
    /// that kind).
    #[must_use]
    pub const fn new(messages: Option<NonZeroU32>, bytes: Option<NonZeroU32>) -> Self {
        ClientRate { messages, bytes }
    }

    /// Whether either limit is set.
    #[must_use]
    pub fn is_limited(&self) -> bool {
        self.messages.is_some() || self.bytes.is_some()
    }
}

impl ListenerConfig {
    /// A plain TCP listener (MQTT straight over TCP, port 1883 by convention).
    #[must_use]
    pub fn tcp(name: impl Into<String>, bind: SocketAddr) -> Self {
        ListenerConfig {
            name: name.into(),
            bind,
            allow_anonymous: None,
            transport: Transport::Mqtt,
            tls: None,
            #[cfg(feature = "runtime")]
            rustls: None,
            proxy_protocol: false,
            max_connections: None,
            max_connection_rate: None,
            client_rate: ClientRate::UNLIMITED,
        }
    }

    /// MQTT over TLS (port 8883 by convention).
    #[must_use]
    pub fn tls(name: impl Into<String>, bind: SocketAddr, tls: TlsConfig) -> Self {
        ListenerConfig::tcp(name, bind).with_tls(tls)
    }

    /// MQTT over WebSocket on the default path [`Transport::DEFAULT_WEBSOCKET_PATH`]; add
    /// [`with_tls`](Self::with_tls) for secure WebSocket (`wss://`).
    #[must_use]
    pub fn websocket(name: impl Into<String>, bind: SocketAddr) -> Self {
        ListenerConfig {
            transport: Transport::websocket(),
            ..ListenerConfig::tcp(name, bind)
        }
    }

    /// The same listener with TLS (replacing a [`with_rustls`](Self::with_rustls) one).
    #[must_use]
    pub fn with_tls(mut self, tls: TlsConfig) -> Self {
        self.tls = Some(tls);
        #[cfg(feature = "runtime")]
        {
            self.rustls = None;
        }
        self
    }

    /// The same listener with TLS from `config`, a rustls server configuration built by the
    /// embedder, used as it is (replacing a [`with_tls`](Self::with_tls) one): see
    /// [`RustlsConfig`](crate::RustlsConfig).
    #[cfg(feature = "runtime")]
    #[must_use]
    pub fn with_rustls(mut self, config: std::sync::Arc<rustls::ServerConfig>) -> Self {
        self.tls = None;
        self.rustls = Some(crate::RustlsConfig(config));
        self
    }

    /// Whether the listener speaks TLS: from files or from a rustls configuration.
    #[must_use]
    pub fn has_tls(&self) -> bool {
        #[cfg(feature = "runtime")]
        if self.rustls.is_some() {
            return true;
        }
        self.tls.is_some()
    }

    /// The same listener with `transport`.
    #[must_use]
    pub fn with_transport(mut self, transport: Transport) -> Self {
        self.transport = transport;
        self
    }

    /// The URL scheme a client uses for this listener: `mqtt`, `mqtts`, `ws` or `wss`.
    #[must_use]
    pub fn scheme(&self) -> &'static str {
        match (&self.transport, self.has_tls()) {
            (Transport::Mqtt, false) => "mqtt",
            (Transport::Mqtt, true) => "mqtts",
            (Transport::WebSocket { .. }, false) => "ws",
            (Transport::WebSocket { .. }, true) => "wss",
        }
    }

    /// The same listener behind a proxy that sends the PROXY protocol header
    /// ([`ListenerConfig::proxy_protocol`]).
    #[must_use]
    pub fn with_proxy_protocol(mut self) -> Self {
        self.proxy_protocol = true;
        self
    }

    /// The same listener with `rate` for each of its clients ([`ListenerConfig::client_rate`]).
    #[must_use]
    pub fn with_client_rate(mut self, rate: ClientRate) -> Self {
        self.client_rate = rate;
        self
    }

    /// Sets [`ListenerConfig::allow_anonymous`].
    #[must_use]
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.allow_anonymous = Some(allow);
        self
    }
}

/// How MQTT packets travel over a listener's byte stream.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Transport {
    /// MQTT packets straight on the stream.
    #[default]
    Mqtt,
    /// MQTT over WebSocket (MQTT 5.0 §6): an HTTP upgrade on `path` with the subprotocol
    /// `mqtt` (or `mqttv3.1`), then the packets in binary frames. A request for another path
    /// is answered 404; a text frame closes the connection [MQTT-6.0.0-1].
    WebSocket {
        /// The HTTP path clients connect to, starting with `/`.
        path: String,
    },
}

impl Transport {
    /// The path MQTT clients use by default: `/mqtt`.
    pub const DEFAULT_WEBSOCKET_PATH: &'static str = "/mqtt";

    /// WebSocket on [`Self::DEFAULT_WEBSOCKET_PATH`].
    #[must_use]
    pub fn websocket() -> Self {
        Transport::WebSocket {
            path: Self::DEFAULT_WEBSOCKET_PATH.to_owned(),
        }
    }

    /// The WebSocket path, or `None` for plain MQTT.
    #[must_use]
    pub fn websocket_path(&self) -> Option<&str> {
        match self {
            Transport::Mqtt => None,
            Transport::WebSocket { path } => Some(path),
        }
    }
}

/// TLS on a listener: PEM files read when the broker starts (TLS 1.2 and 1.3).
///
/// The names follow Mosquitto's `certfile`, `keyfile`, `cafile`, `require_certificate` and
/// `use_identity_as_username`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TlsConfig {
    /// The server's certificate chain, PEM: its own certificate first, then the
    /// intermediates (Mosquitto's `certfile`).
    pub cert_chain: PathBuf,
    /// The server's private key, PEM: PKCS#8, PKCS#1 (RSA) or SEC1 (EC) (`keyfile`); or
    /// PKCS#8 encrypted with a password (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, PBES2:
    /// PBKDF2 or scrypt with AES-CBC), with [`key_password`](Self::key_password).
    pub private_key: PathBuf,
    /// Where the password of an encrypted [`private_key`](Self::private_key) comes from,
    /// read with the key (at start and at each reload). `None`: the key is not encrypted.
    /// A password for a key that is not encrypted is not used (a warning says so), as
    /// OpenSSL ignores a passphrase given for a plain key.
    pub key_password: Option<KeyPassword>,
    /// The certificate authorities, PEM, that client certificates are verified against
    /// (`cafile`). `None`: clients are not asked for a certificate.
    pub client_ca: Option<PathBuf>,
    /// Whether a client must present a certificate signed by [`client_ca`](Self::client_ca);
    /// a client without one fails the TLS handshake. When `false` a client may present none,
    /// but one it presents must verify. Needs `client_ca`.
    pub require_certificate: bool,
    /// Whether the Common Name (CN) of the client certificate's subject replaces the CONNECT
    /// User Name (and the password is ignored, as Mosquitto does). A client with no
    /// certificate, or one without a CN, is refused with CONNACK 0x86 (3.x: return code 4).
    /// Needs `client_ca`.
    pub use_identity_as_username: bool,
    /// Certificate revocation lists, PEM (Mosquitto's `crlfile`): a client certificate they
    /// revoke fails the handshake. Needs `client_ca`.
    pub crl: Option<PathBuf>,
    /// The oldest TLS version accepted. Default [`TlsVersion::Tls12`].
    pub min_version: TlsVersion,
    /// The cipher suites offered, by their IANA names as rustls spells them
    /// (`TLS13_AES_256_GCM_SHA384`, `TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384`, ...), in order of
    /// preference. Empty: rustls's defaults (every suite it considers secure).
    pub cipher_suites: Vec<String>,
}

/// Where the password of an encrypted private key comes from: never the password itself, so
/// the settings (and their `Debug`) hold no secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyPassword {
    /// The first line of this file, without its line ending (`keyfile_password_file`).
    File(PathBuf),
    /// The value of this environment variable (`keyfile_password_env`).
    Env(String),
}

impl KeyPassword {
    /// The setting's name in the node's configuration: `keyfile_password_file` or
    /// `keyfile_password_env`.
    #[must_use]
    pub fn setting(&self) -> &'static str {
        match self {
            KeyPassword::File(_) => "keyfile_password_file",
            KeyPassword::Env(_) => "keyfile_password_env",
        }
    }
}

impl std::fmt::Display for KeyPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyPassword::File(path) => write!(f, "{} {}", self.setting(), path.display()),
            KeyPassword::Env(name) => write!(f, "{} {name}", self.setting()),
        }
    }
}

/// The oldest TLS version a listener accepts (Mosquitto's `tls_version`). Older versions
/// than 1.2 are not offered at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsVersion {
    /// TLS 1.2 and 1.3.
    #[default]
    Tls12,
    /// TLS 1.3 only.
    Tls13,
}

impl TlsConfig {
    /// TLS with the server's certificate chain and key; no client certificates.
    #[must_use]
    pub fn new(cert_chain: impl Into<PathBuf>, private_key: impl Into<PathBuf>) -> Self {
        TlsConfig {
            cert_chain: cert_chain.into(),
            private_key: private_key.into(),
            key_password: None,
            client_ca: None,
            require_certificate: false,
            use_identity_as_username: false,
            crl: None,
            min_version: TlsVersion::default(),
            cipher_suites: Vec::new(),
        }
    }

    /// Verifies client certificates against the authorities in `ca` (PEM); `required`: a
    /// client without a certificate fails the handshake.
    #[must_use]
    pub fn client_ca(mut self, ca: impl Into<PathBuf>, required: bool) -> Self {
        self.client_ca = Some(ca.into());
        self.require_certificate = required;
        self
    }

    /// Decrypts the private key with the password from `password`.
    #[must_use]
    pub fn key_password(mut self, password: KeyPassword) -> Self {
        self.key_password = Some(password);
        self
    }

    /// Uses the client certificate's subject CN as the user name.
    #[must_use]
    pub fn use_identity_as_username(mut self, on: bool) -> Self {
        self.use_identity_as_username = on;
        self
    }
}
