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
//!   removed, if it was ever saved or loaded, after the copies of the shared-subscription
//!   messages it hands to other persistent members;
//! - a retained message that is set or deleted is set or removed in the store; a retained
//!   message is stored with its `stored_at` in Unix seconds (the runtime's own clock starts at
//!   each start, see [`Persist::in_store_clock`]);
//! - a CONNECT with clean start 0 that finds no session in the registry loads it.
//!
//! - with a store that keeps messages ([`SessionStore::keeps_messages`]), every QoS 1 and 2
//!   copy for a persistent session is enqueued before it is queued in memory: a publisher's
//!   copies ([`StoreOp::Enqueue`], the publisher answers its client once the store has them)
//!   and the copies no publisher waits for ([`StoreOp::Place`]: the retained messages a new
//!   subscription gets, an embedder's `publish_now`, a shared-subscription message handed to
//!   another member, a will's copies); a copy the subscriber has finished with is forgotten,
//!   lazily ([`StoreOp::Forget`]). The copies a session that ends hands to other members go
//!   with the removal of its record, in one operation and ahead of it ([`Replaced::Session`]).
//!
//! Not written: QoS 0 messages, and any copy for a clean session.
//!
//! # Order
//!
//! Every write goes through one bounded channel to one task, and is put in the channel while
//! the lock that decided it (the registry's, or the retained store's) is held, with a slot
//! reserved beforehand ([`Persist::reserve`]). So the store sees the writes of one client
//! identifier or one topic in the order the broker made them, and a load on CONNECT sees
//! every write decided before it. No write is dropped for lack of room: a caller that finds
//! the channel full ([`Persist::try_reserve`]) waits for a slot ([`Persist::reserve`]) and
//! decides again, leaves its work for later (the sweeper's expiries), or is refused (a
//! retained publish from synchronous code, [`BrokerError::StoreBusy`]). Only once the store
//! task has ended (the broker stopped) is a write logged and not made.
//!
//! [`BrokerError::StoreBusy`]: crate::BrokerError::StoreBusy

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::{mpsc, oneshot};

use crate::router::RetainedMessage;
use crate::runtime::clipped::Clipped;
use crate::runtime::queue::mailbox::Mailbox;
use crate::session::QueuedMessage;
use crate::store::{SessionStore, StoreError, StoredSession};
use crate::types::{ClientId, TopicName};

/// Writes waiting for the store task at most.
const CHANNEL_CAPACITY: usize = 1024;

/// How long a CONNECT waits for its session to load before it is refused.
pub(crate) const LOAD_TIMEOUT: Duration = Duration::from_secs(5);

/// QoS 1 and 2 copies for durable mailboxes ([`Mailbox::durable_owner`]), each with its
/// mailbox.
pub(crate) type Copies = Vec<(Arc<Mailbox>, QueuedMessage)>;

/// A reserved slot in the store task's channel.
pub(crate) type Slot<'a> = mpsc::Permit<'a, StoreOp>;

/// Where the answer to a store operation goes.
pub(crate) type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// One operation for the store task.
pub(crate) enum StoreOp {
    /// Save a session record (it went offline, or a persistent session changed while online);
    /// answer when done, if asked.
    Save(StoredSession, Option<Reply<()>>),
    /// Remove a session and its queue (it ended).
    Remove(ClientId),
    /// Load a session record (a CONNECT resumes a session the registry does not hold).
    Load(ClientId, Reply<Option<StoredSession>>),
    /// Store a retained message, in the store's clock; answer when done, if asked.
    SetRetained(RetainedMessage, Option<Reply<()>>),
    /// Remove the retained message of a topic; answer when done, if asked.
    RemoveRetained(TopicName, Option<Reply<()>>),
    /// Queue copies of a message for persistent sessions; answer with their sequence
    /// numbers, in order, once the store has them (the publisher's acknowledgement waits).
    Enqueue(Vec<(ClientId, QueuedMessage)>, Reply<Vec<u64>>),
    /// Forget queued messages of a client: delivered and acknowledged, or dropped. Lazy: no
    /// answer, and losing it only means a message is sent again after a restart.
    Forget(ClientId, Vec<u64>),
    /// Queue copies for persistent sessions that no publisher waits for: the store task hands
    /// them to the store, then puts each into its mailbox with its sequence number, in the
    /// order of this channel (so two of them keep their order without a task of their own);
    /// a copy the store could not take goes into its mailbox without one (in memory only).
    /// `replaces` is what these take the place of (a shared-subscription member's messages,
    /// handed to another member).
    Place {
        /// The copies, each with its mailbox (durable, [`Mailbox::durable_owner`]).
        copies: Vec<(Arc<Mailbox>, QueuedMessage)>,
        /// What goes once these are stored.
        replaces: Option<Replaced>,
    },
}

