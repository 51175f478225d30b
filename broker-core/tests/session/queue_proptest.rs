//! Property tests of the per-session [`MessageQueue`]: under random pushes, pops, expiry
//! sweeps and clock steps, the queue stays within both limits, loses no message (each one
//! pushed is popped, reported dropped, or still queued) and keeps FIFO order among the
//! survivors ([MQTT-4.6.0-5], [MQTT-4.6.0-6]); no expired message is popped ([MQTT-3.3.2-5]).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use broker_core::codec::PublishProperties;
use broker_core::session::{
    DropReason, Dropped, Message, MessageQueue, OverflowPolicy, Presence, PushOutcome, QueueLimits,
    QueuedMessage,
};
use broker_core::types::{QoS, TopicName};
use bytes::Bytes;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    Push {
        qos: QoS,
        expiry: Option<u32>,
        payload_len: usize,
        online: bool,
    },
    Pop,
    DrainExpired,
    Advance(u64),
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
        6 => (qos(), proptest::option::of(1..5u32), 0..24usize, any::<bool>()).prop_map(
            |(qos, expiry, payload_len, online)| Op::Push { qos, expiry, payload_len, online }
        ),
        3 => Just(Op::Pop),
        1 => Just(Op::DrainExpired),
        1 => (0..3u64).prop_map(Op::Advance),
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
        .prop_map(
            |(max_messages, max_bytes, queue_qos0, overflow)| QueueLimits {
                max_messages,
                max_bytes,
                queue_qos0,
                overflow,
            },
        )
}

/// The message's sequence number, carried in the first 4 bytes of the payload's prefix.
fn seq(m: &QueuedMessage) -> u32 {
    let p = &m.message.payload;
    u32::from_be_bytes([p[0], p[1], p[2], p[3]])
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
    fn bounded_conserving_fifo(limits in limits(), ops in proptest::collection::vec(op(), 0..80)) {
        let t0 = Instant::now();
        let mut now = t0;
        let mut q = MessageQueue::new(limits);
        let mut next = 0u32;
        let mut pushed = HashSet::new();
        let mut popped = Vec::new();
        let mut dropped: Vec<Dropped> = Vec::new();
        for op in ops {
            let before: Vec<u32> = q.iter().map(seq).collect();
            match op {
                Op::Push { qos, expiry, payload_len, online } => {
                    let m = message(next, qos, expiry, payload_len, now);
                    pushed.insert(next);
                    next += 1;
                    let presence = if online { Presence::Online } else { Presence::Offline };
                    match q.push(m, presence, now) {
                        PushOutcome::Queued { evicted } => {
                            prop_assert_eq!(q.iter().last().map(seq), Some(next - 1));
                            for d in &evicted {
                                prop_assert!(matches!(
                                    (d.reason, limits.overflow),
                                    (DropReason::Expired, _)
                                        | (DropReason::QueueFull, OverflowPolicy::DropOldest)
                                ));
                                if d.reason == DropReason::Expired {
                                    prop_assert!(d.message.message.is_expired(now));
                                }
                            }
                            dropped.extend(evicted);
                        }
                        PushOutcome::Dropped(d) => {
                            prop_assert_eq!(seq(&d.message), next - 1);
                            // A refused push leaves the queue unchanged.
                            prop_assert_eq!(&q.iter().map(seq).collect::<Vec<_>>(), &before);
                            if d.reason == DropReason::Qos0NotQueued {
                                prop_assert!(!online && !limits.queue_qos0 && qos == QoS::AtMostOnce);
                            }
                            dropped.push(d);
                        }
                        PushOutcome::DisconnectRequired(m) => {
                            prop_assert_eq!(limits.overflow, OverflowPolicy::Disconnect);
                            prop_assert_eq!(seq(&m), next - 1);
                            prop_assert_eq!(&q.iter().map(seq).collect::<Vec<_>>(), &before);
                            dropped.push(Dropped { message: m, reason: DropReason::QueueFull });
                        }
                    }
                }
                Op::Pop => {
                    if let Some(m) = q.pop(now, &mut dropped) {
                        // [MQTT-3.3.2-5]: no expired message is handed out.
                        prop_assert!(!m.message.is_expired(now));
                        popped.push(seq(&m));
                    }
                }
                Op::DrainExpired => {
                    q.drain_expired(now, &mut dropped);
                    prop_assert!(q.iter().all(|m| !m.message.is_expired(now)));
                }
                Op::Advance(secs) => now += Duration::from_secs(secs),
            }
            // Both limits hold, and `bytes` is the sum of the queued sizes.
            prop_assert!(q.len() <= limits.max_messages);
            prop_assert!(q.bytes() <= limits.max_bytes);
            prop_assert_eq!(q.bytes(), q.iter().map(QueuedMessage::size).sum::<usize>());
            prop_assert_eq!(q.len(), q.iter().count());
            prop_assert_eq!(q.is_empty(), q.iter().next().is_none());
            // The survivors keep the order they were pushed in.
            let survivors: Vec<u32> = q.iter().map(seq).collect();
            prop_assert!(survivors.windows(2).all(|w| w[0] < w[1]));
        }
        // FIFO: messages were popped in push order, and before anything still queued.
        prop_assert!(popped.windows(2).all(|w| w[0] < w[1]));
        let queued: Vec<u32> = q.iter().map(seq).collect();
        if let (Some(last), Some(first)) = (popped.last(), queued.first()) {
            prop_assert!(last < first);
        }
        // Conservation: every pushed message is in exactly one of popped, dropped, queued.
        let mut seen = HashSet::new();
        let all = popped
            .iter()
            .copied()
            .chain(dropped.iter().map(|d| seq(&d.message)))
            .chain(queued.iter().copied());
        for n in all {
            prop_assert!(seen.insert(n), "message {} accounted twice", n);
        }
        prop_assert_eq!(seen, pushed);
    }
}
