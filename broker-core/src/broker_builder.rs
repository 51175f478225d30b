//! Building and starting a [`Broker`].

use std::collections::HashSet;
use std::fmt;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::broker::Broker;
use crate::broker_error::BrokerError;
use crate::clock::TokioClock;
use crate::cluster::ClusterLink;
use crate::config::{BrokerConfig, ListenerConfig, Transport};
use crate::hooks::{Anonymous, Hook, HookChain, HookChainBuilder, HookOptions};
use crate::runtime::background::peer_outbox;
use crate::runtime::background::{recovery, store_writer, sweeper, sys_topics};
use crate::runtime::hooks::runtime_hooks::{watch_event_task, RuntimeHooks};
use crate::runtime::listener::accept;
use crate::runtime::park::parker;
use crate::runtime::state::receive_limits::ReceiveLimits;
use crate::runtime::state::shared::Shared;
use crate::runtime::transport::fd_table;
use crate::runtime::transport::listener::{Intake, Listener};
use crate::store::{MemoryStore, SessionStore};

/// How a [`Broker`] is built: its configuration, session store and hooks, then
/// [`start`](Self::start).
#[derive(Clone)]
#[must_use]
pub struct BrokerBuilder {
    config: BrokerConfig,
    shutdown_timeout: Duration,
    store: Arc<dyn SessionStore>,
    hooks: HookChainBuilder,
    cluster: Option<Arc<dyn ClusterLink>>,
    /// Listeners whose sockets the caller bound ([`BrokerBuilder::bound_listener`]).
    /// Shared: a cloned builder serves a duplicate of the same socket.
    bound: Vec<(ListenerConfig, Arc<std::net::TcpListener>)>,
    /// Listeners whose connections the caller accepts ([`BrokerBuilder::stream_listener`]).
    streams: Vec<ListenerConfig>,
}

impl fmt::Debug for BrokerBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BrokerBuilder")
            .field("config", &self.config)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

impl Default for BrokerBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl BrokerBuilder {
    /// The default shutdown timeout: 10 s.
    pub const DEFAULT_SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

    /// A builder with the default configuration (one listener on 0.0.0.0:1883).
    pub fn new() -> Self {
        BrokerBuilder {
            config: BrokerConfig::default(),
            shutdown_timeout: Self::DEFAULT_SHUTDOWN_TIMEOUT,
            store: Arc::new(MemoryStore::new()),
            hooks: HookChain::builder(),
            cluster: None,
            bound: Vec::new(),
            streams: Vec::new(),
        }
    }

    /// Adds `hook` at the end of the hook chain, with the default options (5 s timeout,
    /// failures deny). Hooks are asked in the order they are added; they are fixed once the
    /// broker starts. With no hook the broker allows everything (unless anonymous clients
    /// are refused: [`BrokerBuilder::anonymous`], [`ListenerConfig::allow_anonymous()`]).
    pub fn hook(mut self, hook: impl Hook) -> Self {
        self.hooks = self.hooks.hook(hook);
        self
    }

    /// Adds `hook` at the end of the hook chain with `options` (timeout, failure policies).
    pub fn hook_with(mut self, hook: impl Hook, options: HookOptions) -> Self {
        self.hooks = self.hooks.hook_with(hook, options);
        self
    }

    /// Adds a hook the caller keeps a handle to (to reload its rules, say), with `options`.
    pub fn shared_hook(mut self, hook: Arc<dyn Hook>, options: HookOptions) -> Self {
        self.hooks = self.hooks.shared_hook(hook, options);
        self
    }

    /// Replaces the hook chain with `chain`'s hooks, anonymous policy and cache bound;
    /// [`BrokerBuilder::hook`] adds more after them. The broker builds its own chain from
    /// them: reach it with [`Broker::hooks`].
    pub fn hooks(mut self, chain: HookChain) -> Self {
        self.hooks = chain.to_builder();
        self
    }

    /// Whether clients that no hook authenticates may connect, on listeners that do not
    /// say otherwise ([`ListenerConfig::allow_anonymous()`]). Default [`Anonymous::Allow`].
    pub fn anonymous(mut self, anonymous: Anonymous) -> Self {
        self.hooks = self.hooks.anonymous(anonymous);
        self
    }

    /// The store of persistent sessions and retained messages. Default: a new
    /// [`MemoryStore`], which keeps them for the life of the process.
    ///
    /// At [`start`](Self::start) the broker loads the store's retained messages and its
    /// sessions (as offline sessions, resumed by a CONNECT with clean start 0). While it runs,
    /// a persistent session is saved when it goes offline and removed when it ends, retained
    /// messages are set and removed as they change, and a CONNECT with clean start 0 for a
    /// client the broker does not know loads the stored session. Messages queued for an
    /// offline session are kept in memory only (see the `runtime::persist` notes); two
    /// brokers started one after the other on the same store hand their sessions over.
    pub fn session_store(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.store = store;
        self
    }

