//! One session's mailbox: the bounded queue publishers push into and the session's task
//! drains, with the wake-up that tells the task there is work.

use std::cmp::Ordering;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering as AtomicOrdering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use crate::runtime::clock::now;
use crate::runtime::queue::grant::{Grant, SlotOwner};
use crate::runtime::queue::signal::Signal;
use crate::runtime::queue::waiting::{Admission, Ticket, WaitingLine};

use crate::session::{
    Dropped, MessageQueue, Presence, PushOutcome, QueueLimits, QueuedMessage, Refilled,
};
use crate::types::{ClientId, StoreSeq};

/// Most messages one turn in a full mailbox's waiting line moves: the admitted copy and the
/// slots granted for the publisher's next ones ([`Grant`]).
const TURN: usize = 16;

/// How many messages a durable mailbox holds in memory at most, however many its store
/// holds: a stored copy pushed past them stays in the store, and is read back as the client
/// takes the ones before it ([`MessageQueue::set_resident`]).
pub(crate) const RESIDENT: usize = 256;

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
    online: AtomicBool,
    overflowed: AtomicBool,
    /// Whether the session is persistent and the store keeps its messages: its QoS 1 and 2
    /// copies go to the store before their publishers are answered, and come here with their
    /// store number ([`QueuedMessage::stored`]).
    durable: AtomicBool,
    /// Whether spilled copies are being read back from the store.
    refilling: AtomicBool,
    /// The client identifier of the session, once a connection took it (for the hooks'
    /// MessageDropped events); in-process subscribers have none.
    /// The client the mailbox belongs to, when the hooks want events (boxed: most
    /// mailboxes never need it).
    owner: OnceLock<Box<Owner>>,
}

/// Whose a mailbox is, once that matters: for the hooks' events, or for the store.
struct Owner {
    client_id: ClientId,
    /// The store numbers of stored copies dropped here (evicted by the overflow policy, or
    /// expired), for the owner's connection to tell the store ([`Mailbox::take_forgotten`]).
    /// At most [`MAX_FORGOTTEN`].
    forgotten: Mutex<Vec<u64>>,
}

/// The queue, and the publishers waiting for room in it.
pub(crate) struct Queue {
    messages: MessageQueue,
    /// Copies that found the queue full while its owner was online, admitted in order, and
    /// the slots set aside for publishers whose turn came. Boxed, and there only while it
    /// holds something: most mailboxes never see a full queue, and every session has one.
    waiting: Option<Box<WaitingLine>>,
}

