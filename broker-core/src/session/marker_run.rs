//! Markers of spilled copies queued one after another with the same QoS and expiry, packed:
//! the first copy's number and size, then, per copy, the difference of its number from the
//! one before (zigzag, as a varint: the store numbers a queue's copies nearly in order, so
//! one or two bytes) and its size (a varint: one to three bytes for most messages). A queue
//! of a million spilled copies keeps about 3 MB of them instead of 24.

use std::collections::VecDeque;
use std::num::NonZeroU32;

use super::places::give_back_room;
use super::spill::Marker;
use crate::types::{QoS, StoreSeq};

/// Consecutive markers with the same QoS and expiry and no topic.
#[derive(Debug, Clone)]
pub(crate) struct MarkerRun {
    qos: QoS,
    expires: Option<NonZeroU32>,
    /// The front copy's number and size.
    front: (StoreSeq, u32),
    /// The back copy's number, which the next copy's difference is taken from.
    back: StoreSeq,
    len: usize,
    /// For each copy after the front, in order: its number's difference, its size.
    packed: VecDeque<u8>,
}

impl MarkerRun {
    /// A run of `first`, to which [`push`](Self::push) adds the markers it [`fits`](Self::fits).
    pub(crate) fn new(first: &Marker) -> MarkerRun {
        MarkerRun {
            qos: first.qos,
            expires: first.expires,
            front: (first.seq, first.size),
            back: first.seq,
            len: 1,
            packed: VecDeque::new(),
        }
    }

    /// Whether `marker` can join the run: same QoS and expiry, and no topic to keep.
    pub(crate) fn fits(&self, marker: &Marker) -> bool {
        marker.qos == self.qos && marker.expires == self.expires && marker.topic.is_none()
    }

    /// Adds `marker` at the back; the caller checked that it [`fits`](Self::fits).
    pub(crate) fn push(&mut self, marker: &Marker) {
        // Both below 2^48: the difference fits an i64 either way.
        let difference = marker.seq.get().wrapping_sub(self.back.get()) as i64;
        put_varint(&mut self.packed, zigzag(difference));
        put_varint(&mut self.packed, u64::from(marker.size));
        self.back = marker.seq;
        self.len += 1;
    }

    /// The front marker.
    pub(crate) fn front(&self) -> Marker {
        self.marker(self.front)
    }

    /// Takes the front marker off; `None` when it was the last (the run is then empty and
    /// to be let go).
    pub(crate) fn pop_front(&mut self) -> Option<Marker> {
        if self.len == 1 {
            return None;
        }
        let front = self.marker(self.front);
        let mut bytes = self.packed.iter().copied();
        let (next, used) = next_copy(&mut bytes, self.front.0)?;
        self.packed.drain(..used);
        self.front = next;
        self.len -= 1;
        give_back_room(&mut self.packed);
        Some(front)
    }

    /// Every marker, front to back.
    pub(crate) fn iter(&self) -> RunIter<'_> {
        RunIter {
            run: self,
            bytes: self.packed.iter(),
            current: Some(self.front),
            left: self.len,
        }
    }

    fn marker(&self, (seq, size): (StoreSeq, u32)) -> Marker {
        Marker {
            seq,
            qos: self.qos,
            size,
            expires: self.expires,
            topic: None,
        }
    }
}

/// The markers of a run, front to back ([`MarkerRun::iter`]).
#[derive(Debug)]
pub(crate) struct RunIter<'a> {
    run: &'a MarkerRun,
    bytes: std::collections::vec_deque::Iter<'a, u8>,
    current: Option<(StoreSeq, u32)>,
    left: usize,
}

impl Iterator for RunIter<'_> {
    type Item = Marker;

    fn next(&mut self) -> Option<Marker> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let copy = self.current?;
        let mut bytes = self.bytes.by_ref().copied();
        self.current = next_copy(&mut bytes, copy.0).map(|(next, _)| next);
        Some(self.run.marker(copy))
    }
}

/// The copy after the one numbered `seq`, read from `bytes`: its number and size, and how
/// many bytes it took.
fn next_copy(
    bytes: &mut impl Iterator<Item = u8>,
    seq: StoreSeq,
) -> Option<((StoreSeq, u32), usize)> {
    let (difference, a) = get_varint(bytes)?;
    let (size, b) = get_varint(bytes)?;
    let next = StoreSeq::new(seq.get().wrapping_add(unzigzag(difference) as u64))?;
    Some(((next, u32::try_from(size).ok()?), a + b))
}

fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

fn put_varint(out: &mut VecDeque<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push_back((n as u8) | 0x80);
        n >>= 7;
    }
    out.push_back(n as u8);
}

/// A varint and how many bytes it took; `None` at the end of `bytes`.
fn get_varint(bytes: &mut impl Iterator<Item = u8>) -> Option<(u64, usize)> {
    let mut n = 0u64;
    for (i, byte) in bytes.enumerate() {
        n |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((n, i + 1));
        }
        if i >= 9 {
            return None;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marker(seq: u64, size: u32) -> Marker {
        Marker {
            seq: StoreSeq::new(seq).unwrap(),
            qos: QoS::AtLeastOnce,
            size,
            expires: None,
            topic: None,
        }
    }

    fn seqs(run: &MarkerRun) -> Vec<(u64, u32)> {
        run.iter().map(|m| (m.seq.get(), m.size)).collect()
    }

    #[test]
    fn markers_come_back_as_they_went_in_in_any_order_of_numbers() {
        let copies = [
            (100, 70),
            (101, 70),
            (250, 5_000_000),
            (180, 0),
            (StoreSeq::MAX, 1),
            (1, 300),
        ];
        let mut run = MarkerRun::new(&marker(copies[0].0, copies[0].1));
        for (seq, size) in &copies[1..] {
            run.push(&marker(*seq, *size));
        }
        assert_eq!(run.len, copies.len());
        assert_eq!(seqs(&run), copies.to_vec());
        for (seq, size) in &copies[..copies.len() - 1] {
            let front = run.pop_front().unwrap();
            assert_eq!((front.seq.get(), front.size), (*seq, *size));
        }
        assert_eq!(run.len, 1);
        assert_eq!(run.front().seq.get(), 1);
        assert!(run.pop_front().is_none(), "the last one stays");
    }

    #[test]
    fn a_run_of_close_numbers_takes_about_three_bytes_a_copy() {
        let mut run = MarkerRun::new(&marker(1, 200));
        for n in 1..100_000u64 {
            run.push(&marker(1 + n * 7, 200));
        }
        assert_eq!(run.packed.len(), 3 * 99_999);
        for _ in 0..99_990 {
            run.pop_front().unwrap();
        }
        assert!(run.packed.capacity() <= 256, "{}", run.packed.capacity());
        assert_eq!(run.front().seq.get(), 1 + 99_990 * 7);
    }

    #[test]
    fn only_markers_alike_join() {
        let run = MarkerRun::new(&marker(1, 10));
        let mut other = marker(2, 10);
        assert!(run.fits(&other));
        other.qos = QoS::ExactlyOnce;
        assert!(!run.fits(&other));
        let mut expiring = marker(2, 10);
        expiring.expires = NonZeroU32::new(5);
        assert!(!run.fits(&expiring));
    }
}