    /// The link to the other nodes of a cluster. Default: none, as [`Standalone`]: a link
    /// without peers costs nothing. With peers, the link hears of each filter's first and last
    /// local subscriber (a SUBACK waits for the peers to record the route), and the messages
    /// published here that match a peer's routes go to that peer's bounded outbox, forwarded
    /// by one task per peer ([`ClusterLink::forward`]); the link reports the peers' routes with
    /// [`BrokerHandle::add_peer_route`](crate::BrokerHandle::add_peer_route) and their
    /// messages with [`BrokerHandle::publish_from_peer`](crate::BrokerHandle::publish_from_peer).
    ///
    /// [`Standalone`]: crate::cluster::Standalone
    pub fn cluster_link(mut self, link: Arc<dyn ClusterLink>) -> Self {
        self.cluster = Some(link);
        self
    }

    /// Replaces the whole configuration.
    pub fn config(mut self, config: BrokerConfig) -> Self {
        self.config = config;
        self
    }

    /// Adds a listener to the configuration's.
    pub fn listener(mut self, listener: ListenerConfig) -> Self {
        self.config.listeners.push(listener);
        self
    }

    /// Adds a listener on a socket the caller bound (and listens on) itself: one passed by
    /// systemd's socket activation, one bound before privileges were dropped, one on a port
    /// the service chose. `listener.bind` is not used (the socket's own address is the
    /// listener's); its other settings (TLS, WebSocket, PROXY header, limits) apply.
    pub fn bound_listener(
        mut self,
        listener: ListenerConfig,
        socket: std::net::TcpListener,
    ) -> Self {
        self.bound.push((listener, Arc::new(socket)));
        self
    }

    /// Adds a listener whose connections the caller accepts itself (on a Unix socket, from
    /// an in-memory pipe, behind its own accept loop or TLS) and hands over one stream at a
    /// time with [`BrokerHandle::serve_stream`](crate::BrokerHandle::serve_stream). The broker
    /// binds nothing for it (`listener.bind` is not used); its other settings apply as on a
    /// TCP listener: name, `allow_anonymous`, connection limit, client rate, and the PROXY
    /// header, TLS (files or a rustls configuration, reloaded by
    /// [`BrokerHandle::reload_tls`](crate::BrokerHandle::reload_tls)) and WebSocket, whose
    /// handshakes the broker does on each stream. Only `max_connection_rate` has nothing to
    /// act on: the caller's accept loop sets the pace.
    pub fn stream_listener(mut self, listener: ListenerConfig) -> Self {
        self.streams.push(listener);
        self
    }

    /// Removes every listener: the broker then serves in-process clients only.
    pub fn no_listeners(mut self) -> Self {
        self.config.listeners.clear();
        self
    }

