//! The state every task of one broker shares, behind one `Arc`.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use tokio::sync::{watch, Notify};

use super::client_trace::ClientTrace;
use super::hooks::RuntimeHooks;
use super::mailbox::SubscriberKey;
use super::parker::Parker;
use super::persist::Persist;
use super::registry::ClientEntry;
use super::stats::Stats;
use super::tasks::TaskTracker;
use crate::clock::{Clock as _, TokioClock};
use crate::router::{RetainedStore, SubscriptionTree};
use crate::session::SessionConfig;
use crate::store::SessionStore;
use crate::types::ClientId;

/// Where the broker is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RunState {
    /// Serving.
    Running,
    /// Shutting down: no new connection; each connection says goodbye and closes.
    Draining,
    /// The drain timed out: every task ends now.
    Stopped,
}

/// The broker's shared state.
///
/// Locks are `std` locks held for one short, synchronous step and never across an `.await`:
/// the router's read lock for one match, the registry's lock for one lookup or change.
#[derive(Debug)]
pub(crate) struct Shared {
    /// Every session's limits and capabilities.
    pub(crate) session_config: Arc<SessionConfig>,
    /// Most client connections open at once.
    pub(crate) max_connections: Option<usize>,
    /// How long a graceful shutdown waits for connections to close.
    pub(crate) shutdown_timeout: Duration,
    /// How long publishers wait for room in an online subscriber's full queue.
    pub(crate) queue_full_wait: Duration,
    /// The subscription index.
    pub(crate) router: RwLock<SubscriptionTree<SubscriberKey>>,
    /// The retained messages; their clock is seconds since `started`.
    pub(crate) retained: RwLock<RetainedStore>,
    /// Client identifier -> session.
    pub(crate) registry: Mutex<HashMap<ClientId, ClientEntry>>,
    /// The session store and the task that writes to it in order.
    pub(crate) persist: Persist,
    /// The hooks: authentication, authorization, rewriting, events.
    pub(crate) hooks: RuntimeHooks,
    /// Network connections open now.
    pub(crate) connections: AtomicUsize,
    /// Counters.
    pub(crate) stats: Stats,
    /// The clients whose packets are logged at info level.
    pub(crate) client_trace: ClientTrace,
    /// The broker's start, the origin of the retained store's clock.
    pub(crate) started: Instant,
    /// The run state; every task watches it.
    pub(crate) run_state: watch::Sender<RunState>,
    /// Wakes the sweeper when an offline session is added.
    pub(crate) sweeper_wake: Notify,
    /// Listener and connection tasks: a graceful shutdown waits for them.
    pub(crate) network_tasks: Arc<TaskTracker>,
    /// The sweeper and in-process subscription tasks: they end once the network tasks have.
    pub(crate) background_tasks: Arc<TaskTracker>,
    /// How long a connection stays idle before it is parked; `None`: never.
    pub(crate) park_after: Option<Duration>,
    /// The parked connections, when idle connections are parked.
    pub(crate) parker: Option<Arc<Parker>>,
}

impl Shared {
    /// Shared state for a broker with these settings.
    pub(crate) fn new(
        session_config: SessionConfig,
        max_connections: Option<usize>,
        shutdown_timeout: Duration,
        queue_full_wait: Duration,
        store: Arc<dyn SessionStore>,
        hooks: RuntimeHooks,
        park_after: Option<Duration>,
    ) -> Arc<Shared> {
        let (run_state, _) = watch::channel(RunState::Running);
        let parker = park_after.and_then(|_| match Parker::new() {
            Ok(parker) => Some(parker),
            Err(error) => {
                tracing::warn!(%error, "Idle connections will not be parked.");
                None
            }
        });
        Arc::new(Shared {
            session_config: Arc::new(session_config),
            max_connections,
            shutdown_timeout,
            queue_full_wait,
            router: RwLock::new(SubscriptionTree::new()),
            retained: RwLock::new(RetainedStore::new()),
            registry: Mutex::new(HashMap::new()),
            persist: Persist::new(store),
            hooks,
            connections: AtomicUsize::new(0),
            stats: Stats::default(),
            client_trace: ClientTrace::default(),
            started: now(),
            run_state,
            sweeper_wake: Notify::new(),
            network_tasks: TaskTracker::new(),
            background_tasks: TaskTracker::new(),
            park_after,
            parker,
        })
    }

    /// `now` in the retained store's clock: whole seconds since the broker started.
    pub(crate) fn secs(&self, now: Instant) -> u64 {
        now.saturating_duration_since(self.started).as_secs()
    }

    /// The router, for a match.
    pub(crate) fn router(&self) -> RwLockReadGuard<'_, SubscriptionTree<SubscriberKey>> {
        self.router.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The router, for a change.
    pub(crate) fn router_mut(&self) -> RwLockWriteGuard<'_, SubscriptionTree<SubscriberKey>> {
        self.router.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// The retained store, to read.
    pub(crate) fn retained(&self) -> RwLockReadGuard<'_, RetainedStore> {
        self.retained.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// The retained store, to change.
    pub(crate) fn retained_mut(&self) -> RwLockWriteGuard<'_, RetainedStore> {
        self.retained
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// The client registry.
    pub(crate) fn registry(&self) -> MutexGuard<'_, HashMap<ClientId, ClientEntry>> {
        self.registry.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The run state now.
    pub(crate) fn run_state(&self) -> RunState {
        *self.run_state.borrow()
    }

    /// Whether the broker still takes work.
    pub(crate) fn is_running(&self) -> bool {
        self.run_state() == RunState::Running
    }
}

/// The runtime's clock: tokio's (so that tests can pause it), as the `Instant` the session
/// takes. The same clock the hook chain is given ([`TokioClock`]).
pub(crate) fn now() -> Instant {
    TokioClock.now()
}
