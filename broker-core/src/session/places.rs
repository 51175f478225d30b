//! The places behind a queue's resident window, in the queue's order: markers of copies left
//! in the store, and the copies the store does not hold, kept in their place.
//!
//! Markers that follow one another with the same QoS and expiry and no topic share one
//! [`MarkerRun`] (about 3 bytes a copy); any other place is kept on its own. Readers see one
//! [`PlaceRef`] per copy either way.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::time::Instant;

use super::marker_run::{MarkerRun, RunIter};
use super::spill::{Marker, Spilled};
use super::QueuedMessage;
use crate::types::StoreSeq;

/// Slots (or packed bytes) a queue keeps room for after it drained.
const SHRINK_ABOVE: usize = 256;

/// Gives back the room of a deque that has drained to under a quarter of it, down to twice
/// what it holds (keeping [`SHRINK_ABOVE`]): a quarter at a time, so that a pop stays O(1),
/// amortized.
pub(super) fn give_back_room<T>(deque: &mut VecDeque<T>) {
    let (len, capacity) = (deque.len(), deque.capacity());
    if capacity > SHRINK_ABOVE && len < capacity / 4 {
        deque.shrink_to(len * 2);
    }
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
    slots: VecDeque<Slot>,
    /// Copies in the slots.
    len: usize,
    /// Of which held in memory.
    held: usize,
}

#[derive(Debug, Clone)]
enum Slot {
    One(Spilled),
    Run(Box<MarkerRun>),
}

/// One place, as the queue reads it.
#[derive(Debug)]
pub(crate) enum PlaceRef<'a> {
    /// A stored copy's marker (made on the spot for one in a run).
    Stored(Cow<'a, Marker>),
    /// A copy held in memory, with the size it was counted with.
    Held(&'a (QueuedMessage, usize)),
}

impl<'a> PlaceRef<'a> {
    /// The size it counts for against the limits.
    pub(crate) fn size(&self) -> usize {
        match self {
            PlaceRef::Stored(marker) => marker.size as usize,
            PlaceRef::Held(held) => held.1,
        }
    }

    /// When it expires, if it does (a marker's expiry counts from the queue's `epoch`, which
    /// is there once a marker is).
    pub(crate) fn expires_at(&self, epoch: Option<Instant>) -> Option<Instant> {
        match self {
            PlaceRef::Stored(marker) => marker.expires_at(epoch?),
            PlaceRef::Held(held) => held.0.message.expires_at(),
        }
    }

    /// Whether it has expired at `now`.
    pub(crate) fn is_expired(&self, now: Instant, epoch: Option<Instant>) -> bool {
        self.expires_at(epoch).is_some_and(|at| now >= at)
    }

    /// Its store number, if it is a stored copy.
    pub(crate) fn stored(&self) -> Option<StoreSeq> {
        match self {
            PlaceRef::Stored(marker) => Some(marker.seq()),
            PlaceRef::Held(_) => None,
        }
    }

    /// The message, if it is held in memory.
    pub(crate) fn held(&self) -> Option<&'a QueuedMessage> {
        match self {
            PlaceRef::Stored(_) => None,
            PlaceRef::Held(held) => Some(&held.0),
        }
    }
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

    /// How many copies are behind the window.
    pub(crate) fn len(&self) -> usize {
        self.0.as_ref().map_or(0, |spill| spill.len)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// How many of them are in the store only.
    pub(crate) fn stored(&self) -> usize {
        self.0.as_ref().map_or(0, |spill| spill.len - spill.held)
    }

    pub(crate) fn front(&self) -> Option<PlaceRef<'_>> {
        match self.0.as_ref()?.slots.front()? {
            Slot::One(place) => Some(place.as_place()),
            Slot::Run(run) => Some(PlaceRef::Stored(Cow::Owned(run.front()))),
        }
    }

    /// Every place, front to back.
    pub(crate) fn iter(&self) -> impl Iterator<Item = PlaceRef<'_>> {
        self.0
            .iter()
            .flat_map(|spill| spill.slots.iter())
            .flat_map(|slot| match slot {
                Slot::One(place) => SlotIter::One(Some(place.as_place())),
                Slot::Run(run) => SlotIter::Run(run.iter()),
            })
    }

    pub(crate) fn push_back(&mut self, place: Spilled) {
        let spill = self.spill();
        spill.len += 1;
        let marker = match place {
            Spilled::Stored(marker) => marker,
            held @ Spilled::Held(_) => {
                spill.held += 1;
                spill.slots.push_back(Slot::One(held));
                return;
            }
        };
        match spill.slots.back_mut() {
            Some(Slot::Run(run)) if run.fits(&marker) => {
                run.push(&marker);
                return;
            }
            Some(slot) => {
                if let Slot::One(Spilled::Stored(before)) = slot {
                    let mut run = MarkerRun::new(before);
                    if before.topic.is_none() && run.fits(&marker) {
                        run.push(&marker);
                        *slot = Slot::Run(Box::new(run));
                        return;
                    }
                }
            }
            None => {}
        }
        spill.slots.push_back(Slot::One(Spilled::Stored(marker)));
    }

    pub(crate) fn pop_front(&mut self) -> Option<Spilled> {
        let spill = self.0.as_mut()?;
        let place = pop_slot_front(&mut spill.slots)?;
        spill.len -= 1;
        if matches!(place, Spilled::Held(_)) {
            spill.held -= 1;
        }
        // A queue that drained gives back the room its slots took.
        give_back_room(&mut spill.slots);
        self.tidy();
        Some(place)
    }

    /// Takes every place out, oldest first, leaving the window and the epoch (call
    /// [`tidy`](Self::tidy) once done putting places back).
    pub(crate) fn take(&mut self) -> Taken {
        let slots = self
            .0
            .as_mut()
            .map(|spill| {
                spill.len = 0;
                spill.held = 0;
                std::mem::take(&mut spill.slots)
            })
            .unwrap_or_default();
        Taken(slots)
    }

    fn spill(&mut self) -> &mut Spill {
        self.0.get_or_insert_with(Box::default)
    }

    /// Lets the box go once it holds nothing and no window.
    pub(crate) fn tidy(&mut self) {
        if self
            .0
            .as_ref()
            .is_some_and(|spill| spill.window.is_none() && spill.slots.is_empty())
        {
            self.0 = None;
        }
    }
}

