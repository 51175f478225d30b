//! The bounded queue of messages waiting to be sent to one subscriber.
//!
//! A message waits here while its client is offline (a persistent session), or while the
//! client is online but cannot take it yet (its in-flight window is full, [MQTT-3.3.4-9]).
//! The queue is bounded by a message count and a byte estimate; what a push past either limit
//! does is configuration ([`OverflowPolicy`]). Nothing leaves the queue silently: every
//! message dropped comes back to the caller with its [`DropReason`], so the session can count
//! and log it.
//!
//! The queue never reads the clock (`now` is an argument) and never decides when to send.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Instant;

use super::places::{PlaceRef, Places};
use super::spill::{DroppedCopy, Marker, Refilled, Spilled};
use super::Message;
use crate::types::{QoS, StoreSeq, SubscriptionId, TopicFilter};

/// What a push does when the message would take the queue past one of its limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OverflowPolicy {
    /// Drop the oldest queued messages until the new one fits, and queue it.
    DropOldest,
    /// Drop the new message; the queue is unchanged (Mosquitto's behaviour).
    DropNewest,
    /// Queue nothing and tell the session to disconnect the client: a consumer too slow for
    /// its traffic. The queue is unchanged.
    Disconnect,
}

/// The bounds of one [`MessageQueue`] and what happens past them.
///
/// [`Default`] gives: `max_messages` 1000 (Mosquitto's `max_queued_messages` default),
/// `max_bytes` 16 MiB (Mosquitto's `max_queued_bytes` defaults to 0, no maximum; Skein bounds
/// every queue, so it picks a finite default), `queue_qos0` false (Mosquitto's
/// `queue_qos0_messages` default) and [`OverflowPolicy::DropNewest`] (Mosquitto drops the
/// incoming message when a client's queue is full).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct QueueLimits {
    /// At most this many messages are queued. 0 queues nothing.
    pub max_messages: usize,
    /// The [`QueuedMessage::size`] of all queued messages adds up to at most this. Use
    /// `usize::MAX` for no byte limit.
    pub max_bytes: usize,
    /// Whether QoS 0 messages are queued for an offline client (Mosquitto's
    /// `queue_qos0_messages`). QoS 0 messages for an online client are always queued (while
    /// the queue is not empty they must wait their turn, [MQTT-4.6.0-5]).
    pub queue_qos0: bool,
    /// What a push past either limit does.
    pub overflow: OverflowPolicy,
}

impl QueueLimits {
    /// The default count limit: 1000 messages.
    pub const DEFAULT_MAX_MESSAGES: usize = 1000;
    /// The default byte limit: 16 MiB.
    pub const DEFAULT_MAX_BYTES: usize = 16 * 1024 * 1024;
}

impl Default for QueueLimits {
    fn default() -> Self {
        QueueLimits {
            max_messages: Self::DEFAULT_MAX_MESSAGES,
            max_bytes: Self::DEFAULT_MAX_BYTES,
            queue_qos0: false,
            overflow: OverflowPolicy::DropNewest,
        }
    }
}

/// Whether the subscriber has a network connection when a message is pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Presence {
    /// Connected: the message waits only until the in-flight window has room.
    Online,
    /// Disconnected, with a session that outlives the connection.
    Offline,
}

/// Why a message left the queue without being sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DropReason {
    /// A limit was reached and the [`OverflowPolicy`] dropped this message.
    QueueFull,
    /// The message is larger than `max_bytes` on its own: no policy can make room for it.
    TooLarge,
    /// A QoS 0 message for an offline client, and `queue_qos0` is off.
    Qos0NotQueued,
    /// Its Message Expiry Interval passed: it must not be sent ([MQTT-3.3.2-5]).
    Expired,
    /// Larger than the client's Maximum Packet Size: discarded as if sent ([MQTT-3.1.2-25]).
    PacketTooLarge,
}

/// A message that will not be sent, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The message, or what the queue kept of it when it was in the store only.
    pub copy: DroppedCopy,
    /// Why it was dropped.
    pub reason: DropReason,
}