    /// How long a graceful [`Broker::shutdown`] waits for connections to close. Default
    /// [`Self::DEFAULT_SHUTDOWN_TIMEOUT`].
    pub fn shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }

    /// Binds every listener, loads the session store's retained messages and sessions, and
    /// starts serving on the current tokio runtime.
    ///
    /// # Errors
    ///
    /// [`BrokerError::Bind`] if a listener cannot bind (nothing is left running then),
    /// [`BrokerError::Tls`] if a listener's TLS files cannot be used,
    /// [`BrokerError::DuplicateListener`] if two listeners share a name.
    pub async fn start(self) -> Result<Broker, BrokerError> {
        let mut names = HashSet::new();
        let configs = self.config.listeners.iter();
        let bound = self.bound.iter().map(|(config, _)| config);
        for listener in configs.chain(bound).chain(&self.streams) {
            if !names.insert(listener.name.as_str()) {
                return Err(BrokerError::DuplicateListener(listener.name.clone()));
            }
        }
        let streams = self
            .streams
            .into_iter()
            .map(stream_listener)
            .collect::<Result<Vec<_>, _>>()?;
        let mut bound = Vec::with_capacity(self.config.listeners.len());
        for config in &self.config.listeners {
            let socket = TcpListener::bind(config.bind).await;
            bound.push(listener_on(config.clone(), socket)?);
        }
        for (config, socket) in self.bound {
            let socket = socket
                .try_clone()
                .and_then(|socket| socket.set_nonblocking(true).map(|()| socket))
                .and_then(TcpListener::from_std);
            bound.push(listener_on(config, socket)?);
        }
        if let Some((_, _, socket)) = bound.first() {
            // One descriptor per connection, and a few for the broker itself.
            let wanted = self
                .config
                .max_connections
                .map_or(fd_table::RESERVE, |most| most as u64 + 64);
            if let Some(slots) = fd_table::reserve(socket, wanted) {
                tracing::debug!("Descriptor table grown to {slots} slots.");
            }
        }
        // The broker's one clock: the chain's time and hook timeouts are the runtime's.
        let chain = self.hooks.clock(Arc::new(TokioClock)).build();
        let (hooks, event_task) = RuntimeHooks::start(Arc::new(chain));
        let shared = Shared::new(
            self.config.session,
            self.config.max_connections,
            self.shutdown_timeout,
            self.config.queue_full_wait,
            self.store,
            hooks,
            self.config.park_idle_after.filter(|after| !after.is_zero()),
            self.cluster,
            ReceiveLimits::new(self.config.max_connect_size, self.config.receive_budget),
            self.config.retained,
        );
        if let Some(cluster) = shared.cluster() {
            for outbox in cluster.started_outboxes() {
                peer_outbox::spawn(&shared, cluster.link(), outbox);
            }
        }
        if let Some(task) = event_task {
            let guard = shared.background_tasks().guard();
            tokio::spawn(watch_event_task(task, shared.watch_run_state(), guard));
        }
        // Before any listener accepts: a client connecting at once is traced as configured.
        for client_id in &self.config.trace_clients {
            shared.client_trace().set(client_id, true);
        }
        // Before any listener accepts: a CONNECT finds the stored sessions in the registry.
        recovery::recover(&shared).await;
        let guard = shared.background_tasks().guard();
        tokio::spawn(store_writer::run(Arc::clone(&shared), guard));
        // Before any listener accepts: the wills due at once of the sessions that were online
        // at a crash are published before their clients can return.
        sweeper::sweep_at_start(&shared).await;
        let mut local_addrs = Vec::with_capacity(bound.len());
        let listeners = bound.iter().map(|(l, ..)| Arc::clone(l));
        shared.set_listeners(listeners.chain(streams).collect());
        for (listener, addr, socket) in bound {
            // Mosquitto's words: "ipv4", "ipv6", or "websockets" for a WebSocket listener.
            let kind = match (&listener.config.transport, addr.is_ipv4()) {
                (Transport::WebSocket { .. }, _) => "websockets",
                (Transport::Mqtt, true) => "ipv4",
                (Transport::Mqtt, false) => "ipv6",
            };
            tracing::info!("Opening {kind} listen socket on port {}.", addr.port());
            tracing::debug!(
                "Listener {} on {addr} speaks {}.",
                listener.name,
                listener.config.scheme()
            );
            local_addrs.push((listener.config.name.clone(), addr));
            let guard = shared.network_tasks().guard();
            tokio::spawn(accept::run(Arc::clone(&shared), socket, listener, guard));
        }
        let guard = shared.background_tasks().guard();
        tokio::spawn(sweeper::run(Arc::clone(&shared), guard));
        if let Some(parker) = shared.parker() {
            let guard = shared.background_tasks().guard();
            tokio::spawn(parker::run(
                Arc::clone(parker),
                shared.watch_run_state(),
                guard,
            ));
        }
        if let Some(interval) = self.config.sys_interval.filter(|i| !i.is_zero()) {
            let guard = shared.background_tasks().guard();
            tokio::spawn(sys_topics::run(Arc::clone(&shared), interval, guard));
        }
        Ok(Broker::new(shared, local_addrs))
    }
}

/// The stream listener `config` describes (its TLS files read): the streams handed over go
/// through its PROXY header, TLS and WebSocket handshakes as a TCP connection's do.
fn stream_listener(config: ListenerConfig) -> Result<Arc<Listener>, BrokerError> {
    Listener::with_intake(config.clone(), Intake::Streams)
        .map(Arc::new)
        .map_err(|source| BrokerError::Tls {
            name: config.name,
            source,
        })
}

/// The listener `config` describes, its TLS files read, on `socket` (bound by the broker or
/// by the caller), with the address it is bound to.
fn listener_on(
    config: ListenerConfig,
    socket: std::io::Result<TcpListener>,
) -> Result<(Arc<Listener>, SocketAddr, TcpListener), BrokerError> {
    let listener = Listener::new(config.clone()).map_err(|source| BrokerError::Tls {
        name: config.name.clone(),
        source,
    })?;
    socket
        .and_then(|socket| Ok((Arc::new(listener), socket.local_addr()?, socket)))
        .map_err(|source| BrokerError::Bind {
            name: config.name,
            addr: config.bind,
            source,
        })
}
