//! The state every task of one broker shares, behind one `Arc`.
//!
//! [`Shared`] has no public fields: each piece is reached through a method that says what
//! may be done with it. The client [`Registry`], the [`Router`] and the [`Retained`] messages
//! are types whose locks nobody else takes; the session store is reached through its
//! [`Persist`] handle.
//!
//! # What this module must never do
//!
//! Import the modules that use the shared state (connections, listeners, background tasks):
//! they sit above it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use crate::cluster::{ClusterLink, PeerName};
use crate::config::RetainedLimits;
use crate::runtime::client_trace::ClientTrace;
use crate::runtime::clock::now;
use crate::runtime::cluster::node_link::NodeLink;
use crate::runtime::hooks::runtime_hooks::RuntimeHooks;
use crate::runtime::park::parker::Parker;
use crate::runtime::persist::handle::Persist;
use crate::runtime::run_state::RunState;
use crate::runtime::state::receive_limits::ReceiveLimits;
use crate::runtime::state::registry::Registry;
use crate::runtime::state::retained::Retained;
use crate::runtime::state::router::Router;
use crate::runtime::state::stats::Stats;
use crate::runtime::state::subscribe_gate::SubscribeGate;
use crate::runtime::tasks::TaskTracker;
use crate::runtime::transport::listener::Listener;
use crate::session::SessionConfig;
use crate::store::SessionStore;

/// The broker's shared state.
///
/// Locks are `std` locks held for one short, synchronous step and never across an `.await`:
/// the router's read lock for one match, the registry's lock for one lookup or change.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Every session's limits and capabilities.
    session_config: Arc<SessionConfig>,
    /// Most client connections open at once.
    max_connections: Option<usize>,
    /// How long a graceful shutdown waits for connections to close.
    shutdown_timeout: Duration,
    /// How long publishers wait for room in an online subscriber's full queue.
    queue_full_wait: Duration,
    /// The subscription index.
    router: Router,
    /// The SUBSCRIBE packets being carried out.
    subscribe_gate: Arc<SubscribeGate>,
    /// The retained messages; their clock is seconds since `started`.
    retained: Retained,
    /// Client identifier -> session.
    registry: Registry,
    /// The session store and the task that writes to it in order.
    persist: Persist,
    /// The hooks: authentication, authorization, rewriting, events.
    hooks: RuntimeHooks,
    /// Network connections open now.
    connections: AtomicUsize,
    /// The first CONNECT's size limit and the budget for large packets being received.
    receive_limits: ReceiveLimits,
    /// Counters.
    stats: Stats,
    /// The clients whose packets are logged at info level.
    client_trace: ClientTrace,
    /// The broker's start, the origin of the retained store's clock.
    started: Instant,
    /// The run state; every task watches it.
    run_state: watch::Sender<RunState>,
    /// Wakes the sweeper when an offline session is added.
    sweeper_wake: Notify,
    /// Listener and connection tasks: a graceful shutdown waits for them.
    network_tasks: Arc<TaskTracker>,
    /// The sweeper and in-process subscription tasks: they end once the network tasks have.
    background_tasks: Arc<TaskTracker>,
    /// How long a connection stays idle before it is parked; `None`: never.
    park_after: Option<Duration>,
    /// The parked connections, when idle connections are parked.
    parker: Option<Arc<Parker>>,
    /// The link to the peer nodes, when the node has peers.
    cluster: Option<NodeLink>,
    /// The listeners, once bound (for what acts on all of them: a TLS reload).
    listeners: OnceLock<Vec<Arc<Listener>>>,
}