impl Dropped {
    /// `message`, dropped for `reason`.
    #[must_use]
    pub fn held(message: QueuedMessage, reason: DropReason) -> Self {
        Dropped {
            copy: DroppedCopy::Held(message),
            reason,
        }
    }
}

/// What a [`MessageQueue::push`] did.
#[must_use]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushOutcome {
    /// The message is queued. `evicted` lists the messages removed to make room: first the
    /// expired ones ([MQTT-3.3.2-5]), then, under [`OverflowPolicy::DropOldest`], the oldest
    /// ones ([`DropReason::QueueFull`]), each group oldest first. Usually empty (and then not
    /// allocated).
    Queued {
        /// The messages removed to make room.
        evicted: Vec<Dropped>,
    },
    /// The pushed message was not queued; the queue is unchanged.
    Dropped(Dropped),
    /// The queue is full and the policy is [`OverflowPolicy::Disconnect`]: the message (given
    /// back) was not queued, the queue is unchanged, and the session should close the
    /// connection (MQTT 5: for instance DISCONNECT with 0x97 Quota exceeded).
    DisconnectRequired(QueuedMessage),
}

/// A message waiting for one subscriber, with what that subscriber's copy needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMessage {
    /// The message.
    pub message: Message,
    /// The QoS it is delivered at: the published QoS downgraded to the granted QoS (MQTT 5.0
    /// §3.8.4, [`Message::qos_for`]).
    pub qos: QoS,
    /// The RETAIN flag to send ([MQTT-3.3.1-12], [MQTT-3.3.1-13]).
    pub retain: bool,
    /// The Subscription Identifiers of the matching subscriptions ([MQTT-3.3.4-3]).
    pub subscription_ids: Vec<SubscriptionId>,
    /// The shared subscription (`$share/{ShareName}/{filter}`) this copy was chosen for, if
    /// any: if the subscriber's session ends before the message is acknowledged, it goes to
    /// another member of the group (MQTT 5.0 §4.8.2). Not counted in [`size`](Self::size).
    pub shared: Option<TopicFilter>,
    /// The durable store's sequence number of this copy, when a store holds it: once the
    /// client has acknowledged it (or it is dropped), the session gives the number back
    /// ([`Session::take_finished_stored`](super::Session::take_finished_stored)) for the store
    /// to forget the copy.
    pub stored: Option<StoreSeq>,
}

impl QueuedMessage {
    /// The copy of `message` for a subscriber granted `granted`: delivered at the lower of the
    /// two QoS, with the given RETAIN flag and Subscription Identifiers.
    #[must_use]
    pub fn new(
        message: Message,
        granted: QoS,
        retain: bool,
        subscription_ids: Vec<SubscriptionId>,
    ) -> Self {
        QueuedMessage {
            qos: message.qos_for(granted),
            message,
            retain,
            subscription_ids,
            shared: None,
            stored: None,
        }
    }

    /// The same copy, marked as chosen for the shared subscription `filter`.
    #[must_use]
    pub fn through_shared(mut self, filter: Option<TopicFilter>) -> Self {
        self.shared = filter;
        self
    }

    /// The bytes this message counts for against `max_bytes`: payload, topic, and the MQTT 5
    /// wire size of its properties and Subscription Identifiers. An estimate of its memory,
    /// not of any one encoding.
    #[must_use]
    pub fn size(&self) -> usize {
        let m = &self.message;
        let p = &m.properties;
        let string = |len: usize| len.saturating_add(3); // identifier + u16 length
        let mut size = m.payload.len().saturating_add(m.topic.as_str().len());
        size = size
            .saturating_add(p.payload_format_indicator.map_or(0, |_| 2))
            .saturating_add(p.message_expiry_interval.map_or(0, |_| 5))
            .saturating_add(
                p.response_topic
                    .as_ref()
                    .map_or(0, |t| string(t.as_str().len())),
            )
            .saturating_add(p.correlation_data.as_ref().map_or(0, |d| string(d.len())))
            .saturating_add(
                p.content_type
                    .as_ref()
                    .map_or(0, |c| string(c.as_str().len())),
            );
        for user in &p.user_properties {
            size = size
                .saturating_add(string(user.key.as_str().len()))
                .saturating_add(user.value.as_str().len().saturating_add(2));
        }
        // Identifier + variable byte integer of at most 4 bytes.
        size.saturating_add(self.subscription_ids.len().saturating_mul(5))
    }
}

