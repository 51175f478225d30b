//! What a [`MessageQueue`](super::MessageQueue) keeps of a copy it left in the durable store.
//!
//! A queue in spill mode ([`MessageQueue::set_resident`](super::MessageQueue::set_resident))
//! holds at most a window of messages in memory. A stored copy (one with a
//! [`QueuedMessage::stored`] number, not of a shared subscription) pushed past the window
//! leaves its message to the store: the queue keeps a [`SpilledCopy`], which is enough to
//! count it against the limits, to drop it (the number, for the store to forget it; the topic
//! and QoS, for the log and the hooks' events) and to read it back, in its turn, from the
//! store. A copy the store does not hold (QoS 0, or one the store refused) that arrives
//! behind spilled ones stays in memory, in its place, so the order of the queue is kept.

use std::collections::VecDeque;
use std::time::Instant;

use super::QueuedMessage;
use crate::types::{QoS, StoreSeq, TopicName};

/// A queued copy whose message is in the store, not in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpilledCopy {
    /// The copy's number in the store.
    pub seq: StoreSeq,
    /// The message's topic.
    pub topic: TopicName,
    /// The QoS it is delivered at.
    pub qos: QoS,
    /// When its Message Expiry Interval passes, if it has one.
    pub expires_at: Option<Instant>,
    /// The [`QueuedMessage::size`] it was counted with.
    pub(crate) size: usize,
}

impl SpilledCopy {
    /// What the queue keeps of `message`, whose store number is `seq`, counted as `size`.
    pub(crate) fn of(message: &QueuedMessage, seq: StoreSeq, size: usize) -> Self {
        SpilledCopy {
            seq,
            topic: message.message.topic.clone(),
            qos: message.qos,
            expires_at: message.message.expires_at(),
            size,
        }
    }

    /// Whether its Message Expiry Interval has passed at `now`.
    #[must_use]
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

/// A copy that left a queue without being sent: the message itself, or what the queue kept
/// of a spilled one.
// Not boxed: a dropped copy is counted, logged and let go at once, and boxing the message
// would allocate for every drop (every QoS 0 message for an offline client, for one).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DroppedCopy {
    /// A copy the queue held in memory.
    Held(QueuedMessage),
    /// A copy the queue had left in the store.
    Spilled(SpilledCopy),
}

impl DroppedCopy {
    /// The message's topic.
    #[must_use]
    pub fn topic(&self) -> &TopicName {
        match self {
            DroppedCopy::Held(message) => &message.message.topic,
            DroppedCopy::Spilled(copy) => &copy.topic,
        }
    }

    /// The QoS it would have been delivered at.
    #[must_use]
    pub fn qos(&self) -> QoS {
        match self {
            DroppedCopy::Held(message) => message.qos,
            DroppedCopy::Spilled(copy) => copy.qos,
        }
    }

    /// Its number in the store, if a store holds it.
    #[must_use]
    pub fn stored(&self) -> Option<StoreSeq> {
        match self {
            DroppedCopy::Held(message) => message.stored,
            DroppedCopy::Spilled(copy) => Some(copy.seq),
        }
    }

    /// The message, if the queue held it.
    #[must_use]
    pub fn held(&self) -> Option<&QueuedMessage> {
        match self {
            DroppedCopy::Held(message) => Some(message),
            DroppedCopy::Spilled(_) => None,
        }
    }
}

/// One place of the queue behind its resident window.
#[derive(Debug, Clone)]
pub(crate) enum Spilled {
    /// A stored copy, to be read back from the store.
    Stored(SpilledCopy),
    /// A copy the store does not hold, kept in memory in its place. Boxed: these are rare
    /// behind a spilled window, and the stored ones stay small.
    Held(Box<QueuedMessage>, usize),
}

impl Spilled {
    /// The size it counts for against the limits.
    pub(crate) fn size(&self) -> usize {
        match self {
            Spilled::Stored(copy) => copy.size,
            Spilled::Held(_, size) => *size,
        }
    }

    /// When it expires, if it does.
    pub(crate) fn expires_at(&self) -> Option<Instant> {
        match self {
            Spilled::Stored(copy) => copy.expires_at,
            Spilled::Held(message, _) => message.message.expires_at(),
        }
    }

    /// Whether it has expired at `now`.
    pub(crate) fn is_expired(&self, now: Instant) -> bool {
        self.expires_at().is_some_and(|at| now >= at)
    }

    /// It, as a dropped copy.
    pub(crate) fn into_dropped(self) -> DroppedCopy {
        match self {
            Spilled::Stored(copy) => DroppedCopy::Spilled(copy),
            Spilled::Held(message, _) => DroppedCopy::Held(*message),
        }
    }
}

/// What [`MessageQueue::refill`](super::MessageQueue::refill) did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Refilled {
    /// Copies read back into the resident window.
    pub restored: usize,
    /// Spilled copies the store no longer had (their numbers): they are gone from the queue.
    pub missing: Vec<StoreSeq>,
}

/// The places behind a queue's resident window, and the window: one pointer in the queue
/// (every session has a queue, and most never spill), the rest boxed while there is any.
#[derive(Debug, Clone, Default)]
pub(crate) struct Places(Option<Box<Spill>>);

#[derive(Debug, Clone, Default)]
struct Spill {
    window: Option<usize>,
    places: VecDeque<Spilled>,
}

impl Places {
    /// The resident window, in spill mode.
    pub(crate) fn window(&self) -> Option<usize> {
        self.0.as_ref().and_then(|spill| spill.window)
    }

    /// Sets the resident window (spill mode), or turns it off.
    pub(crate) fn set_window(&mut self, window: Option<usize>) {
        self.spill().window = window;
        self.tidy();
    }

    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |spill| spill.places.len())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn front(&self) -> Option<&Spilled> {
        self.0.as_ref().and_then(|spill| spill.places.front())
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &Spilled> {
        self.0.iter().flat_map(|spill| spill.places.iter())
    }

    pub(crate) fn push_back(&mut self, place: Spilled) {
        self.spill().places.push_back(place);
    }

    pub(crate) fn pop_front(&mut self) -> Option<Spilled> {
        let place = self.0.as_mut()?.places.pop_front();
        self.tidy();
        place
    }

    /// Takes every place out, leaving the window.
    pub(crate) fn take(&mut self) -> VecDeque<Spilled> {
        let places = self
            .0
            .as_mut()
            .map(|spill| std::mem::take(&mut spill.places))
            .unwrap_or_default();
        self.tidy();
        places
    }

    fn spill(&mut self) -> &mut Spill {
        self.0.get_or_insert_with(Box::default)
    }

    /// Lets the box go once it holds nothing and no window.
    fn tidy(&mut self) {
        if self
            .0
            .as_ref()
            .is_some_and(|spill| spill.window.is_none() && spill.places.is_empty())
        {
            self.0 = None;
        }
    }
}
