//! One session's mailbox: the bounded queue publishers push into and the session's task
//! drains, with the wake-up that tells the task there is work.

use std::cmp::Ordering;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::runtime::queue::signal::Signal;

use crate::session::{Dropped, MessageQueue, Presence, PushOutcome, QueueLimits, QueuedMessage};
use crate::types::ClientId;

/// The next mailbox identifier; identifiers are never reused within a process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The messages waiting for one session (a client's, or an in-process subscriber's).
///
/// Publishers push under a short lock and wake the owner; the owner pops while its session can
/// take messages. A message the session cannot take yet goes back to the front
/// ([`MessageQueue::push_front`]), so the order of the queue is kept.
pub(crate) struct Mailbox {
    id: u64,
    queue: Mutex<Queue>,
    /// Wakes the owner (its connection's task, or the parker while the connection is
    /// parked).
    notify: Signal,
    /// Wakes publishers waiting for room in a full queue.
    space: Notify,
    online: AtomicBool,
    overflowed: AtomicBool,
    /// The client identifier of the session, once a connection took it (for the hooks'
    /// MessageDropped events); in-process subscribers have none.
    /// The client the mailbox belongs to, when the hooks want events (boxed: most
    /// mailboxes never need it).
    owner: OnceLock<Box<ClientId>>,
}

/// The queue, and whether publishers wait for room in it.
pub(crate) struct Queue {
    messages: MessageQueue,
    /// Since when a publisher found the queue full while its owner was online: publishers
    /// wait for room until the owner has taken nothing for the stall timeout.
    full_since: Option<Instant>,
}

impl Queue {
    /// The queue's oldest message that has not expired, if any (expired ones are appended to
    /// `expired`).
    pub(crate) fn pop(
        &mut self,
        now: Instant,
        expired: &mut Vec<Dropped>,
    ) -> Option<QueuedMessage> {
        self.messages.pop(now, expired)
    }

    /// The owner took messages: the queue is not stalled. Returns whether publishers may be
    /// waiting for room (wake them with [`Mailbox::wake_publishers`]).
    pub(crate) fn mark_drained(&mut self) -> bool {
        self.full_since.take().is_some()
    }

    /// Puts `message`, just popped, back at the front, counted again.
    pub(crate) fn put_back(&mut self, message: QueuedMessage) {
        self.messages.push_front(message);
    }

    /// The next message's QoS, if any.
    pub(crate) fn front_qos(&self) -> Option<crate::types::QoS> {
        self.messages.front().map(|m| m.qos)
    }

    /// Removes and returns the messages for which `take` holds, oldest first.
    pub(crate) fn extract(
        &mut self,
        take: impl FnMut(&QueuedMessage) -> bool,
    ) -> Vec<QueuedMessage> {
        self.messages.extract(take)
    }
}