/// Store numbers a mailbox keeps for its owner at most; past it, a dropped copy stays in the
/// store until the session is restored (when the queue's limits drop it again) or ends.
const MAX_FORGOTTEN: usize = 65_536;

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

    /// The owner of `mailbox` (this queue's) took messages at `now`: waiting copies are
    /// admitted, front first, while they fit, and their publishers woken, each with a
    /// [`Grant`] of part of the room left. Returns how many were admitted (the owner has them
    /// to take too).
    pub(crate) fn took(&mut self, now: Instant, mailbox: &Arc<Mailbox>) -> usize {
        let Queue {
            messages,
            waiting: Some(line),
            ..
        } = self
        else {
            // Nobody waits: the owner's progress ends any stall (a subscriber that was slow
            // and caught up gets the wait again the next time its queue fills): with no
            // line, there is no stall.
            return 0;
        };
        let mut admitted = 0;
        loop {
            let set_aside = line.set_aside;
            if !line
                .front()
                .is_some_and(|copy| messages.has_room_beside(copy, set_aside))
            {
                break;
            }
            // Half the room left after this copy, so that the next in line gets room too.
            let slots = (messages.free_slots(set_aside).saturating_sub(1) / 2).min(TURN - 1);
            line.set_aside += slots;
            let refused = line.admit_front(|copy| Admission {
                outcome: messages.push(copy, Presence::Online, now),
                grant: (slots > 0)
                    .then(|| Grant::new(Arc::clone(mailbox) as Arc<dyn SlotOwner>, slots)),
            });
            // A publisher gone before its turn: its slots are free again (taken back here,
            // under the lock, not by the grant's drop).
            if let Some(Some(Admission {
                grant: Some(grant), ..
            })) = refused
            {
                line.set_aside = line.set_aside.saturating_sub(grant.into_slots());
            }
            admitted += 1;
        }
        // Still full with copies waiting: the stall is counted from this progress.
        line.full_since = (!line.is_empty()).then_some(now);
        self.tidy();
        admitted
    }

    /// Slots set aside for granted publishers.
    fn set_aside(&self) -> usize {
        self.waiting.as_ref().map_or(0, |line| line.set_aside)
    }

    /// Whether copies wait in line.
    fn has_waiting(&self) -> bool {
        self.waiting.as_ref().is_some_and(|line| !line.is_empty())
    }

    /// The waiting line, made if there is none.
    fn line(&mut self) -> &mut WaitingLine {
        self.waiting.get_or_insert_with(Box::default)
    }

    /// Lets the waiting line go once it holds nothing.
    fn tidy(&mut self) {
        if self.waiting.as_ref().is_some_and(|line| line.is_idle()) {
            self.waiting = None;
        }
    }

    /// Gives back `slots` set aside for a grant.
    fn release_slots(&mut self, slots: usize) {
        if let Some(line) = &mut self.waiting {
            line.set_aside = line.set_aside.saturating_sub(slots);
        }
        self.tidy();
    }

    /// Whether a copy must join the waiting line: copies wait already (none overtakes
    /// them), or the queue has no room for it though it could hold it.
    fn must_wait(&self, copy: &QueuedMessage) -> bool {
        self.messages.can_hold(copy)
            && (self.has_waiting() || !self.messages.has_room_beside(copy, self.set_aside()))
    }

    /// Puts `message`, just popped, back at the front, counted again.
    pub(crate) fn put_back(&mut self, message: QueuedMessage) {
        self.messages.push_front(message);
    }

    /// The next message's QoS, if any is held in memory.
    pub(crate) fn front_qos(&self) -> Option<crate::types::QoS> {
        self.messages.front().map(|m| m.qos)
    }

    /// Whether spilled copies are due to be read back ([`MessageQueue::wants_read_back`]).
    pub(crate) fn wants_read_back(&self) -> bool {
        self.messages.wants_read_back()
    }

    /// The numbers of the spilled copies to read back now ([`MessageQueue::to_read_back`]).
    pub(crate) fn to_read_back(&self) -> Vec<StoreSeq> {
        self.messages.to_read_back()
    }

    /// The numbers of every spilled copy ([`MessageQueue::all_spilled`]).
    pub(crate) fn all_spilled(&self) -> Vec<StoreSeq> {
        self.messages.all_spilled()
    }

    /// Puts copies read back from the store in their places ([`MessageQueue::refill`]).
    pub(crate) fn refill(&mut self, loaded: Vec<QueuedMessage>, wanted: &[StoreSeq]) -> Refilled {
        self.messages.refill(loaded, wanted)
    }

    /// Removes and returns the messages for which `take` holds, queued ones first, then the
    /// copies waiting for room (their publishers go on without an outcome).
    pub(crate) fn extract(
        &mut self,
        mut take: impl FnMut(&QueuedMessage) -> bool,
    ) -> Vec<QueuedMessage> {
        let mut taken = self.messages.extract(&mut take);
        if let Some(line) = &mut self.waiting {
            taken.extend(line.extract(take));
        }
        self.tidy();
        taken
    }
}

impl Mailbox {
    /// An empty mailbox with these bounds, online.
    pub(crate) fn new(limits: QueueLimits) -> Arc<Mailbox> {
        Arc::new(Mailbox {
            id: NEXT_ID.fetch_add(1, AtomicOrdering::Relaxed),
            queue: Mutex::new(Queue {
                messages: MessageQueue::new(limits),
                waiting: None,
            }),
            notify: Signal::new(),
            online: AtomicBool::new(true),
            overflowed: AtomicBool::new(false),
            durable: AtomicBool::new(false),
            refilling: AtomicBool::new(false),
            owner: OnceLock::new(),
        })
    }

