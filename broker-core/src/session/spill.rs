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
use std::num::NonZeroU32;
use std::time::{Duration, Instant};

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
    seq: StoreSeq,
    qos: QoS,
    /// The [`QueuedMessage::size`] it was counted with (a message is below 256 MiB).
    size: u32,
    /// Whole seconds after the queue's epoch, plus one, when it expires (rounded up).
    expires: Option<NonZeroU32>,
    topic: Option<Box<TopicName>>,
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

    fn expires_at(&self, epoch: Instant) -> Option<Instant> {
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

/// Places a queue keeps room for after it drained (6 KiB of markers).
const SHRINK_ABOVE: usize = 256;

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
    /// The size it counts for against the limits.
    pub(crate) fn size(&self) -> usize {
        match self {
            Spilled::Stored(marker) => marker.size as usize,
            Spilled::Held(held) => held.1,
        }
    }

    /// When it expires, if it does (a marker's expiry counts from the queue's `epoch`, which
    /// is there once a marker is).
    pub(crate) fn expires_at(&self, epoch: Option<Instant>) -> Option<Instant> {
        match self {
            Spilled::Stored(marker) => marker.expires_at(epoch?),
            Spilled::Held(held) => held.0.message.expires_at(),
        }
    }

    /// Whether it has expired at `now`.
    pub(crate) fn is_expired(&self, now: Instant, epoch: Option<Instant>) -> bool {
        self.expires_at(epoch).is_some_and(|at| now >= at)
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

/// The places behind a queue's resident window, and the window: one pointer in the queue
/// (every session has a queue, and most never spill), the rest boxed while there is any.
#[derive(Debug, Clone, Default)]
pub(crate) struct Places(Option<Box<Spill>>);

#[derive(Debug, Clone, Default)]
struct Spill {
    window: Option<usize>,
    /// Whether markers keep their topic.
    topics: bool,
    /// The instant markers count their expiry from: the first push's `now`.
    epoch: Option<Instant>,
    places: VecDeque<Spilled>,
}

impl Places {
    /// The resident window, in spill mode.
    pub(crate) fn window(&self) -> Option<usize> {
        self.0.as_ref().and_then(|spill| spill.window)
    }

    /// Sets the resident window (spill mode), or turns it off; with `topics`, markers keep
    /// their topic.
    pub(crate) fn set_window(&mut self, window: Option<usize>, topics: bool) {
        let spill = self.spill();
        spill.window = window;
        spill.topics = topics;
        self.tidy();
    }

    /// Whether markers keep their topic.
    pub(crate) fn topics(&self) -> bool {
        self.0.as_ref().is_some_and(|spill| spill.topics)
    }

    /// The instant markers count their expiry from; `now` becomes it if there is none yet.
    pub(crate) fn epoch_or(&mut self, now: Instant) -> Instant {
        *self.spill().epoch.get_or_insert(now)
    }

    /// The instant markers count their expiry from; `None` before the first marker.
    pub(crate) fn epoch(&self) -> Option<Instant> {
        self.0.as_ref().and_then(|spill| spill.epoch)
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
        let spill = self.0.as_mut()?;
        let place = spill.places.pop_front();
        // A queue that drained gives the room its markers took back (a million markers
        // take 24 MB), a quarter at a time: amortized, a pop stays O(1).
        let (len, capacity) = (spill.places.len(), spill.places.capacity());
        if capacity > SHRINK_ABOVE && len < capacity / 4 {
            spill.places.shrink_to(len * 2);
        }
        self.tidy();
        place
    }

    /// Takes every place out, leaving the window and the epoch (call
    /// [`tidy`](Self::tidy) once done putting places back).
    pub(crate) fn take(&mut self) -> VecDeque<Spilled> {
        self.0
            .as_mut()
            .map(|spill| std::mem::take(&mut spill.places))
            .unwrap_or_default()
    }

    fn spill(&mut self) -> &mut Spill {
        self.0.get_or_insert_with(Box::default)
    }

    /// Lets the box go once it holds nothing and no window.
    pub(crate) fn tidy(&mut self) {
        if self
            .0
            .as_ref()
            .is_some_and(|spill| spill.window.is_none() && spill.places.is_empty())
        {
            self.0 = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A queue keeps one of these per copy it leaves in the store: a million of them take
    /// 24 MB, not the messages' memory.
    #[test]
    fn a_drained_queue_gives_back_the_room_its_markers_took() {
        let mut places = Places::default();
        places.set_window(Some(0), false);
        let marker = |n: u64| Marker {
            seq: StoreSeq::new(n).unwrap(),
            qos: QoS::AtLeastOnce,
            size: 10,
            expires: None,
            topic: None,
        };
        for n in 1..=10_000 {
            places.push_back(Spilled::Stored(marker(n)));
        }
        let room = |places: &Places| places.0.as_ref().map_or(0, |s| s.places.capacity());
        assert!(room(&places) >= 10_000);
        for n in 1..=10_000 {
            let Some(Spilled::Stored(popped)) = places.pop_front() else {
                panic!("place {n}");
            };
            assert_eq!(popped.seq(), StoreSeq::new(n).unwrap());
        }
        assert!(room(&places) <= SHRINK_ABOVE, "{}", room(&places));
    }

    #[test]
    fn a_place_behind_the_window_takes_24_bytes() {
        assert_eq!(std::mem::size_of::<Marker>(), 24);
        assert_eq!(std::mem::size_of::<Spilled>(), 24);
    }
}