impl Mailbox {
    /// An empty mailbox with these bounds, online.
    pub(crate) fn new(limits: QueueLimits) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            id: NEXT_ID.fetch_add(1, AtomicOrdering::Relaxed),
            queue: Mutex::new(Queue {
                messages: MessageQueue::new(limits),
                full_since: None,
            }),
            notify: Signal::new(),
            space: Notify::new(),
            online: AtomicBool::new(true),
            overflowed: AtomicBool::new(false),
            owner: OnceLock::new(),
        })
    }

    /// Records the client identifier of the session (the first one set stays: a mailbox
    /// belongs to one client identifier for its life).
    pub(crate) fn set_owner(&self, client_id: &ClientId) {
        let _ = self.owner.get_or_init(|| Box::new(client_id.clone()));
    }

    /// The client identifier of the session, if a connection took it.
    pub(crate) fn owner(&self) -> Option<&ClientId> {
        self.owner.get().map(|owner| &**owner)
    }

    /// The mailbox's unique identifier.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// How many messages wait in the queue, and their bytes.
    pub(crate) fn depth(&self) -> (usize, usize) {
        let queue = self.lock();
        (queue.messages.len(), queue.messages.bytes())
    }

    /// Locks the queue. A poisoned lock is taken over: the queue is consistent after any
    /// panic of a holder (every mutation is one call).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `message` and wakes the owner. Returns what the queue did: when the queue is
    /// full, its overflow policy has acted.
    pub(crate) fn push(&self, message: QueuedMessage, now: Instant) -> PushOutcome {
        let presence = self.presence();
        let outcome = self.lock().messages.push(message, presence, now);
        self.after_push(&outcome, presence);
        outcome
    }

    /// Queues `message` unless the queue is full, its owner is online and has taken messages
    /// within `stall`: then the message is given back and the caller waits for room
    /// ([`Mailbox::push_waiting`]). A full queue whose owner took nothing for `stall` is a
    /// slow subscriber's: its overflow policy acts.
    pub(crate) fn try_push(
        &self,
        message: QueuedMessage,
        now: Instant,
        stall: Duration,
    ) -> TryPush {
        let presence = self.presence();
        let mut queue = self.lock();
        if presence == Presence::Online && !queue.messages.has_room(&message) {
            let since = *queue.full_since.get_or_insert(now);
            if now.saturating_duration_since(since) < stall {
                return TryPush::Full(message);
            }
        }
        let outcome = queue.messages.push(message, presence, now);
        drop(queue);
        self.after_push(&outcome, presence);
        TryPush::Done(outcome)
    }

    /// Queues `message`, waiting for room while the queue is full and its owner keeps taking
    /// messages: a subscriber that keeps up slows its publishers down instead of losing
    /// messages. After `stall` without progress the overflow policy acts.
    pub(crate) async fn push_waiting(
        &self,
        message: QueuedMessage,
        stall: Duration,
    ) -> PushOutcome {
        let mut message = message;
        loop {
            let space = self.space.notified();
            tokio::pin!(space);
            space.as_mut().enable();
            match self.try_push(message, crate::runtime::clock::now(), stall) {
                TryPush::Done(outcome) => return outcome,
                TryPush::Full(back) => message = back,
            }
            // Woken when the owner takes messages; the timeout lets the stall be detected.
            let _ = tokio::time::timeout(stall, space).await;
        }
    }

    /// Wakes the publishers waiting for room.
    pub(crate) fn wake_publishers(&self) {
        self.space.notify_waiters();
    }

    fn after_push(&self, outcome: &PushOutcome, presence: Presence) {
        match outcome {
            PushOutcome::Queued { .. } => self.notify.notify(),
            PushOutcome::DisconnectRequired(_) if presence == Presence::Online => {
                self.overflowed.store(true, AtomicOrdering::Release);
                self.notify.notify();
            }
            _ => {}
        }
    }

    /// Whether a connection (or an in-process subscriber) is draining this mailbox.
    pub(crate) fn presence(&self) -> Presence {
        if self.online.load(AtomicOrdering::Acquire) {
            Presence::Online
        } else {
            Presence::Offline
        }
    }

    /// Whether the mailbox is online.
    pub(crate) fn is_online(&self) -> bool {
        self.online.load(AtomicOrdering::Acquire)
    }

    /// Marks the mailbox online (a connection took it) or offline.
    pub(crate) fn set_online(&self, online: bool) {
        self.online.store(online, AtomicOrdering::Release);
        if online {
            self.notify.notify();
        }
    }

    /// Takes the "queue full under the Disconnect policy" mark: `true` once per overflow.
    pub(crate) fn take_overflowed(&self) -> bool {
        self.overflowed.swap(false, AtomicOrdering::AcqRel)
    }

    /// Waits until a push or a state change wakes the owner. A wake-up that came while the
    /// owner was busy is kept, so none is lost.
    pub(crate) async fn notified(&self) {
        self.notify.wait().await;
    }

    /// The owner's wake-up itself, to wait on without a wrapping future (see
    /// [`Mailbox::notified`]).
    pub(crate) fn wake_up(&self) -> &Signal {
        &self.notify
    }

    /// Drops every waiting message (the session ended).
    pub(crate) fn clear(&self) {
        self.lock().messages.drain().for_each(drop);
    }

    /// Takes every waiting message out, oldest first (the session ended: the ones of shared
    /// subscriptions go to other members).
    pub(crate) fn take_all(&self) -> Vec<QueuedMessage> {
        self.lock().messages.drain().collect()
    }

    /// Wakes the owner.
    pub(crate) fn wake(&self) {
        self.notify.notify();
    }
}

impl fmt::Debug for Mailbox {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mailbox")
            .field("id", &self.id)
            .field("online", &self.is_online())
            .finish_non_exhaustive()
    }
}

/// What [`Mailbox::try_push`] did.
#[derive(Debug)]
pub(crate) enum TryPush {
    /// The queue took the message, or its overflow policy acted.
    Done(PushOutcome),
    /// The queue is full and its owner is taking messages: the message is given back.
    Full(QueuedMessage),
}

/// A mailbox as the router knows a subscriber: compared and ordered by the mailbox's unique
/// identifier, cheap to clone.
#[derive(Clone)]
pub(crate) struct SubscriberKey(pub(crate) Arc<Mailbox>);

impl SubscriberKey {
    /// The mailbox.
    pub(crate) fn mailbox(&self) -> &Arc<Mailbox> {
        &self.0
    }
}

impl PartialEq for SubscriberKey {
    fn eq(&self, other: &Self) -> bool {
        self.0.id == other.0.id
    }
}

impl Eq for SubscriberKey {}

impl PartialOrd for SubscriberKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for SubscriberKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.id.cmp(&other.0.id)
    }
}

impl fmt::Debug for SubscriberKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SubscriberKey({})", self.0.id)
    }
}