    /// Records the client identifier of the session (the first one set stays: a mailbox
    /// belongs to one client identifier for its life).
    pub(crate) fn set_owner(&self, client_id: &ClientId) {
        let _ = self.owner.get_or_init(|| {
            Box::new(Owner {
                client_id: client_id.clone(),
                forgotten: Mutex::new(Vec::new()),
            })
        });
    }

    /// Notes that the stored copies `seqs` were dropped here (the owner's connection tells
    /// the store). Past [`MAX_FORGOTTEN`] waiting, they are not noted.
    pub(crate) fn note_forgotten(&self, seqs: impl IntoIterator<Item = u64>) {
        let Some(owner) = self.owner.get() else {
            return;
        };
        let mut list = owner
            .forgotten
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for seq in seqs {
            if list.len() < MAX_FORGOTTEN {
                list.push(seq);
            }
        }
    }

    /// Moves the store numbers of the stored copies dropped here into `into`.
    pub(crate) fn take_forgotten(&self, into: &mut Vec<u64>) {
        if let Some(owner) = self.owner.get() {
            let mut list = owner
                .forgotten
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            into.append(&mut list);
        }
    }

    /// Makes the mailbox durable (its owner set to `client_id`), or not: see
    /// [`Mailbox::durable_owner`]. A durable mailbox holds [`RESIDENT`] messages in memory at
    /// most, and a marker for each copy behind them, which keeps the copy's topic only with
    /// `topics` (the hooks want events of dropped messages); one that stops being durable
    /// keeps what it left in the store until it is read back ([`Queue::all_spilled`]).
    pub(crate) fn set_durable(&self, client_id: &ClientId, durable: bool, topics: bool) {
        if durable {
            self.set_owner(client_id);
        }
        self.lock()
            .messages
            .set_resident(durable.then_some(RESIDENT), topics);
        self.durable.store(durable, AtomicOrdering::Release);
    }

    /// Marks a read of spilled copies as begun; `false` when one is running already.
    pub(crate) fn begin_refill(&self) -> bool {
        !self.refilling.swap(true, AtomicOrdering::AcqRel)
    }

    /// Marks the read of spilled copies as done, and wakes the owner to take them.
    pub(crate) fn end_refill(&self) {
        self.refilling.store(false, AtomicOrdering::Release);
        self.notify.notify();
    }

    /// The client identifier whose queue in the store a QoS 1 or 2 copy for this mailbox
    /// goes to first, when the session is persistent and the store keeps messages.
    pub(crate) fn durable_owner(&self) -> Option<&ClientId> {
        if self.durable.load(AtomicOrdering::Acquire) {
            self.owner()
        } else {
            None
        }
    }