/// One queued message and the size it was counted with.
#[derive(Debug, Clone)]
struct Entry {
    message: QueuedMessage,
    size: usize,
}

/// The bounded FIFO queue of messages waiting to be sent to one subscriber.
///
/// Messages leave in the order they were pushed, so a subscriber receives the messages of
/// one topic in the order they were published ([MQTT-4.6.0-5], [MQTT-4.6.0-6]). Push and pop
/// are O(1); a push past a limit may scan the queue once for expired messages.
///
/// ```
/// use std::time::{Duration, Instant};
///
/// use broker_core::codec::PublishProperties;
/// use broker_core::session::{
///     DropReason, Dropped, Message, MessageQueue, OverflowPolicy, Presence, PushOutcome,
///     QueueLimits, QueuedMessage,
/// };
/// use broker_core::types::{QoS, TopicName};
///
/// let t0 = Instant::now(); // the caller's clock
/// let copy = |payload: &'static str, expiry| {
///     let properties = PublishProperties {
///         message_expiry_interval: expiry,
///         ..PublishProperties::default()
///     };
///     let topic = TopicName::new("sport/tennis").unwrap();
///     let message = Message::new(topic, payload.into(), QoS::AtLeastOnce, false, properties, t0);
///     QueuedMessage::new(message, QoS::ExactlyOnce, false, Vec::new())
/// };
/// let mut limits = QueueLimits::default();
/// limits.max_messages = 2;
/// limits.overflow = OverflowPolicy::DropOldest;
/// let mut queue = MessageQueue::new(limits);
/// let offline = Presence::Offline;
/// assert!(matches!(queue.push(copy("a", Some(5)), offline, t0), PushOutcome::Queued { .. }));
/// assert!(matches!(queue.push(copy("b", None), offline, t0), PushOutcome::Queued { .. }));
/// // Full: the oldest message makes room, and comes back to be counted.
/// let PushOutcome::Queued { evicted } = queue.push(copy("c", Some(5)), offline, t0) else {
///     unreachable!()
/// };
/// assert_eq!(evicted[0].reason, DropReason::QueueFull);
///
/// // Later the client reconnects; "c" has expired and is reported, not sent.
/// let mut expired: Vec<Dropped> = Vec::new();
/// let now = t0 + Duration::from_secs(5);
/// assert_eq!(queue.pop(now, &mut expired).unwrap().message.payload, "b");
/// assert!(queue.pop(now, &mut expired).is_none());
/// assert_eq!(expired[0].reason, DropReason::Expired);
/// ```
#[derive(Debug, Clone)]
pub struct MessageQueue {
    limits: QueueLimits,
    /// The messages held in memory, oldest first.
    entries: VecDeque<Entry>,
    /// Behind `entries`, oldest first: the copies left in the store, and the copies the store
    /// does not hold that came after them. Empty unless the queue spills.
    /// In spill mode, with the resident window: how many messages `entries` holds before
    /// stored copies stay in the store ([`set_resident`](Self::set_resident)).
    spilled: Places,
    bytes: usize,
    /// No queued message expires before this instant (a lower bound, exact after a scan).
    earliest_expiry: Option<Instant>,
}

impl MessageQueue {
    /// An empty queue with these limits, holding every message in memory.
    #[must_use]
    pub fn new(limits: QueueLimits) -> Self {
        MessageQueue {
            limits,
            entries: VecDeque::new(),
            spilled: Places::default(),
            bytes: 0,
            earliest_expiry: None,
        }
    }

    /// The limits.
    #[must_use]
    pub fn limits(&self) -> QueueLimits {
        self.limits
    }

