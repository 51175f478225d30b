//! The runtime's side of the [`SessionStore`] seam: one task that applies store writes in
//! the order the broker decided them.
//!
//! The in-memory registry and retained store stay the fast path; the store is the durable
//! copy the broker reads at start and when a client resumes a session the registry does not
//! hold. What is written, and when:
//!
//! - a persistent session that goes offline is saved ([`StoredSession::from_state`]), and
//!   saved again when its delayed will is published;
//! - a session that ends (clean start over it, expiry, Session Expiry 0 at close) is
//!   removed, if it was ever saved or loaded;
//! - a retained message that is set or deleted is set or removed in the store; a retained
//!   message is stored with its `stored_at` in Unix seconds (the runtime's own clock starts at
//!   each start, see [`Persist::in_store_clock`]);
//! - a CONNECT with clean start 0 that finds no session in the registry loads it.
//!
//! Not written: QoS 0 messages, and the per-message [`SessionStore::enqueue`] of QoS 1 and 2
//! messages queued for an offline session. With one node and the in-memory registry the
//! queue lives in the session's mailbox, so the messages queued for an offline session do not
//! survive a restart; a durable store that must keep them needs the enqueue / ack calls
//! added here (see "How the runtime uses a store today" in the [`store`](crate::store)
//! module).
//!
//! # Order
//!
//! Every write goes through one bounded channel to one task, and is put in the channel while
//! the lock that decided it (the registry's, or the retained store's) is held, with a slot
//! reserved beforehand ([`Persist::reserve`]). So the store sees the writes of one client
//! identifier or one topic in the order the broker made them, and a load on CONNECT sees
//! every write decided before it. A synchronous caller that finds the channel full
//! ([`Persist::try_reserve`]) logs the write it could not make and carries on (a retained
//! will, for instance), or leaves its work for later (the sweeper's expiries).

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use super::mailbox::Mailbox;
use super::registry::{ClientEntry, Holder};
use super::routing;
use super::shared::{now, RunState, Shared};
use super::tasks::TaskGuard;
use crate::router::RetainedMessage;
use crate::session::OfflineSession;
use crate::store::{SessionStore, StoreError, StoredSession};
use crate::types::{ClientId, TopicName};

/// Writes waiting for the store task at most.
const CHANNEL_CAPACITY: usize = 1024;

/// How long a CONNECT waits for its session to load before it is refused.
pub(crate) const LOAD_TIMEOUT: Duration = Duration::from_secs(5);

/// A reserved slot in the store task's channel.
pub(crate) type Slot<'a> = mpsc::Permit<'a, StoreOp>;

/// Where the answer to a store operation goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// One operation for the store task.
pub(crate) enum StoreOp {
    /// Save a session record (it went offline).
    Save(StoredSession),
    /// Remove a session and its queue (it ended).
    Remove(ClientId),
    /// Load a session record (a CONNECT resumes a session the registry does not hold).
    Load(ClientId, Reply<Option<StoredSession>>),
    /// Store a retained message, in the store's clock; answer when done, if asked.
    SetRetained(RetainedMessage, Option<Reply<()>>),
    /// Remove the retained message of a topic; answer when done, if asked.
    RemoveRetained(TopicName, Option<Reply<()>>),
}

/// The store and the channel to its task.
pub(crate) struct Persist {
    store: Arc<dyn SessionStore>,
    tx: mpsc::Sender<StoreOp>,
    rx: Mutex<Option<mpsc::Receiver<StoreOp>>>,
    /// Unix seconds at the runtime clock's origin ([`Shared::started`]).
    epoch: u64,
}

impl Persist {
    /// The seam to `store`; `epoch` is the Unix time of the runtime clock's origin.
    pub(crate) fn new(store: Arc<dyn SessionStore>) -> Persist {
        let (tx, rx) = mpsc::channel(CHANNEL_CAPACITY);
        let epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Persist {
            store,
            tx,
            rx: Mutex::new(Some(rx)),
            epoch,
        }
    }

    /// The store, for reads at start.
    pub(crate) fn store(&self) -> &dyn SessionStore {
        &*self.store
    }

    /// A slot for one write, waiting while the channel is full. `None` once the store task
    /// has ended (the broker stopped).
    pub(crate) async fn reserve(&self) -> Option<Slot<'_>> {
        self.tx.reserve().await.ok()
    }

    /// A slot for one write if one is free now.
    pub(crate) fn try_reserve(&self) -> Option<Slot<'_>> {
        self.tx.try_reserve().ok()
    }

    /// `message` with `stored_at` in Unix seconds instead of the runtime's clock.
    pub(crate) fn in_store_clock(&self, message: &RetainedMessage) -> RetainedMessage {
        let mut stored = message.clone();
        stored.stored_at = self.epoch.saturating_add(message.stored_at);
        stored
    }

    /// A retained message read from the store, in the runtime's clock at `now_secs`, with the
    /// time it spent in the store taken off its Message Expiry Interval; `None` if it has
    /// expired.
    pub(crate) fn in_runtime_clock(
        &self,
        mut message: RetainedMessage,
        now_secs: u64,
    ) -> Option<RetainedMessage> {
        let unix_now = self.epoch.saturating_add(now_secs);
        if let Some(interval) = message.properties.message_expiry_interval {
            let waited = unix_now.saturating_sub(message.stored_at);
            let left = u64::from(interval).checked_sub(waited).filter(|l| *l > 0)?;
            message.properties.message_expiry_interval = u32::try_from(left).ok();
        }
        message.stored_at = now_secs;
        Some(message)
    }

    /// The receiving end of the channel, once, for the store task.
    fn take_receiver(&self) -> Option<mpsc::Receiver<StoreOp>> {
        self.rx
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
}