    /// The client identifier of the session, if a connection took it.
    pub(crate) fn owner(&self) -> Option<&ClientId> {
        self.owner.get().map(|owner| &owner.client_id)
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

    /// Queues `message` unless its owner is online and the queue is full, or copies wait
    /// for room already: then `message` joins the waiting line and the caller waits for its
    /// turn ([`Mailbox::wait_for_room`]). With `granted`, the caller spends a slot of its
    /// [`Grant`] and goes past the line. A queue whose owner took nothing for `stall` while
    /// copies waited is a slow subscriber's: its overflow policy acts.
    pub(crate) fn try_push(
        &self,
        message: QueuedMessage,
        now: Instant,
        stall: Duration,
        granted: bool,
    ) -> TryPush {
        let presence = self.presence();
        let mut queue = self.lock();
        if granted {
            queue.release_slots(1);
        }
        let past_line = granted && queue.messages.has_room_beside(&message, queue.set_aside());
        if presence == Presence::Online && !past_line && queue.must_wait(&message) {
            let since = *queue.line().full_since.get_or_insert(now);
            if now.saturating_duration_since(since) < stall {
                return TryPush::Wait(queue.line().join(message));
            }
        }
        let outcome = queue.messages.push(message, presence, now);
        drop(queue);
        self.after_push(&outcome, presence);
        TryPush::Done(outcome)
    }

    /// Waits until the copy of `ticket` is admitted into the queue, in its turn: a
    /// subscriber that keeps up slows its publishers down instead of losing messages. When
    /// the owner takes nothing for `stall`, or goes offline, the copy leaves the line and the
    /// overflow policy acts on it. Returns what became of the copy; `None` when the session
    /// ended with the copy still waiting (it went with the session's queue).
    pub(crate) async fn wait_for_room(&self, ticket: Ticket, stall: Duration) -> Option<Admission> {
        let Ticket {
            number,
            mut outcome,
        } = ticket;
        loop {
            match tokio::time::timeout(stall, &mut outcome).await {
                Ok(outcome) => return outcome.ok(),
                Err(_) => {
                    let presence = self.presence();
                    let now = now();
                    let mut queue = self.lock();
                    let stalled = presence == Presence::Offline
                        || queue
                            .waiting
                            .as_ref()
                            .and_then(|line| line.full_since)
                            .is_none_or(|since| now.saturating_duration_since(since) >= stall);
                    if !stalled {
                        continue;
                    }
                    // Not in the line any more: admitted meanwhile, its outcome is sent.
                    let Some(copy) = queue.waiting.as_mut().and_then(|line| line.leave(number))
                    else {
                        continue;
                    };
                    queue.tidy();
                    let outcome = queue.messages.push(copy, presence, now);
                    drop(queue);
                    self.after_push(&outcome, presence);
                    return Some(Admission::placed(outcome));
                }
            }
        }
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

    /// Marks the mailbox online (a connection took it) or offline. Copies waiting for room
    /// are placed at once when it goes offline (its overflow policy acts for an offline
    /// session), and their publishers go on.
    pub(crate) fn set_online(&self, online: bool) {
        self.online.store(online, AtomicOrdering::Release);
        if online {
            self.notify.notify();
            return;
        }
        let now = now();
        let mut queue = self.lock();
        let Queue {
            messages, waiting, ..
        } = &mut *queue;
        if let Some(line) = waiting {
            line.admit_all(|copy| messages.push(copy, Presence::Offline, now));
            line.full_since = None;
        }
        queue.tidy();
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

    /// Drops every queued message and every copy waiting for room (the session ended).
    pub(crate) fn clear(&self) {
        let mut queue = self.lock();
        queue.messages.drain().for_each(drop);
        if let Some(line) = &mut queue.waiting {
            line.drain().for_each(drop);
            line.full_since = None;
        }
        queue.tidy();
    }

    /// Takes every queued message and every copy waiting for room out, oldest first (the
    /// session ended: the ones of shared subscriptions go to other members).
    pub(crate) fn take_all(&self) -> Vec<QueuedMessage> {
        let mut queue = self.lock();
        let mut all: Vec<QueuedMessage> = queue.messages.drain().collect();
        if let Some(line) = &mut queue.waiting {
            all.extend(line.drain());
            line.full_since = None;
        }
        queue.tidy();
        all
    }

    /// Wakes the owner.
    pub(crate) fn wake(&self) {
        self.notify.notify();
    }
}

impl SlotOwner for Mailbox {
    fn id(&self) -> u64 {
        self.id
    }

    /// Gives back `slots` set aside for a publisher's [`Grant`].
    fn release_slots(&self, slots: usize) {
        self.lock().release_slots(slots);
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
// Returned by value once per copy and matched at once, never stored: boxing the outcome
// would allocate on every push.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum TryPush {
    /// The queue took the message, or its overflow policy acted.
    Done(PushOutcome),
    /// The queue is full, or copies wait already, and its owner is taking messages: the
    /// message joined the waiting line.
    Wait(Ticket),
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
