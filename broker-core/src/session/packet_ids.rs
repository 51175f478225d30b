//! Packet identifiers the server assigns.

use crate::types::PacketId;

/// 65,536 bits, one per 16-bit value; bit 0 (the invalid id 0) is never set.
const WORDS: usize = 1 << 10;

/// The packet identifiers in use on one session, and the choice of the next free one.
///
/// Each time the server sends a new PUBLISH with QoS > 0 it must assign it a non-zero Packet
/// Identifier that is currently unused ([MQTT-2.2.1-4]; 3.1.1: [MQTT-2.3.1-1]); an identifier
/// becomes free again when its exchange completes (PUBACK, PUBCOMP, or a PUBREC with an error
/// code). A bitset records the identifiers in use and a cursor walks forward from the last one
/// handed out, wrapping from 65,535 to 1, so ids are reused as late as possible and allocation
/// is O(1) amortized: it skips whole words of used ids at a time.
///
/// The bitset (8 KiB) is allocated on the first identifier taken: most sessions never send a
/// QoS 1 or QoS 2 message, and an idle connection should not pay for one.
#[derive(Clone)]
pub struct PacketIdAllocator {
    /// The bitset, once an identifier was taken.
    used: Option<Box<[u64; WORDS]>>,
    in_use: usize,
    /// The id tried first by the next allocation.
    cursor: PacketId,
}

impl PacketIdAllocator {
    /// The number of packet identifiers there are: 1 to 65,535.
    pub const CAPACITY: usize = u16::MAX as usize;

    /// An allocator with every identifier free.
    #[must_use]
    pub fn new() -> Self {
        PacketIdAllocator {
            used: None,
            in_use: 0,
            cursor: PacketId::MIN,
        }
    }

    /// An allocator with every identifier free whose next allocation tries `cursor` first
    /// (an idle allocator rebuilt from its [`cursor`](Self::cursor)).
    pub(crate) fn starting_at(cursor: PacketId) -> Self {
        PacketIdAllocator {
            cursor,
            ..PacketIdAllocator::new()
        }
    }

    /// The identifier the next allocation tries first.
    pub(crate) fn cursor(&self) -> PacketId {
        self.cursor
    }

    /// How many identifiers are in use.
    #[must_use]
    pub fn in_use(&self) -> usize {
        self.in_use
    }

    /// Whether `id` is in use.
    #[must_use]
    pub fn is_used(&self, id: PacketId) -> bool {
        let (word, bit) = position(id);
        self.used
            .as_deref()
            .and_then(|used| used.get(word))
            .is_some_and(|w| w & bit != 0)
    }

    /// Takes a free identifier and marks it in use; `None` when all 65,535 are in use.
    pub fn allocate(&mut self) -> Option<PacketId> {
        if self.in_use >= Self::CAPACITY {
            return None;
        }
        let start = usize::from(self.cursor.get());
        // Two passes over the words: from the cursor to the end, then from the start.
        let mut index = start;
        // At most: the words from the cursor, one step to wrap, the words up to and
        // including the cursor's word again.
        for _ in 0..WORDS + 2 {
            let word = index / 64;
            let Some(&bits) = self.bits().get(word) else {
                index = 0;
                continue;
            };
            // Free bits of this word at or after `index`, ignoring id 0.
            let mut free = !bits & (u64::MAX << (index % 64));
            if word == 0 {
                free &= !1;
            }
            if free != 0 {
                let value = word * 64 + free.trailing_zeros() as usize;
                let id = u16::try_from(value)
                    .ok()
                    .and_then(|v| PacketId::new(v).ok())?;
                self.mark(id);
                self.cursor = id.next();
                return Some(id);
            }
            index = (word + 1) * 64;
        }
        None
    }

    /// Marks `id` in use, as when restoring a session's in-flight messages. Returns `false`
    /// (and changes nothing) if it already was.
    pub fn mark_used(&mut self, id: PacketId) -> bool {
        if self.is_used(id) {
            return false;
        }
        self.mark(id);
        true
    }

    /// Frees `id` once its exchange is complete. Returns `false` if it was not in use.
    pub fn release(&mut self, id: PacketId) -> bool {
        let (word, bit) = position(id);
        match self.used.as_deref_mut().and_then(|used| used.get_mut(word)) {
            Some(w) if *w & bit != 0 => {
                *w &= !bit;
                self.in_use -= 1;
                true
            }
            _ => false,
        }
    }

    /// The bitset, allocated if it is not there yet.
    fn bits(&mut self) -> &mut [u64; WORDS] {
        self.used.get_or_insert_with(|| Box::new([0; WORDS]))
    }

    fn mark(&mut self, id: PacketId) {
        let (word, bit) = position(id);
        if let Some(w) = self.bits().get_mut(word) {
            *w |= bit;
            self.in_use += 1;
        }
    }
}

fn position(id: PacketId) -> (usize, u64) {
    let value = usize::from(id.get());
    (value / 64, 1 << (value % 64))
}

impl Default for PacketIdAllocator {
    fn default() -> Self {
        PacketIdAllocator::new()
    }
}

impl std::fmt::Debug for PacketIdAllocator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PacketIdAllocator")
            .field("in_use", &self.in_use)
            .field("cursor", &self.cursor)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(value: u16) -> PacketId {
        PacketId::new(value).unwrap()
    }

    #[test]
    fn ids_are_non_zero_and_sequential_mqtt_2_2_1_4() {
        // [MQTT-2.2.1-4]: a non-zero identifier that is currently unused.
        let mut ids = PacketIdAllocator::new();
        assert_eq!(ids.allocate(), Some(id(1)));
        assert_eq!(ids.allocate(), Some(id(2)));
        assert_eq!(ids.in_use(), 2);
        assert!(ids.release(id(1)));
        assert!(!ids.release(id(1)));
        // Freed ids are reused only after the cursor wraps.
        assert_eq!(ids.allocate(), Some(id(3)));
    }

    #[test]
    fn the_bitset_is_allocated_on_first_use() {
        let mut ids = PacketIdAllocator::new();
        assert!(ids.used.is_none());
        assert!(!ids.is_used(id(1)));
        assert!(!ids.release(id(1)));
        assert!(ids.used.is_none());
        assert!(ids.mark_used(id(7)));
        assert!(ids.used.is_some());
        assert!(ids.is_used(id(7)));
        let mut fresh = PacketIdAllocator::new();
        assert_eq!(fresh.allocate(), Some(id(1)));
        assert!(fresh.is_used(id(1)));
    }

    #[test]
    fn wraps_around_and_skips_ids_in_use() {
        let mut ids = PacketIdAllocator::new();
        assert!(ids.mark_used(id(1)));
        assert!(!ids.mark_used(id(1)));
        ids.cursor = id(65_534);
        assert_eq!(ids.allocate(), Some(id(65_534)));
        assert_eq!(ids.allocate(), Some(id(65_535)));
        // 1 is in use: the next free one after wrapping is 2.
        assert_eq!(ids.allocate(), Some(id(2)));
    }

    #[test]
    fn none_when_all_ids_are_in_use() {
        let mut ids = PacketIdAllocator::new();
        for expected in 1..=u16::MAX {
            assert_eq!(ids.allocate(), Some(id(expected)));
        }
        assert_eq!(ids.in_use(), PacketIdAllocator::CAPACITY);
        assert_eq!(ids.allocate(), None);
        assert!(ids.release(id(40_000)));
        assert_eq!(ids.allocate(), Some(id(40_000)));
        assert_eq!(ids.allocate(), None);
    }
}