impl fmt::Debug for Persist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Persist")
            .field("pending", &(CHANNEL_CAPACITY - self.tx.capacity()))
            .finish_non_exhaustive()
    }
}

/// Loads what the store holds into a broker that is starting: the retained messages into the
/// retained store, and every stored session as an offline session (its subscriptions in the
/// router, its expiry and delayed will counting from now). Failures are logged; a session that
/// cannot be read is left in the store, and a CONNECT resuming it is refused (CONNACK 0x80).
pub(crate) async fn recover(shared: &Shared) {
    let store = shared.persist.store();
    let now = now();
    match store.retained().await {
        Ok(messages) => {
            let secs = shared.secs(now);
            let mut loaded = 0usize;
            let mut retained = shared.retained_mut();
            for message in messages {
                if let Some(message) = shared.persist.in_runtime_clock(message, secs) {
                    retained.set(message);
                    loaded += 1;
                }
            }
            if loaded > 0 {
                tracing::info!("Loaded {loaded} retained messages from the session store.");
            }
        }
        Err(error) => {
            tracing::warn!("Could not read the retained messages of the session store: {error}");
        }
    }
    let ids = match store.sessions().await {
        Ok(ids) => ids,
        Err(error) => {
            tracing::warn!("Could not list the sessions of the session store: {error}");
            return;
        }
    };
    let mut loaded = 0usize;
    for client_id in ids {
        let record = match store.load(&client_id).await {
            Ok(Some(record)) => record,
            Ok(None) => continue,
            Err(error) => {
                tracing::warn!("Could not load the stored session of client {client_id}: {error}");
                continue;
            }
        };
        let state = match record.to_state() {
            Ok(state) => state,
            Err(error) => {
                tracing::warn!("The stored session of client {client_id} is unusable: {error}");
                continue;
            }
        };
        let mailbox = Mailbox::new(shared.session_config.queue);
        mailbox.set_online(false);
        routing::add_subscriptions(shared, &state, &mailbox);
        let offline = OfflineSession::new(state, record.will, record.session_expiry, now);
        let mut entry = ClientEntry::new(mailbox, Holder::Offline(Box::new(offline)));
        entry.stored = Some(record.session_expiry);
        shared.registry().insert(client_id, entry);
        loaded += 1;
    }
    if loaded > 0 {
        tracing::info!("Loaded {loaded} sessions from the session store.");
    }
}

/// Applies the store operations in order until the broker stops; then applies what is left
/// in the channel (the sessions saved by the connections that closed during the shutdown)
/// and ends.
pub(crate) async fn run(shared: Arc<Shared>, _guard: TaskGuard) {
    let Some(mut rx) = shared.persist.take_receiver() else {
        return;
    };
    let mut run_state = shared.run_state.subscribe();
    loop {
        tokio::select! {
            biased;
            op = rx.recv() => match op {
                Some(op) => apply(shared.persist.store(), op).await,
                None => return,
            },
            changed = run_state.changed() => {
                if changed.is_err() || *run_state.borrow() == RunState::Stopped {
                    break;
                }
            }
        }
    }
    rx.close();
    while let Some(op) = rx.recv().await {
        apply(shared.persist.store(), op).await;
    }
}

/// Carries out one operation; failures are logged, and answered when an answer is awaited.
async fn apply(store: &dyn SessionStore, op: StoreOp) {
    match op {
        StoreOp::Save(session) => {
            if let Err(error) = store.save(&session).await {
                tracing::warn!(client = %session.client_id, %error, "Could not save the session.");
            }
        }
        StoreOp::Remove(client_id) => {
            if let Err(error) = store.remove(&client_id).await {
                tracing::warn!(client = %client_id, %error, "Could not remove the stored session.");
            }
        }
        StoreOp::Load(client_id, reply) => {
            let _ = reply.send(store.load(&client_id).await);
        }
        StoreOp::SetRetained(message, reply) => {
            let result = store.set_retained(&message).await;
            answer(result, reply, &message.topic);
        }
        StoreOp::RemoveRetained(topic, reply) => {
            let result = store.remove_retained(&topic).await.map(drop);
            answer(result, reply, &topic);
        }
    }
}

fn answer(result: Result<(), StoreError>, reply: Option<Reply<()>>, topic: &TopicName) {
    if let Err(error) = &result {
        tracing::warn!(%topic, %error, "Could not store the retained message change.");
    }
    if let Some(reply) = reply {
        let _ = reply.send(result);
    }
}
