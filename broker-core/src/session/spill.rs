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

use std::borrow::Cow;
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

use super::places::PlaceRef;
use super::QueuedMessage;
use crate::types::{QoS, StoreSeq, TopicName};

/// What a queue knew of a copy it had left in the store, when the copy is dropped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpilledCopy {
    /// The copy's number in the store.
    pub seq: StoreSeq,
    /// The message's topic, when the queue kept it ([`MessageQueue::set_resident`]: only
    /// for a session whose drops the hooks are told of).
    ///
    /// [`MessageQueue::set_resident`]: super::MessageQueue::set_resident
    pub topic: Option<TopicName>,
    /// The QoS it is delivered at.
    pub qos: QoS,
    /// When its Message Expiry Interval passes, if it has one (to the second, rounded up).
    pub expires_at: Option<Instant>,
}

impl SpilledCopy {
    /// Whether its Message Expiry Interval has passed at `now`.
    #[must_use]
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at.is_some_and(|at| now >= at)
    }
}

/// What a queue keeps of a spilled copy: 24 bytes, and the topic only when asked.
#[derive(Debug, Clone)]
pub(crate) struct Marker {
    pub(super) seq: StoreSeq,
    pub(super) qos: QoS,
    /// The [`QueuedMessage::size`] it was counted with (a message is below 256 MiB).
    pub(super) size: u32,
    /// Whole seconds after the queue's epoch, plus one, when it expires (rounded up).
    pub(super) expires: Option<NonZeroU32>,
    pub(super) topic: Option<Box<TopicName>>,
}

impl Marker {
    /// What the queue keeps of `message`, whose store number is `seq`, counted as `size`;
    /// its expiry counted from `epoch`, its topic kept with `topic`.
    pub(crate) fn of(
        message: &QueuedMessage,
        seq: StoreSeq,
        size: usize,
        epoch: Instant,
        topic: bool,
    ) -> Self {
        let expires = message.message.expires_at().map(|at| {
            let after = at.saturating_duration_since(epoch);
            let secs = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            NonZeroU32::new(
                u32::try_from(secs)
                    .unwrap_or(u32::MAX - 1)
                    .saturating_add(1),
            )
            .unwrap_or(NonZeroU32::MAX)
        });
        Marker {
            seq,
            qos: message.qos,
            size: u32::try_from(size).unwrap_or(u32::MAX),
            expires,
            topic: topic.then(|| Box::new(message.message.topic.clone())),
        }
    }

    /// Its store number.
    pub(crate) fn seq(&self) -> StoreSeq {
        self.seq
    }

    pub(super) fn expires_at(&self, epoch: Instant) -> Option<Instant> {
        let secs = self.expires?.get() - 1;
        epoch.checked_add(Duration::from_secs(u64::from(secs)))
    }

    fn into_copy(self, epoch: Option<Instant>) -> SpilledCopy {
        SpilledCopy {
            seq: self.seq,
            expires_at: epoch.and_then(|epoch| self.expires_at(epoch)),
            topic: self.topic.map(|topic| *topic),
            qos: self.qos,
        }
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
    /// The message's topic, if the queue knew it.
    #[must_use]
    pub fn topic(&self) -> Option<&TopicName> {
        match self {
            DroppedCopy::Held(message) => Some(&message.message.topic),
            DroppedCopy::Spilled(copy) => copy.topic.as_ref(),
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
    Stored(Marker),
    /// A copy the store does not hold, kept in memory in its place, with the size it was
    /// counted with. Boxed: these are rare behind a spilled window, and the stored ones stay
    /// small.
    Held(Box<(QueuedMessage, usize)>),
}

impl Spilled {
    /// It, as the queue reads a place.
    pub(crate) fn as_place(&self) -> PlaceRef<'_> {
        match self {
            Spilled::Stored(marker) => PlaceRef::Stored(Cow::Borrowed(marker)),
            Spilled::Held(held) => PlaceRef::Held(held),
        }
    }

    /// The size it counts for against the limits.
    pub(crate) fn size(&self) -> usize {
        self.as_place().size()
    }

    /// When it expires, if it does (a marker's expiry counts from the queue's `epoch`, which
    /// is there once a marker is).
    pub(crate) fn expires_at(&self, epoch: Option<Instant>) -> Option<Instant> {
        self.as_place().expires_at(epoch)
    }

    /// Whether it has expired at `now`.
    pub(crate) fn is_expired(&self, now: Instant, epoch: Option<Instant>) -> bool {
        self.as_place().is_expired(now, epoch)
    }

    /// It, as a dropped copy.
    pub(crate) fn into_dropped(self, epoch: Option<Instant>) -> DroppedCopy {
        match self {
            Spilled::Stored(marker) => DroppedCopy::Spilled(marker.into_copy(epoch)),
            Spilled::Held(held) => DroppedCopy::Held(held.0),
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A queue keeps one of these per copy it leaves in the store that no run takes
    /// (`marker_run.rs`): one with a topic, or unlike the copy before it.
    #[test]
    fn a_place_behind_the_window_takes_24_bytes() {
        assert_eq!(std::mem::size_of::<Marker>(), 24);
        assert_eq!(std::mem::size_of::<Spilled>(), 24);
    }
}
