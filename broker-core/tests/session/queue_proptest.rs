//! Property tests of the per-session [`MessageQueue`]: under random pushes, pops, expiry
//! sweeps and clock steps, the queue stays within both limits, loses no message (each one
//! pushed is popped, reported dropped, or still queued) and keeps FIFO order among the
//! survivors ([MQTT-4.6.0-5], [MQTT-4.6.0-6]); no expired message is popped ([MQTT-3.3.2-5]).
//! In spill mode (a resident window, stored copies read back from a store in pieces of any
//! size) the same holds, and the queue holds no more than its window of stored copies.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use broker_core::codec::PublishProperties;
use broker_core::session::{
    DropReason, Dropped, DroppedCopy, Message, MessageQueue, OverflowPolicy, Presence, PushOutcome,
    QueueLimits, QueuedMessage,
};
use broker_core::types::{QoS, StoreSeq, TopicName};
use bytes::Bytes;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push {
        qos: QoS,
        expiry: Option<u32>,
        payload_len: usize,
        online: bool,
        /// The store numbered it below the message pushed before it (two publishers whose
        /// copies the store numbered in one order and that reached the queue in the other).
        early: bool,
    },
    Pop,
    DrainExpired,
    Advance(u64),
    /// Reads spilled copies back, at most this many from the store.
    Refill(usize),
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![
        Just(QoS::AtMostOnce),
        Just(QoS::AtLeastOnce),
        Just(QoS::ExactlyOnce)
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (qos(), proptest::option::of(1..5u32), 0..24usize, any::<bool>(), any::<bool>()).prop_map(
            |(qos, expiry, payload_len, online, early)| Op::Push { qos, expiry, payload_len, online, early }
        ),
        3 => Just(Op::Pop),
        1 => Just(Op::DrainExpired),
        1 => (0..3u64).prop_map(Op::Advance),
        2 => (1..6usize).prop_map(Op::Refill),
    ]
}

fn limits() -> impl Strategy<Value = QueueLimits> {
    (
        0..8usize,
        0..80usize,
        any::<bool>(),
        prop_oneof![
            Just(OverflowPolicy::DropOldest),
            Just(OverflowPolicy::DropNewest),
            Just(OverflowPolicy::Disconnect)
        ],
    )
        .prop_map(|(max_messages, max_bytes, queue_qos0, overflow)| {
            let mut limits = QueueLimits::default();
            limits.max_messages = max_messages;
            limits.max_bytes = max_bytes;
            limits.queue_qos0 = queue_qos0;
            limits.overflow = overflow;
            limits
        })
}

/// The message's sequence number, carried in the first 4 bytes of the payload's prefix.
fn seq(m: &QueuedMessage) -> u32 {
    let p = &m.message.payload;
    u32::from_be_bytes([p[0], p[1], p[2], p[3]])
}

/// The store number of the `n`th message pushed: in push order, or `early`, below the one of
/// the message pushed before it.
fn store_number(n: u32, early: bool) -> u64 {
    let number = 1024 + 16 * u64::from(n);
    if early {
        number - 24
    } else {
        number
    }
}

/// The push sequence number of the copy the store numbered `number`.
fn pushed_as(number: u64) -> u32 {
    let early = if number % 16 == 8 { 24 } else { 0 };
    u32::try_from((number + early - 1024) / 16).unwrap()
}

/// The sequence number of a dropped copy.
fn dropped_seq(d: &Dropped) -> u32 {
    match &d.copy {
        DroppedCopy::Held(m) => seq(m),
        DroppedCopy::Spilled(c) => pushed_as(c.seq.get()),
    }
}

