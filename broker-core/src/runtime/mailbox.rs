//! One session's mailbox: the bounded queue publishers push into and the session's task
//! drains, with the wake-up that tells the task there is work.

use std::cmp::Ordering;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use tokio::sync::Notify;

use crate::session::{Dropped, MessageQueue, Presence, PushOutcome, QueueLimits, QueuedMessage};

/// The next mailbox identifier; identifiers are never reused within a process.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// The messages waiting for one session (a client's, or an in-process subscriber's).
///
/// Publishers push under a short lock and wake the owner; the owner pops while its session can
/// take messages. A message the session cannot take yet goes back to the front (`held`), so the
/// order of the queue is kept.
pub(crate) struct Mailbox {
    id: u64,
    queue: Mutex<Queue>,
    notify: Notify,
    online: AtomicBool,
    overflowed: AtomicBool,
}

/// The queue and the one message put back at its front.
pub(crate) struct Queue {
    held: Option<QueuedMessage>,
    messages: MessageQueue,
}

impl Queue {
    /// The next message, if any: the one put back first, then the queue's oldest that has not
    /// expired (expired ones are appended to `expired`).
    pub(crate) fn pop(
        &mut self,
        now: Instant,
        expired: &mut Vec<Dropped>,
    ) -> Option<QueuedMessage> {
        match self.held.take() {
            Some(message) => Some(message),
            None => self.messages.pop(now, expired),
        }
    }

    /// Puts `message`, just popped, back at the front.
    pub(crate) fn put_back(&mut self, message: QueuedMessage) {
        // `pop` emptied `held` before handing the message out, so nothing is lost here.
        self.held = Some(message);
    }

    /// The next message's QoS, if any.
    pub(crate) fn front_qos(&self) -> Option<crate::types::QoS> {
        self.held
            .as_ref()
            .or_else(|| self.messages.front())
            .map(|m| m.qos)
    }
}

impl Mailbox {
    /// An empty mailbox with these bounds, online.
    pub(crate) fn new(limits: QueueLimits) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            id: NEXT_ID.fetch_add(1, AtomicOrdering::Relaxed),
            queue: Mutex::new(Queue {
                held: None,
                messages: MessageQueue::new(limits),
            }),
            notify: Notify::new(),
            online: AtomicBool::new(true),
            overflowed: AtomicBool::new(false),
        })
    }

    /// The mailbox's unique identifier.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Locks the queue. A poisoned lock is taken over: the queue is consistent after any
    /// panic of a holder (every mutation is one call).
    pub(crate) fn lock(&self) -> MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `message` and wakes the owner. Returns what the queue did.
    pub(crate) fn push(&self, message: QueuedMessage, now: Instant) -> PushOutcome {
        let presence = self.presence();
        let outcome = self.lock().messages.push(message, presence, now);
        match &outcome {
            PushOutcome::Queued { .. } => self.notify.notify_one(),
            PushOutcome::DisconnectRequired(_) if presence == Presence::Online => {
                self.overflowed.store(true, AtomicOrdering::Release);
                self.notify.notify_one();
            }
            _ => {}
        }
        outcome
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
            self.notify.notify_one();
        }
    }

    /// Takes the "queue full under the Disconnect policy" mark: `true` once per overflow.
    pub(crate) fn take_overflowed(&self) -> bool {
        self.overflowed.swap(false, AtomicOrdering::AcqRel)
    }

    /// Waits until a push or a state change wakes the owner. A wake-up that came while the
    /// owner was busy is kept, so none is lost.
    pub(crate) async fn notified(&self) {
        self.notify.notified().await;
    }

    /// Drops every waiting message (the session ended).
    pub(crate) fn clear(&self) {
        let mut queue = self.lock();
        queue.held = None;
        queue.messages.drain().for_each(drop);
    }

    /// Wakes the owner.
    pub(crate) fn wake(&self) {
        self.notify.notify_one();
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