impl Shared {
    /// Shared state for a broker with these settings.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        session_config: SessionConfig,
        max_connections: Option<usize>,
        shutdown_timeout: Duration,
        queue_full_wait: Duration,
        store: Arc<dyn SessionStore>,
        hooks: RuntimeHooks,
        park_after: Option<Duration>,
        cluster: Option<Arc<dyn ClusterLink>>,
        receive_limits: ReceiveLimits,
        retained_limits: RetainedLimits,
    ) -> Arc<Shared> {
        let (run_state, _) = watch::channel(RunState::Running);
        let parker = park_after.and_then(|_| match Parker::new() {
            Ok(parker) => Some(parker),
            Err(error) => {
                tracing::warn!(%error, "Idle connections will not be parked.");
                None
            }
        });
        let started = now();
        let cluster = cluster.and_then(|link| NodeLink::new(link, session_config.queue));
        Arc::new(Shared {
            session_config: Arc::new(session_config),
            max_connections,
            shutdown_timeout,
            queue_full_wait,
            router: Router::default(),
            subscribe_gate: Arc::default(),
            retained: Retained::new(
                started,
                retained_limits,
                cluster
                    .as_ref()
                    .map(|c| PeerName::new(c.link().node_name())),
            ),
            registry: Registry::default(),
            persist: Persist::new(store),
            hooks,
            connections: AtomicUsize::new(0),
            receive_limits,
            stats: Stats::default(),
            client_trace: ClientTrace::default(),
            started,
            run_state,
            sweeper_wake: Notify::new(),
            network_tasks: TaskTracker::new(),
            background_tasks: TaskTracker::new(),
            park_after,
            parker,
            cluster,
            listeners: OnceLock::new(),
        })
    }

    /// Records the bound listeners (once, at start).
    pub(crate) fn set_listeners(&self, listeners: Vec<Arc<Listener>>) {
        let _ = self.listeners.set(listeners);
    }

    /// The listeners, bound and stream listeners; none before they are recorded.
    pub(crate) fn listeners(&self) -> &[Arc<Listener>] {
        self.listeners.get().map_or(&[], Vec::as_slice)
    }

    /// Every session's limits and capabilities.
    pub(crate) fn session_config(&self) -> &Arc<SessionConfig> {
        &self.session_config
    }

    /// Most client connections open at once.
    pub(crate) fn max_connections(&self) -> Option<usize> {
        self.max_connections
    }

    /// The first CONNECT's size limit and the budget for large packets being received.
    pub(crate) fn receive_limits(&self) -> &ReceiveLimits {
        &self.receive_limits
    }

    /// How long a graceful shutdown waits for connections to close.
    pub(crate) fn shutdown_timeout(&self) -> Duration {
        self.shutdown_timeout
    }

    /// How long publishers wait for room in an online subscriber's full queue.
    pub(crate) fn queue_full_wait(&self) -> Duration {
        self.queue_full_wait
    }

    /// The client registry.
    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The session store's handle.
    pub(crate) fn persist(&self) -> &Persist {
        &self.persist
    }

    /// The hooks.
    pub(crate) fn hooks(&self) -> &RuntimeHooks {
        &self.hooks
    }

    /// The counters.
    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The clients whose packets are logged at info level.
    pub(crate) fn client_trace(&self) -> &ClientTrace {
        &self.client_trace
    }

    /// How long the broker has run.
    pub(crate) fn uptime(&self) -> Duration {
        self.started.elapsed()
    }

    /// One more network connection is open.
    pub(crate) fn connection_opened(&self) {
        self.connections.fetch_add(1, Ordering::AcqRel);
    }

    /// A network connection closed.
    pub(crate) fn connection_closed(&self) {
        self.connections.fetch_sub(1, Ordering::AcqRel);
    }

    /// Network connections open now.
    pub(crate) fn open_connections(&self) -> usize {
        self.connections.load(Ordering::Acquire)
    }

    /// Listener and connection tasks: a graceful shutdown waits for them.
    pub(crate) fn network_tasks(&self) -> &Arc<TaskTracker> {
        &self.network_tasks
    }

    /// The sweeper and in-process subscription tasks.
    pub(crate) fn background_tasks(&self) -> &Arc<TaskTracker> {
        &self.background_tasks
    }

    /// How long a connection stays idle before it is parked, when the broker parks.
    pub(crate) fn park_after(&self) -> Option<Duration> {
        self.park_after.filter(|_| self.parker.is_some())
    }

    /// The parked connections, when idle connections are parked.
    pub(crate) fn parker(&self) -> Option<&Arc<Parker>> {
        self.parker.as_ref()
    }

    /// The link to the peer nodes; `None` when the node has none.
    pub(crate) fn cluster(&self) -> Option<&NodeLink> {
        self.cluster.as_ref()
    }

    /// Wakes the sweeper: an offline session was added.
    pub(crate) fn wake_sweeper(&self) {
        self.sweeper_wake.notify_one();
    }

    /// Waits until [`Shared::wake_sweeper`] is called.
    pub(crate) async fn sweeper_woken(&self) {
        self.sweeper_wake.notified().await;
    }

    /// The subscriptions.
    pub(crate) fn router(&self) -> &Router {
        &self.router
    }

    /// The SUBSCRIBE packets being carried out.
    pub(crate) fn subscribe_gate(&self) -> &Arc<SubscribeGate> {
        &self.subscribe_gate
    }

    /// The retained messages.
    pub(crate) fn retained(&self) -> &Retained {
        &self.retained
    }

    /// The run state now.
    pub(crate) fn run_state(&self) -> RunState {
        *self.run_state.borrow()
    }

    /// A watch of the run state, for a task's `select!`.
    pub(crate) fn watch_run_state(&self) -> watch::Receiver<RunState> {
        self.run_state.subscribe()
    }

    /// Moves the broker to `state`; every task watching sees it.
    pub(crate) fn set_run_state(&self, state: RunState) {
        self.run_state.send_replace(state);
    }

    /// Whether the broker still takes work.
    pub(crate) fn is_running(&self) -> bool {
        self.run_state() == RunState::Running
    }
}