    /// Spill mode: with `Some(window)`, once `window` messages are held in memory, a stored
    /// copy pushed behind them ([`QueuedMessage::stored`], not of a shared subscription),
    /// whether the client is connected or not, leaves its message to the store and the queue
    /// keeps a 24-byte marker in its place (its
    /// number, QoS, size and expiry; its topic too with `topics`, for the hooks' events about
    /// it), to be read back with [`refill`](Self::refill) when the window drains; so the
    /// memory of a queue is bounded by its window and its markers, however large the messages
    /// the store holds for it. With `None` (the default) every message is held. Turning it
    /// off keeps the copies spilled already: read them back first
    /// ([`all_spilled`](Self::all_spilled)).
    pub fn set_resident(&mut self, window: Option<usize>, topics: bool) {
        self.spilled.set_window(window, topics);
    }

    /// How many messages are queued, spilled ones included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries.len() + self.spilled.len()
    }

    /// Whether no message is queued.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.spilled.is_empty()
    }

    /// How many queued copies are in the store only.
    #[must_use]
    pub fn spilled(&self) -> usize {
        self.spilled.stored()
    }

    /// The [`QueuedMessage::size`] of all queued messages.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The next message [`pop`](Self::pop) would consider, which may have expired; `None`
    /// when the queue is empty or its next copy is in the store only (read it back first,
    /// [`refill`](Self::refill)).
    #[must_use]
    pub fn front(&self) -> Option<&QueuedMessage> {
        match self.entries.front() {
            Some(entry) => Some(&entry.message),
            None => self.spilled.front().and_then(|place| place.held()),
        }
    }

    /// The queued messages held in memory, oldest first; the copies in the store only are
    /// left out.
    pub fn iter(&self) -> impl Iterator<Item = &QueuedMessage> {
        self.entries
            .iter()
            .map(|e| &e.message)
            .chain(self.spilled.iter().filter_map(|place| place.held()))
    }

    /// Queue `message` for a subscriber that is `presence` at `now`.
    ///
    /// In order, a message is dropped if it has expired already ([MQTT-3.3.2-5]), if it is
    /// QoS 0, the client is offline and `queue_qos0` is off, or if it is larger than
    /// `max_bytes` on its own. If it fits, it is queued. If not, the expired messages in the
    /// queue are removed first when that makes room; otherwise the [`OverflowPolicy`]
    /// decides. The queue keeps the message as given: pass a [`detach`](Message::detach)ed
    /// one (detached once, before it is copied to every subscriber) so that the queue never
    /// keeps a publisher's receive buffer alive.
    ///
    /// Online, push every message that cannot be sent at once, and any message while the
    /// queue is not empty: sending it ahead of queued ones would break the publish order
    /// ([MQTT-4.6.0-5], [MQTT-4.6.0-6]).
    pub fn push(
        &mut self,
        message: QueuedMessage,
        presence: Presence,
        now: Instant,
    ) -> PushOutcome {
        if message.message.is_expired(now) {
            return rejected(message, DropReason::Expired);
        }
        if message.qos == QoS::AtMostOnce
            && presence == Presence::Offline
            && !self.limits.queue_qos0
        {
            return rejected(message, DropReason::Qos0NotQueued);
        }
        let size = message.size();
        if size > self.limits.max_bytes {
            return rejected(message, DropReason::TooLarge);
        }
        if self.limits.max_messages == 0 {
            return rejected(message, DropReason::QueueFull);
        }
        let mut evicted = Vec::new();
        if !self.fits(size) {
            let (count, bytes) = self.expired_totals(now);
            let room = self.len() - count < self.limits.max_messages
                && self.bytes - bytes <= self.limits.max_bytes - size;
            if room || self.limits.overflow == OverflowPolicy::DropOldest {
                self.remove_expired(now, &mut evicted);
            }
            while !self.fits(size) {
                match self.limits.overflow {
                    OverflowPolicy::DropNewest => return rejected(message, DropReason::QueueFull),
                    OverflowPolicy::Disconnect => return PushOutcome::DisconnectRequired(message),
                    OverflowPolicy::DropOldest => match self.pop_any() {
                        Some(oldest) => evicted.push(Dropped {
                            copy: oldest,
                            reason: DropReason::QueueFull,
                        }),
                        // Unreachable: an empty queue has room for a message of at most
                        // `max_bytes` when `max_messages` is not 0.
                        None => break,
                    },
                }
            }
        }
        self.note_expiry(message.message.expires_at());
        self.bytes += size;
        let window = self.spilled.window();
        if !self.spilled.is_empty() || window.is_some_and(|w| self.entries.len() >= w) {
            let place = match message.stored {
                Some(seq) if window.is_some() && message.shared.is_none() => {
                    let epoch = self.spilled.epoch_or(now);
                    let topics = self.spilled.topics();
                    Spilled::Stored(Marker::of(&message, seq, size, epoch, topics))
                }
                _ => Spilled::Held(Box::new((message, size))),
            };
            self.spilled.push_back(place);
        } else {
            self.entries.push_back(Entry { message, size });
        }
        PushOutcome::Queued { evicted }
    }

    /// Puts `message` back at the front of the queue, ahead of every queued message: a message
    /// just [`pop`](Self::pop)ped that the subscriber could not take after all (its in-flight
    /// window filled), so that the publish order is kept ([MQTT-4.6.0-5]).
    ///
    /// It counts against the limits like any queued message, but no limit is checked: it held
    /// its place a moment ago, and dropping it now would lose a message the queue had taken.
    /// Between a `pop` and its `push_front` with no push in between the limits hold again.
    pub fn push_front(&mut self, message: QueuedMessage) {
        let size = message.size();
        self.note_expiry(message.message.expires_at());
        self.bytes = self.bytes.saturating_add(size);
        self.entries.push_front(Entry { message, size });
    }

    /// Removes and returns the queued messages held in memory for which `take` holds, oldest
    /// first; the others keep their order (the messages of a shared subscription the
    /// subscriber left go to another member, for instance). The copies in the store only are
    /// not offered: none is of a shared subscription. One pass over the queue.
    pub fn extract(&mut self, mut take: impl FnMut(&QueuedMessage) -> bool) -> Vec<QueuedMessage> {
        let mut taken = Vec::new();
        if !self.iter().any(&mut take) {
            return taken;
        }
        let entries = std::mem::take(&mut self.entries);
        let epoch = self.spilled.epoch();
        let spilled = self.spilled.take();
        self.entries.reserve(entries.len());
        self.earliest_expiry = None;
        for entry in entries {
            if take(&entry.message) {
                self.bytes -= entry.size;
                taken.push(entry.message);
            } else {
                self.note_expiry(entry.message.message.expires_at());
                self.entries.push_back(entry);
            }
        }
        for place in spilled {
            match place {
                Spilled::Held(held) if take(&held.0) => {
                    self.bytes -= held.1;
                    taken.push(held.0);
                }
                place => {
                    self.note_expiry(place.expires_at(epoch));
                    self.spilled.push_back(place);
                }
            }
        }
        self.spilled.tidy();
        taken
    }

    /// The oldest message that has not expired at `now`, if any. The expired messages before
    /// it are removed and appended to `expired` ([MQTT-3.3.2-5]). `None` also when the next
    /// copy is in the store only: read it back first ([`refill`](Self::refill)).
    pub fn pop(&mut self, now: Instant, expired: &mut Vec<Dropped>) -> Option<QueuedMessage> {
        while let Some(message) = self.pop_held() {
            if !message.message.is_expired(now) {
                return Some(message);
            }
            expired.push(Dropped::held(message, DropReason::Expired));
        }
        None
    }

    /// Remove every message that has expired at `now`, appending them to `expired` oldest
    /// first ([MQTT-3.3.2-5]). The others keep their order. O(1) when nothing can have
    /// expired yet, else one pass over the queue.
    pub fn drain_expired(&mut self, now: Instant, expired: &mut Vec<Dropped>) {
        self.remove_expired(now, expired);
    }

    /// Remove every queued message and return those held in memory, oldest first (the
    /// session ends, or its messages move elsewhere). The copies in the store only go with
    /// the session's queue in the store.
    pub fn drain(&mut self) -> impl Iterator<Item = QueuedMessage> + '_ {
        self.bytes = 0;
        self.earliest_expiry = None;
        let places = self.spilled.take();
        self.spilled.tidy();
        self.entries
            .drain(..)
            .map(|e| e.message)
            .chain(places.into_iter().filter_map(|s| match s {
                Spilled::Held(held) => Some(held.0),
                Spilled::Stored(_) => None,
            }))
    }

    /// Whether the resident window has drained to half while copies wait in the store only:
    /// time to read the next ones back ([`to_read_back`](Self::to_read_back)). O(1).
    #[must_use]
    pub fn wants_read_back(&self) -> bool {
        if self.spilled.is_empty() {
            return false;
        }
        let window = self.spilled.window().unwrap_or(0);
        self.entries.len() <= window / 2
    }

    /// The store numbers of the spilled copies to read back now: those among the places
    /// that would fill the resident window again. Empty unless
    /// [`wants_read_back`](Self::wants_read_back).
    #[must_use]
    pub fn to_read_back(&self) -> Vec<StoreSeq> {
        if !self.wants_read_back() {
            return Vec::new();
        }
        let window = self.spilled.window().unwrap_or(0);
        let room = window.saturating_sub(self.entries.len()).max(1);
        stored_numbers(self.spilled.iter().take(room))
    }

    /// The store numbers of every spilled copy, in queue order.
    #[must_use]
    pub fn all_spilled(&self) -> Vec<StoreSeq> {
        stored_numbers(self.spilled.iter())
    }

    /// Puts copies read back from the store into the resident window: `wanted` are the
    /// numbers that were read ([`to_read_back`](Self::to_read_back)), `loaded` the copies the
    /// store had of them, each with its number. From the front of the spilled places, each
    /// wanted copy takes its message from `loaded` (one the store no longer has leaves the
    /// queue and is reported), and the held copies among them move along in their place,
    /// until a spilled copy that was not wanted. Copies of `loaded` with no place here any
    /// more (dropped meanwhile) are ignored.
    pub fn refill(&mut self, loaded: Vec<QueuedMessage>, wanted: &[StoreSeq]) -> Refilled {
        let mut refilled = Refilled::default();
        let wanted: HashSet<StoreSeq> = wanted.iter().copied().collect();
        let mut loaded: HashMap<StoreSeq, QueuedMessage> = loaded
            .into_iter()
            .filter_map(|m| Some((m.stored?, m)))
            .collect();
        while let Some(place) = self.spilled.front() {
            let seq = match place.stored() {
                Some(seq) if wanted.contains(&seq) => seq,
                Some(_) => break,
                None => {
                    if let Some(Spilled::Held(held)) = self.spilled.pop_front() {
                        let (message, size) = *held;
                        self.entries.push_back(Entry { message, size });
                    }
                    continue;
                }
            };
            let size = place.size();
            self.spilled.pop_front();
            self.bytes -= size;
            match loaded.remove(&seq) {
                Some(message) => {
                    let size = message.size();
                    self.bytes += size;
                    self.note_expiry(message.message.expires_at());
                    self.entries.push_back(Entry { message, size });
                    refilled.restored += 1;
                }
                None => refilled.missing.push(seq),
            }
        }
        refilled
    }

    /// Whether `message` could be queued at all: an empty queue would take it.
    #[must_use]
    pub fn can_hold(&self, message: &QueuedMessage) -> bool {
        self.limits.max_messages > 0 && message.size() <= self.limits.max_bytes
    }

    /// Whether `message` would be queued now without the [`OverflowPolicy`] having to drop
    /// anything (expired messages still in the queue count as taking room).
    #[must_use]
    pub fn has_room(&self, message: &QueuedMessage) -> bool {
        self.has_room_beside(message, 0)
    }

    /// [`has_room`](Self::has_room) with `set_aside` more messages counted as queued: slots
    /// promised to others.
    #[must_use]
    pub fn has_room_beside(&self, message: &QueuedMessage, set_aside: usize) -> bool {
        let size = message.size();
        size <= self.limits.max_bytes
            && self.len().saturating_add(set_aside) < self.limits.max_messages
            && self.bytes <= self.limits.max_bytes - size
    }

    /// How many more messages the count limit lets in, with `set_aside` more messages
    /// counted as queued.
    #[must_use]
    pub fn free_slots(&self, set_aside: usize) -> usize {
        self.limits
            .max_messages
            .saturating_sub(self.len().saturating_add(set_aside))
    }

    fn fits(&self, size: usize) -> bool {
        // `size <= max_bytes` was checked, so the subtraction cannot wrap.
        self.len() < self.limits.max_messages && self.bytes <= self.limits.max_bytes - size
    }

    fn note_expiry(&mut self, at: Option<Instant>) {
        if let Some(at) = at {
            self.earliest_expiry = Some(self.earliest_expiry.map_or(at, |e| e.min(at)));
        }
    }

    /// The oldest message, if it is held in memory.
    fn pop_held(&mut self) -> Option<QueuedMessage> {
        let message = match self.entries.pop_front() {
            Some(entry) => {
                self.bytes -= entry.size;
                entry.message
            }
            None => match self.spilled.front() {
                Some(PlaceRef::Held(..)) => match self.spilled.pop_front() {
                    Some(Spilled::Held(held)) => {
                        let (message, size) = *held;
                        self.bytes -= size;
                        message
                    }
                    _ => return None,
                },
                _ => return None,
            },
        };
        if self.is_empty() {
            self.earliest_expiry = None;
        }
        Some(message)
    }

    /// The oldest copy, held or spilled.
    fn pop_any(&mut self) -> Option<DroppedCopy> {
        let copy = match self.entries.pop_front() {
            Some(entry) => {
                self.bytes -= entry.size;
                DroppedCopy::Held(entry.message)
            }
            None => {
                let epoch = self.spilled.epoch();
                let place = self.spilled.pop_front()?;
                self.bytes -= place.size();
                place.into_dropped(epoch)
            }
        };
        if self.is_empty() {
            self.earliest_expiry = None;
        }
        Some(copy)
    }

    /// Whether any queued message may have expired at `now`.
    fn may_have_expired(&self, now: Instant) -> bool {
        self.earliest_expiry.is_some_and(|at| now >= at)
    }

    /// How many queued messages have expired at `now`, and their total size.
    fn expired_totals(&self, now: Instant) -> (usize, usize) {
        if !self.may_have_expired(now) {
            return (0, 0);
        }
        let held = self
            .entries
            .iter()
            .filter(|e| e.message.message.is_expired(now))
            .map(|e| e.size);
        let epoch = self.spilled.epoch();
        let spilled = self
            .spilled
            .iter()
            .filter(|place| place.is_expired(now, epoch))
            .map(|place| place.size());
        held.chain(spilled)
            .fold((0, 0), |(count, bytes), size| (count + 1, bytes + size))
    }

    fn remove_expired(&mut self, now: Instant, expired: &mut Vec<Dropped>) {
        if !self.may_have_expired(now) {
            return;
        }
        let entries = std::mem::take(&mut self.entries);
        let epoch = self.spilled.epoch();
        let spilled = self.spilled.take();
        self.entries.reserve(entries.len());
        self.earliest_expiry = None;
        for entry in entries {
            if entry.message.message.is_expired(now) {
                self.bytes -= entry.size;
                expired.push(Dropped::held(entry.message, DropReason::Expired));
            } else {
                self.note_expiry(entry.message.message.expires_at());
                self.entries.push_back(entry);
            }
        }
        for place in spilled {
            if place.is_expired(now, epoch) {
                self.bytes -= place.size();
                expired.push(Dropped {
                    copy: place.into_dropped(epoch),
                    reason: DropReason::Expired,
                });
            } else {
                self.note_expiry(place.expires_at(epoch));
                self.spilled.push_back(place);
            }
        }
        self.spilled.tidy();
    }
}

/// The store numbers of the spilled copies among `places`, in order.
fn stored_numbers<'a>(places: impl Iterator<Item = PlaceRef<'a>>) -> Vec<StoreSeq> {
    places.filter_map(|place| place.stored()).collect()
}

fn rejected(message: QueuedMessage, reason: DropReason) -> PushOutcome {
    PushOutcome::Dropped(Dropped::held(message, reason))
}

#[cfg(test)]
#[path = "queue_test.rs"]
mod tests;