fn message(n: u32, qos: QoS, expiry: Option<u32>, extra: usize, now: Instant) -> QueuedMessage {
    let mut payload = n.to_be_bytes().to_vec();
    payload.resize(4 + extra, 0);
    let properties = PublishProperties {
        message_expiry_interval: expiry,
        ..PublishProperties::default()
    };
    let topic = TopicName::new("a/b").unwrap();
    let m = Message::new(topic, Bytes::from(payload), qos, false, properties, now);
    QueuedMessage::new(m, QoS::ExactlyOnce, false, Vec::new())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn bounded_conserving_fifo(
        limits in limits(),
        window in proptest::option::of(0..4usize),
        topics in any::<bool>(),
        ops in proptest::collection::vec(op(), 0..80),
    ) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut q = MessageQueue::new(limits);
        q.set_resident(window, topics);
        // The store: every stored copy pushed, never forgotten (the queue must skip what it
        // let go); and the model of the queue, in order, with each message's size.
        let mut store: BTreeMap<u64, QueuedMessage> = BTreeMap::new();
        let mut model: VecDeque<u32> = VecDeque::new();
        let mut sizes: HashMap<u32, usize> = HashMap::new();
        let mut next = 0u32;
        let mut pushed = HashSet::new();
        let mut popped = Vec::new();
        let mut dropped: Vec<Dropped> = Vec::new();
        for op in ops {
            let before: Vec<u32> = model.iter().copied().collect();
            let dropped_before = dropped.len();
            match op {
                Op::Push { qos, expiry, payload_len, online, early } => {
                    let mut m = message(next, qos, expiry, payload_len, now);
                    // QoS 1 and 2 copies are stored.
                    if qos != QoS::AtMostOnce {
                        let number = store_number(next, early && next > 1);
                        m.stored = StoreSeq::new(number);
                        store.insert(number, m.clone());
                    }
                    sizes.insert(next, m.size());
                    pushed.insert(next);
                    next += 1;
                    let presence = if online { Presence::Online } else { Presence::Offline };
                    match q.push(m, presence, now) {
                        PushOutcome::Queued { evicted } => {
                            model.push_back(next - 1);
                            for d in &evicted {
                                prop_assert!(matches!(
                                    (d.reason, limits.overflow),
                                    (DropReason::Expired, _)
                                        | (DropReason::QueueFull, OverflowPolicy::DropOldest)
                                ));
                                if d.reason == DropReason::Expired {
                                    let expired = match &d.copy {
                                        DroppedCopy::Held(m) => m.message.is_expired(now),
                                        DroppedCopy::Spilled(c) => c.is_expired(now),
                                    };
                                    prop_assert!(expired);
                                }
                            }
                            dropped.extend(evicted);
                        }
                        PushOutcome::Dropped(d) => {
                            prop_assert_eq!(dropped_seq(&d), next - 1);
                            // A refused push leaves the queue unchanged.
                            prop_assert_eq!(q.len(), before.len());
                            if d.reason == DropReason::Qos0NotQueued {
                                prop_assert!(!online && !limits.queue_qos0 && qos == QoS::AtMostOnce);
                            }
                            dropped.push(d);
                        }
                        PushOutcome::DisconnectRequired(m) => {
                            prop_assert_eq!(limits.overflow, OverflowPolicy::Disconnect);
                            prop_assert_eq!(seq(&m), next - 1);
                            prop_assert_eq!(q.len(), before.len());
                            dropped.push(Dropped::held(m, DropReason::QueueFull));
                        }
                    }
                }
                Op::Pop => match q.pop(now, &mut dropped) {
                    Some(m) => {
                        // [MQTT-3.3.2-5]: no expired message is handed out.
                        prop_assert!(!m.message.is_expired(now));
                        popped.push(seq(&m));
                        let removed: Vec<u32> = dropped[dropped_before..].iter().map(dropped_seq).collect();
                        model.retain(|n| !removed.contains(n));
                        prop_assert_eq!(model.pop_front(), Some(seq(&m)));
                    }
                    // Nothing held: the queue is empty, or its next copy is in the store.
                    None => prop_assert!(q.front().is_none()),
                },
                Op::DrainExpired => q.drain_expired(now, &mut dropped),
                Op::Advance(secs) => now += Duration::from_secs(secs),
                Op::Refill(limit) => {
                    // A read of the first `limit` copies due.
                    let mut wanted = q.to_read_back();
                    wanted.truncate(limit);
                    let loaded: Vec<QueuedMessage> =
                        wanted.iter().filter_map(|seq| store.get(&seq.get()).cloned()).collect();
                    let refilled = q.refill(loaded, &wanted);
                    prop_assert!(refilled.missing.is_empty());
                    prop_assert!(wanted.is_empty() || refilled.restored > 0);
                }
            }
            // What was dropped leaves the model; the rest keeps its order.
            let removed: HashSet<u32> = dropped[dropped_before..].iter().map(dropped_seq).collect();
            model.retain(|n| !removed.contains(n));
            // Both limits hold, and `bytes` is the sum of the queued sizes.
            prop_assert!(q.len() <= limits.max_messages);
            prop_assert!(q.bytes() <= limits.max_bytes);
            prop_assert_eq!(q.len(), model.len());
            prop_assert_eq!(q.bytes(), model.iter().map(|n| sizes[n]).sum::<usize>());
            prop_assert_eq!(q.is_empty(), model.is_empty());
            // What the queue holds in memory is in the model's order; in spill mode it holds
            // at most its window, and the copies the store does not have.
            let held: Vec<u32> = q.iter().map(seq).collect();
            let mut in_model = model.iter();
            prop_assert!(held.iter().all(|n| in_model.any(|m| m == n)));
            prop_assert_eq!(q.len(), held.len() + q.spilled());
            if let Some(window) = window {
                // Whether the client was online or not when they came.
                let stored_held = q.iter().filter(|m| m.stored.is_some()).count();
                prop_assert!(stored_held <= window.max(1));
            }
        }
        // The queue still drains, in order, reading its spilled copies back as it goes.
        let left: Vec<u32> = model.iter().copied().collect();
        let mut drained = Vec::new();
        loop {
            match q.pop(now, &mut dropped) {
                Some(m) => drained.push(seq(&m)),
                None => match q.to_read_back() {
                    wanted if !wanted.is_empty() => {
                        let loaded =
                            wanted.iter().filter_map(|seq| store.get(&seq.get()).cloned());
                        let refilled = q.refill(loaded.collect(), &wanted);
                        prop_assert!(refilled.missing.is_empty());
                        // Each read back makes progress.
                        prop_assert!(refilled.restored > 0);
                    }
                    _ => break,
                },
            }
        }
        prop_assert!(q.is_empty());
        prop_assert_eq!(q.bytes(), 0);
        let removed: HashSet<u32> = dropped.iter().map(dropped_seq).collect();
        let expected: Vec<u32> = left.into_iter().filter(|n| !removed.contains(n)).collect();
        prop_assert_eq!(&drained, &expected);
        // FIFO: messages were popped in push order, and before anything still queued.
        prop_assert!(popped.windows(2).all(|w| w[0] < w[1]));
        let queued: Vec<u32> = drained;
        if let (Some(last), Some(first)) = (popped.last(), queued.first()) {
            prop_assert!(last < first);
        }
        // Conservation: every pushed message is in exactly one of popped, dropped, queued.
        let mut seen = HashSet::new();
        let all = popped
            .iter()
            .copied()
            .chain(dropped.iter().map(dropped_seq))
            .chain(queued.iter().copied());
        for n in all {
            prop_assert!(seen.insert(n), "message {} accounted twice", n);
        }
        prop_assert_eq!(seen, pushed);
    }
}
