//! The broker's configuration as the engine takes it: plain values with defaults. Reading it
//! from files and the command line is the node binary's job.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use crate::session::SessionConfig;
use crate::types::ClientId;

/// Everything a [`Broker`](crate::Broker) is built with.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The limits and capabilities every session gets.
    pub session: SessionConfig,
    /// How often the `$SYS/broker/...` topics are published; `None` publishes none.
    /// Default 10 s, as Mosquitto's `sys_interval`.
    pub sys_interval: Option<Duration>,
    /// Clients whose packets are logged at info level from the start (see
    /// [`BrokerHandle::trace_client`](crate::BrokerHandle::trace_client)). Default none.
    pub trace_clients: Vec<ClientId>,
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
            session: SessionConfig::default(),
            sys_interval: Some(Duration::from_secs(10)),
            trace_clients: Vec::new(),
        }
    }
}

/// One listening socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerConfig {
    /// The listener's name, used in logs and (later) in per-listener settings.
    pub name: String,
    /// The address to bind; port 0 picks a free port
    /// ([`Broker::local_addrs`](crate::Broker::local_addrs) tells which).
    pub bind: SocketAddr,
    /// Whether clients no hook authenticates may connect on this listener: `Some(false)`
    /// refuses them (CONNACK 0x87, MQTT 3 return code 5), `Some(true)` lets them in, `None`
    /// follows the hook chain's [`Anonymous`](crate::hooks::Anonymous) policy. Default `None`.
    pub allow_anonymous: Option<bool>,
}

impl ListenerConfig {
    /// A plain TCP listener.
    #[must_use]
    pub fn tcp(name: impl Into<String>, bind: SocketAddr) -> Self {
        ListenerConfig {
            name: name.into(),
            bind,
            allow_anonymous: None,
        }
    }

    /// Sets [`ListenerConfig::allow_anonymous`].
    #[must_use]
    pub fn allow_anonymous(mut self, allow: bool) -> Self {
        self.allow_anonymous = Some(allow);
        self
    }
}