/// Takes the front place out of `slots`.
fn pop_slot_front(slots: &mut VecDeque<Slot>) -> Option<Spilled> {
    if let Slot::Run(run) = slots.front_mut()? {
        if let Some(marker) = run.pop_front() {
            return Some(Spilled::Stored(marker));
        }
    }
    match slots.pop_front()? {
        Slot::One(place) => Some(place),
        // Its last marker.
        Slot::Run(run) => Some(Spilled::Stored(run.front())),
    }
}

/// The places of one slot.
enum SlotIter<'a> {
    One(Option<PlaceRef<'a>>),
    Run(RunIter<'a>),
}

impl<'a> Iterator for SlotIter<'a> {
    type Item = PlaceRef<'a>;

    fn next(&mut self) -> Option<PlaceRef<'a>> {
        match self {
            SlotIter::One(place) => place.take(),
            SlotIter::Run(markers) => markers.next().map(|m| PlaceRef::Stored(Cow::Owned(m))),
        }
    }
}

/// The places [`Places::take`] took out, oldest first.
#[derive(Debug)]
pub(crate) struct Taken(VecDeque<Slot>);

impl Iterator for Taken {
    type Item = Spilled;

    fn next(&mut self) -> Option<Spilled> {
        pop_slot_front(&mut self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::QoS;

    fn marker(n: u64, qos: QoS) -> Marker {
        Marker {
            seq: StoreSeq::new(n).unwrap(),
            qos,
            size: 10,
            expires: None,
            topic: None,
        }
    }

    fn seqs(places: &Places) -> Vec<Option<u64>> {
        places
            .iter()
            .map(|p| p.stored().map(StoreSeq::get))
            .collect()
    }

    #[test]
    fn markers_alike_share_a_run_and_every_place_keeps_its_order() {
        let mut places = Places::default();
        places.set_window(Some(0), false);
        for n in 1..=3 {
            places.push_back(Spilled::Stored(marker(n, QoS::AtLeastOnce)));
        }
        places.push_back(Spilled::Stored(marker(4, QoS::ExactlyOnce)));
        places.push_back(Spilled::Stored(marker(5, QoS::ExactlyOnce)));
        let message = crate::session::Message::new(
            crate::types::TopicName::new("t").unwrap(),
            bytes::Bytes::from_static(b"6"),
            QoS::AtMostOnce,
            false,
            crate::codec::PublishProperties::default(),
            Instant::now(),
        );
        let held = QueuedMessage::new(message, QoS::AtMostOnce, false, Vec::new());
        places.push_back(Spilled::Held(Box::new((held, 10))));
        places.push_back(Spilled::Stored(marker(7, QoS::AtLeastOnce)));
        let slots = places.0.as_ref().unwrap().slots.len();
        assert_eq!(slots, 4, "a run of 3, a run of 2, the held copy, a marker");
        assert_eq!(places.len(), 7);
        assert_eq!(places.stored(), 6);
        let want = vec![Some(1), Some(2), Some(3), Some(4), Some(5), None, Some(7)];
        assert_eq!(seqs(&places), want);
        assert_eq!(places.front().unwrap().stored(), StoreSeq::new(1));
        // Taken out and put back: the same.
        let taken: Vec<Spilled> = places.take().collect();
        assert!(places.is_empty());
        for place in taken {
            places.push_back(place);
        }
        assert_eq!(seqs(&places), want);
        let mut popped = Vec::new();
        while let Some(place) = places.pop_front() {
            popped.push(match place {
                Spilled::Stored(m) => Some(m.seq().get()),
                Spilled::Held(_) => None,
            });
        }
        assert_eq!(popped, want);
        assert_eq!((places.len(), places.stored()), (0, 0));
    }

    #[test]
    fn a_marker_with_a_topic_stays_on_its_own() {
        let mut places = Places::default();
        places.set_window(Some(0), true);
        let mut with_topic = marker(1, QoS::AtLeastOnce);
        with_topic.topic = Some(Box::new(crate::types::TopicName::new("t").unwrap()));
        places.push_back(Spilled::Stored(with_topic));
        places.push_back(Spilled::Stored(marker(2, QoS::AtLeastOnce)));
        places.push_back(Spilled::Stored(marker(3, QoS::AtLeastOnce)));
        assert_eq!(places.0.as_ref().unwrap().slots.len(), 2);
        assert_eq!(seqs(&places), vec![Some(1), Some(2), Some(3)]);
    }

    #[test]
    fn a_drained_queue_gives_back_the_room_its_places_took() {
        let mut places = Places::default();
        places.set_window(Some(0), false);
        // Every other one unlike its neighbours: one slot each.
        let qos = |n: u64| {
            if n.is_multiple_of(2) {
                QoS::AtLeastOnce
            } else {
                QoS::ExactlyOnce
            }
        };
        for n in 1..=10_000 {
            places.push_back(Spilled::Stored(marker(n, qos(n))));
        }
        let room = |places: &Places| places.0.as_ref().map_or(0, |s| s.slots.capacity());
        assert!(room(&places) >= 10_000);
        for n in 1..=10_000 {
            let Some(Spilled::Stored(popped)) = places.pop_front() else {
                panic!("place {n}");
            };
            assert_eq!(popped.seq(), StoreSeq::new(n).unwrap());
        }
        assert!(room(&places) <= SHRINK_ABOVE, "{}", room(&places));
    }
}