/// What the copies of a [`StoreOp::Place`] take the place of.
pub(crate) enum Replaced {
    /// Stored copies of a member that let them go (it unsubscribed), with its client:
    /// forgotten once the store has the new ones, in the next batch; kept if it refused them.
    Copies(ClientId, Vec<u64>),
    /// The stored session of a member whose session ended: its record and its own copies
    /// are removed right after the new copies, in the same batch, whatever the store answers
    /// them (the session is over).
    Session(ClientId),
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

    /// The store, for a task of its own.
    pub(crate) fn shared_store(&self) -> &Arc<dyn SessionStore> {
        &self.store
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

    /// Whether the store task has ended (the broker stopped): no write can be made any more.
    pub(crate) fn is_closed(&self) -> bool {
        self.tx.is_closed()
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

    /// Sends the removal of a stored session through `slot`; logs it when there is none (the
    /// store task has ended).
    pub(crate) fn remove_session(slot: Option<Slot<'_>>, client_id: &ClientId) {
        match slot {
            Some(slot) => slot.send(StoreOp::Remove(client_id.clone())),
            None => tracing::warn!(
                "Client {}: the session store is unavailable; its stored session is not removed.",
                Clipped(client_id)
            ),
        }
    }

    /// Sends the removal of an ended session's stored record through `slot`, after
    /// `handed_over`: the QoS 1 and 2 copies of the messages it handed to other, persistent,
    /// members, queued as [`StoreOp::Place`] queues copies. One operation, so the store has
    /// the new copies before the record and its own copies go, whatever else is in the
    /// channel. Without a slot (the store task has ended) nothing is sent and the copies are
    /// given back, for the caller to queue in memory.
    #[must_use = "copies given back are queued by the caller"]
    pub(crate) fn remove_session_after(
        slot: Option<Slot<'_>>,
        client_id: &ClientId,
        handed_over: Copies,
    ) -> Copies {
        match slot {
            Some(slot) if handed_over.is_empty() => {
                slot.send(StoreOp::Remove(client_id.clone()));
                handed_over
            }
            Some(slot) => {
                slot.send(StoreOp::Place {
                    copies: handed_over,
                    replaces: Some(Replaced::Session(client_id.clone())),
                });
                Vec::new()
            }
            None => {
                Self::remove_session(None, client_id);
                handed_over
            }
        }
    }

    /// Hands `copies` to the store and waits until it has them all; gives their sequence
    /// numbers, in order. Waits for room in the channel, and for the store at most
    /// [`LOAD_TIMEOUT`].
    pub(crate) async fn enqueue(
        &self,
        copies: Vec<(ClientId, QueuedMessage)>,
    ) -> Result<Vec<u64>, StoreError> {
        let gone = || StoreError::Unavailable("the session store has stopped".to_owned());
        let slot = self.reserve().await.ok_or_else(gone)?;
        let answer = Self::submit_enqueue(slot, copies);
        match tokio::time::timeout(LOAD_TIMEOUT, answer).await {
            Ok(Ok(result)) => result,
            Ok(Err(_)) => Err(gone()),
            Err(_) => Err(StoreError::Unavailable(
                "the session store did not answer in time".to_owned(),
            )),
        }
    }

    /// Hands `copies` to the store through `slot` without waiting: the answer comes through
    /// the receiver (their sequence numbers, in order).
    pub(crate) fn submit_enqueue(
        slot: Slot<'_>,
        copies: Vec<(ClientId, QueuedMessage)>,
    ) -> oneshot::Receiver<Result<Vec<u64>, StoreError>> {
        let (reply, answer) = oneshot::channel();
        slot.send(StoreOp::Enqueue(copies, reply));
        answer
    }

    /// Hands `copies` to the store through `slot`, and `replaces` (stored copies, with their
    /// client) to forget after them ([`StoreOp::Place`]); nobody waits: the store task queues
    /// the copies once it has them.
    pub(crate) fn submit_place(
        slot: Slot<'_>,
        copies: Vec<(Arc<Mailbox>, QueuedMessage)>,
        replaces: Option<(ClientId, Vec<u64>)>,
    ) {
        let replaces = replaces.map(|(client_id, seqs)| Replaced::Copies(client_id, seqs));
        slot.send(StoreOp::Place { copies, replaces });
    }

    /// Tells the store to forget `seqs` of `client_id`, waiting for room in the channel; logs
    /// it when the store task has ended.
    pub(crate) async fn forget(&self, client_id: &ClientId, seqs: Vec<u64>) {
        if seqs.is_empty() {
            return;
        }
        match self.reserve().await {
            Some(slot) => slot.send(StoreOp::Forget(client_id.clone(), seqs)),
            None => tracing::debug!(
                "Client {}: the session store has stopped; {} delivered messages stay in it.",
                Clipped(client_id),
                seqs.len()
            ),
        }
    }

    /// The receiving end of the channel, once, for the store task.
    pub(crate) fn take_receiver(&self) -> Option<mpsc::Receiver<StoreOp>> {
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
