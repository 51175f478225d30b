//! Unit tests of [`MessageQueue`].

use std::time::Duration;

use bytes::Bytes;

use super::*;
use crate::codec::PublishProperties;
use crate::types::{MqttString, TopicName, UserProperty};

/// A QoS 1 copy of a message whose payload is `tag`; size = payload (1) + topic (1).
fn msg(tag: u8, t0: Instant) -> QueuedMessage {
    msg_with(tag, QoS::AtLeastOnce, None, t0)
}

fn msg_with(tag: u8, qos: QoS, expiry: Option<u32>, t0: Instant) -> QueuedMessage {
    let properties = PublishProperties {
        message_expiry_interval: expiry,
        ..PublishProperties::default()
    };
    let topic = TopicName::new("t").unwrap();
    let message = Message::new(topic, Bytes::from(vec![tag]), qos, false, properties, t0);
    QueuedMessage::new(message, QoS::ExactlyOnce, false, Vec::new())
}

fn limits(max_messages: usize, max_bytes: usize, overflow: OverflowPolicy) -> QueueLimits {
    QueueLimits {
        max_messages,
        max_bytes,
        queue_qos0: false,
        overflow,
    }
}

fn tag(m: &QueuedMessage) -> u8 {
    m.message.payload[0]
}

fn tags(dropped: &[Dropped]) -> Vec<(u8, DropReason)> {
    dropped
        .iter()
        .map(|d| (d.copy.held().map_or(0, tag), d.reason))
        .collect()
}

fn queued(q: &MessageQueue) -> Vec<u8> {
    q.iter().map(tag).collect()
}

fn push(q: &mut MessageQueue, m: QueuedMessage, now: Instant) -> PushOutcome {
    q.push(m, Presence::Offline, now)
}

fn assert_queued(outcome: PushOutcome) {
    assert_eq!(outcome, PushOutcome::Queued { evicted: vec![] });
}

#[test]
fn defaults_are_documented_values() {
    let d = QueueLimits::default();
    assert_eq!(d.max_messages, 1000);
    assert_eq!(d.max_bytes, 16 * 1024 * 1024);
    assert!(!d.queue_qos0);
    assert_eq!(d.overflow, OverflowPolicy::DropNewest);
}

#[test]
fn fifo_order_mqtt_4_6_0_5() {
    // [MQTT-4.6.0-5], [MQTT-4.6.0-6]: messages leave in the order they were pushed.
    let t0 = Instant::now();
    let mut q = MessageQueue::new(QueueLimits::default());
    for i in 0..10 {
        assert_queued(push(&mut q, msg(i, t0), t0));
    }
    assert_eq!((q.len(), q.bytes()), (10, 20));
    assert_eq!(q.front().map(tag), Some(0));
    let mut expired = Vec::new();
    let popped: Vec<u8> = std::iter::from_fn(|| q.pop(t0, &mut expired))
        .map(|m| tag(&m))
        .collect();
    assert_eq!(popped, (0..10).collect::<Vec<_>>());
    assert!(expired.is_empty());
    assert!(q.is_empty());
    assert_eq!(q.bytes(), 0);
}

#[test]
fn drop_newest_on_count_limit() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(limits(2, 100, OverflowPolicy::DropNewest));
    assert_queued(push(&mut q, msg(1, t0), t0));
    assert_queued(push(&mut q, msg(2, t0), t0));
    let PushOutcome::Dropped(d) = push(&mut q, msg(3, t0), t0) else {
        panic!("not dropped");
    };
    assert_eq!(
        (d.copy.held().map_or(0, tag), d.reason),
        (3, DropReason::QueueFull)
    );
    assert_eq!(queued(&q), [1, 2]);
}

#[test]
fn drop_newest_on_byte_limit() {
    let t0 = Instant::now();
    // Each message counts 2 bytes: three fit in 6, not four.
    let mut q = MessageQueue::new(limits(100, 6, OverflowPolicy::DropNewest));
    for i in 0..3 {
        assert_queued(push(&mut q, msg(i, t0), t0));
    }
    assert_eq!(q.bytes(), 6);
    assert!(matches!(
        push(&mut q, msg(3, t0), t0),
        PushOutcome::Dropped(Dropped {
            reason: DropReason::QueueFull,
            ..
        })
    ));
    assert_eq!(queued(&q), [0, 1, 2]);
}

#[test]
fn drop_oldest_evicts_until_the_new_message_fits() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(limits(3, 8, OverflowPolicy::DropOldest));
    for i in 0..3 {
        assert_queued(push(&mut q, msg(i, t0), t0));
    }
    // Count limit: one eviction.
    let PushOutcome::Queued { evicted } = push(&mut q, msg(3, t0), t0) else {
        panic!("not queued");
    };
    assert_eq!(tags(&evicted), [(0, DropReason::QueueFull)]);
    assert_eq!(queued(&q), [1, 2, 3]);
    // Byte limit: a 6-byte message (5 payload + 1 topic) needs two evictions (6 + 2 <= 8).
    let mut big = msg(9, t0);
    big.message.payload = Bytes::from_static(&[9, 9, 9, 9, 9]);
    let PushOutcome::Queued { evicted } = push(&mut q, big, t0) else {
        panic!("not queued");
    };
    assert_eq!(
        tags(&evicted),
        [(1, DropReason::QueueFull), (2, DropReason::QueueFull)]
    );
    assert_eq!(queued(&q), [3, 9]);
    assert_eq!(q.bytes(), 8);
}

#[test]
fn disconnect_policy_leaves_the_queue_unchanged() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(limits(1, 100, OverflowPolicy::Disconnect));
    assert_queued(push(&mut q, msg(1, t0), t0));
    let PushOutcome::DisconnectRequired(m) = push(&mut q, msg(2, t0), t0) else {
        panic!("no disconnect");
    };
    assert_eq!(tag(&m), 2);
    assert_eq!(queued(&q), [1]);
}

#[test]
fn too_large_for_any_policy() {
    let t0 = Instant::now();
    for policy in [
        OverflowPolicy::DropOldest,
        OverflowPolicy::DropNewest,
        OverflowPolicy::Disconnect,
    ] {
        let mut q = MessageQueue::new(limits(10, 3, policy));
        assert_queued(push(&mut q, msg(1, t0), t0));
        let mut big = msg(2, t0);
        big.message.payload = Bytes::from_static(b"four");
        assert!(matches!(
            push(&mut q, big, t0),
            PushOutcome::Dropped(Dropped {
                reason: DropReason::TooLarge,
                ..
            })
        ));
        assert_eq!(queued(&q), [1], "{policy:?}");
    }
}

#[test]
fn zero_count_limit_queues_nothing() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(limits(0, 100, OverflowPolicy::DropOldest));
    assert!(matches!(
        push(&mut q, msg(1, t0), t0),
        PushOutcome::Dropped(Dropped {
            reason: DropReason::QueueFull,
            ..
        })
    ));
    assert!(q.is_empty());
}

#[test]
fn qos0_offline_follows_queue_qos0() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(QueueLimits::default());
    let qos0 = || msg_with(1, QoS::AtMostOnce, None, t0);
    assert!(matches!(
        q.push(qos0(), Presence::Offline, t0),
        PushOutcome::Dropped(Dropped {
            reason: DropReason::Qos0NotQueued,
            ..
        })
    ));
    // Online (the window is full or messages wait ahead of it): queued.
    assert_queued(q.push(qos0(), Presence::Online, t0));
    let mut q = MessageQueue::new(QueueLimits {
        queue_qos0: true,
        ..QueueLimits::default()
    });
    assert_queued(q.push(qos0(), Presence::Offline, t0));
    // A QoS 1 message to a QoS 0 subscription is delivered at QoS 0.
    let mut q = MessageQueue::new(QueueLimits::default());
    let mut downgraded = msg(2, t0);
    downgraded = QueuedMessage::new(downgraded.message, QoS::AtMostOnce, false, vec![]);
    assert_eq!(downgraded.qos, QoS::AtMostOnce);
    assert!(matches!(
        q.push(downgraded, Presence::Offline, t0),
        PushOutcome::Dropped(Dropped {
            reason: DropReason::Qos0NotQueued,
            ..
        })
    ));
}

#[test]
fn expired_messages_are_skipped_at_pop_mqtt_3_3_2_5() {
    // [MQTT-3.3.2-5]: an expired copy is deleted, not sent, and reported.
    let t0 = Instant::now();
    let mut q = MessageQueue::new(QueueLimits::default());
    assert_queued(push(&mut q, msg_with(1, QoS::AtLeastOnce, Some(5), t0), t0));
    assert_queued(push(
        &mut q,
        msg_with(2, QoS::AtLeastOnce, Some(50), t0),
        t0,
    ));
    assert_queued(push(&mut q, msg_with(3, QoS::AtLeastOnce, Some(5), t0), t0));
    let later = t0 + Duration::from_secs(5);
    let mut expired = Vec::new();
    assert_eq!(q.pop(later, &mut expired).map(|m| tag(&m)), Some(2));
    assert_eq!(tags(&expired), [(1, DropReason::Expired)]);
    assert_eq!(q.pop(later, &mut expired).map(|m| tag(&m)), None);
    assert_eq!(
        tags(&expired),
        [(1, DropReason::Expired), (3, DropReason::Expired)]
    );
    assert_eq!((q.len(), q.bytes()), (0, 0));
}

#[test]
fn expired_on_push_is_dropped() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(QueueLimits::default());
    let m = msg_with(1, QoS::AtLeastOnce, Some(1), t0);
    assert!(matches!(
        push(&mut q, m, t0 + Duration::from_secs(1)),
        PushOutcome::Dropped(Dropped {
            reason: DropReason::Expired,
            ..
        })
    ));
}

#[test]
fn drain_expired_keeps_the_order_of_the_rest() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(QueueLimits::default());
    for (i, expiry) in [None, Some(2), None, Some(9), Some(1)]
        .into_iter()
        .enumerate()
    {
        let i = u8::try_from(i).unwrap();
        assert_queued(push(&mut q, msg_with(i, QoS::AtLeastOnce, expiry, t0), t0));
    }
    let mut expired = Vec::new();
    q.drain_expired(t0 + Duration::from_millis(999), &mut expired);
    assert!(expired.is_empty());
    q.drain_expired(t0 + Duration::from_secs(2), &mut expired);
    assert_eq!(
        tags(&expired),
        [(1, DropReason::Expired), (4, DropReason::Expired)]
    );
    assert_eq!(queued(&q), [0, 2, 3]);
    // 2 + 2 + (2 + 5 for the Message Expiry Interval of message 3).
    assert_eq!(q.bytes(), 11);
}

#[test]
fn full_queue_makes_room_by_removing_expired_messages() {
    let t0 = Instant::now();
    let later = t0 + Duration::from_secs(10);
    for policy in [OverflowPolicy::DropNewest, OverflowPolicy::Disconnect] {
        let mut q = MessageQueue::new(limits(2, 100, policy));
        assert_queued(push(&mut q, msg(1, t0), t0));
        assert_queued(push(
            &mut q,
            msg_with(2, QoS::AtLeastOnce, Some(10), t0),
            t0,
        ));
        let PushOutcome::Queued { evicted } = push(&mut q, msg(3, t0), later) else {
            panic!("not queued under {policy:?}");
        };
        assert_eq!(tags(&evicted), [(2, DropReason::Expired)]);
        assert_eq!(queued(&q), [1, 3]);
    }
    // DropOldest removes expired messages before live ones.
    let mut q = MessageQueue::new(limits(2, 100, OverflowPolicy::DropOldest));
    assert_queued(push(&mut q, msg(1, t0), t0));
    assert_queued(push(
        &mut q,
        msg_with(2, QoS::AtLeastOnce, Some(10), t0),
        t0,
    ));
    let PushOutcome::Queued { evicted } = push(&mut q, msg(3, t0), later) else {
        panic!("not queued");
    };
    assert_eq!(tags(&evicted), [(2, DropReason::Expired)]);
    assert_eq!(queued(&q), [1, 3]);
}

#[test]
fn push_keeps_the_message_as_given() {
    // The runtime detaches once per published message; the queue does not copy again.
    let t0 = Instant::now();
    let mut q = MessageQueue::new(QueueLimits::default());
    let m = msg(0, t0);
    let original = m.message.payload.as_ptr();
    assert_queued(push(&mut q, m, t0));
    assert_eq!(q.front().unwrap().message.payload.as_ptr(), original);
}

#[test]
fn has_room_says_whether_the_policy_would_act() {
    let t0 = Instant::now();
    let limits = QueueLimits {
        max_messages: 2,
        ..QueueLimits::default()
    };
    let mut q = MessageQueue::new(limits);
    assert!(q.has_room(&msg(0, t0)));
    assert_queued(push(&mut q, msg(0, t0), t0));
    assert!(q.has_room(&msg(1, t0)));
    assert_queued(push(&mut q, msg(1, t0), t0));
    assert!(!q.has_room(&msg(2, t0)));
}

#[test]
fn size_counts_payload_topic_and_properties() {
    let t0 = Instant::now();
    let mut m = msg(0, t0);
    assert_eq!(m.size(), 2);
    m.message.properties.message_expiry_interval = Some(1);
    m.message.properties.correlation_data = Some(Bytes::from_static(b"abcd"));
    m.message.properties.user_properties = vec![UserProperty::new(
        MqttString::new("k").unwrap(),
        MqttString::new("vv").unwrap(),
    )];
    m.subscription_ids = vec![SubscriptionId::new(1).unwrap()];
    // 2 + expiry 5 + correlation 3+4 + user property 1+2+1+2+2 + subscription id 5.
    assert_eq!(m.size(), 2 + 5 + 7 + 8 + 5);
}

#[test]
fn drain_empties_the_queue() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(QueueLimits::default());
    for i in 0..3 {
        assert_queued(push(&mut q, msg(i, t0), t0));
    }
    let all: Vec<u8> = q.drain().map(|m| tag(&m)).collect();
    assert_eq!(all, [0, 1, 2]);
    assert_eq!((q.len(), q.bytes()), (0, 0));
}

#[test]
fn push_front_keeps_order_and_accounting_mqtt_4_6_0_5() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(limits(2, usize::MAX, OverflowPolicy::DropNewest));
    assert_queued(push(&mut q, msg(0, t0), t0));
    assert_queued(push(&mut q, msg(1, t0), t0));
    let mut expired = Vec::new();
    let first = q.pop(t0, &mut expired).unwrap();
    assert_eq!((q.len(), q.bytes()), (1, 2));
    q.push_front(first);
    assert_eq!(queued(&q), [0, 1]);
    assert_eq!((q.len(), q.bytes()), (2, 4));
    // Full again: the limit still holds for new messages.
    assert!(matches!(
        push(&mut q, msg(2, t0), t0),
        PushOutcome::Dropped(Dropped {
            reason: DropReason::QueueFull,
            ..
        })
    ));
}

#[test]
fn push_front_message_still_expires_mqtt_3_3_2_5() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(QueueLimits::default());
    q.push_front(msg_with(7, QoS::AtLeastOnce, Some(1), t0));
    let mut expired = Vec::new();
    assert!(q.pop(t0 + Duration::from_secs(1), &mut expired).is_none());
    assert_eq!(tags(&expired), [(7, DropReason::Expired)]);
    assert_eq!((q.len(), q.bytes()), (0, 0));
}

#[test]
fn extract_takes_matching_messages_and_keeps_the_rest_in_order() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(QueueLimits::default());
    let group = crate::types::TopicFilter::new("$share/g/t").unwrap();
    for i in 0..5 {
        let m = msg(i, t0);
        let m = if i % 2 == 0 {
            m.through_shared(Some(group.clone()))
        } else {
            m
        };
        assert_queued(push(&mut q, m, t0));
    }
    let taken: Vec<u8> = q
        .extract(|m| m.shared.as_ref() == Some(&group))
        .iter()
        .map(tag)
        .collect();
    assert_eq!(taken, [0, 2, 4]);
    assert_eq!(queued(&q), [1, 3]);
    assert_eq!((q.len(), q.bytes()), (2, 4));
    assert!(q.extract(|m| m.shared.is_some()).is_empty());
}

/// Every queue move copies a `QueuedMessage` (memmove is a fifth of a fan-out's CPU): the
/// store number rides in its padding (`StoreSeq`, six bytes) and it stays 312 bytes.
#[test]
fn a_queued_message_stays_312_bytes() {
    if cfg!(target_pointer_width = "64") {
        assert!(std::mem::size_of::<QueuedMessage>() <= 312);
    }
}

/// A stored QoS 1 copy numbered `seq`, whose payload is `tag`.
fn stored(tag: u8, seq: u64, t0: Instant) -> QueuedMessage {
    let mut m = msg(tag, t0);
    m.stored = StoreSeq::new(seq);
    m
}

#[test]
fn a_spilling_queue_holds_its_window_and_counts_the_rest() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(limits(10_000, usize::MAX, OverflowPolicy::DropNewest));
    q.set_resident(Some(4), false);
    for n in 0..1000u64 {
        assert_queued(push(&mut q, stored((n % 251) as u8, n + 1, t0), t0));
    }
    assert_eq!(q.len(), 1000);
    assert_eq!(q.iter().count(), 4);
    assert_eq!(q.spilled(), 996);
    assert_eq!(q.bytes(), 1000 * 2);
    // The window drains; the next copies are read back in their turn, and only then.
    let mut expired = Vec::new();
    for _ in 0..4 {
        assert!(q.pop(t0, &mut expired).is_some());
    }
    assert!(q.pop(t0, &mut expired).is_none() && q.front().is_none());
    let wanted = q.to_read_back();
    assert_eq!(
        wanted,
        (5..=8).filter_map(StoreSeq::new).collect::<Vec<_>>()
    );
    let loaded = (5..=8).map(|n| stored((n - 1) as u8, n, t0)).collect();
    let refilled = q.refill(loaded, &wanted);
    assert_eq!((refilled.restored, refilled.missing), (4, vec![]));
    assert_eq!(queued(&q), vec![4, 5, 6, 7]);
}

#[test]
fn copies_the_store_does_not_hold_keep_their_place_behind_spilled_ones() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(limits(100, usize::MAX, OverflowPolicy::DropNewest));
    q.set_resident(Some(1), false);
    assert_queued(push(&mut q, stored(1, 1, t0), t0));
    assert_queued(push(&mut q, stored(2, 2, t0), t0));
    // QoS 0 (online) and a shared subscription's copy stay in memory, behind copy 2.
    assert_queued(q.push(msg_with(3, QoS::AtMostOnce, None, t0), Presence::Online, t0));
    let shared = stored(4, 4, t0).through_shared(TopicFilter::new("$share/g/t").ok());
    assert_queued(push(&mut q, shared, t0));
    assert_queued(push(&mut q, stored(5, 5, t0), t0));
    assert_eq!(queued(&q), vec![1, 3, 4]);
    assert_eq!(q.spilled(), 2);
    let mut expired = Vec::new();
    assert_eq!(q.pop(t0, &mut expired).map(|m| tag(&m)), Some(1));
    assert!(q.pop(t0, &mut expired).is_none());
    let wanted = q.to_read_back();
    assert_eq!(wanted, StoreSeq::new(2).into_iter().collect::<Vec<_>>());
    // Copy 1 comes too (the store had not forgotten it): it has no place, and is ignored;
    // copy 2 takes its place, and the held copies behind it come along.
    q.refill(vec![stored(1, 1, t0), stored(2, 2, t0)], &wanted);
    let order: Vec<u8> = std::iter::from_fn(|| q.pop(t0, &mut expired).map(|m| tag(&m))).collect();
    assert_eq!(order, vec![2, 3, 4]);
    let wanted = q.to_read_back();
    assert_eq!(wanted, StoreSeq::new(5).into_iter().collect::<Vec<_>>());
    // The store lost copy 5: it leaves the queue, reported.
    let refilled = q.refill(Vec::new(), &wanted);
    assert_eq!(
        refilled.missing,
        StoreSeq::new(5).into_iter().collect::<Vec<_>>()
    );
    assert!(q.is_empty());
    assert_eq!(q.bytes(), 0);
}

#[test]
fn a_spilled_copy_dropped_says_what_it_was() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(limits(2, usize::MAX, OverflowPolicy::DropOldest));
    q.set_resident(Some(0), true);
    let expiring = {
        let mut m = msg_with(1, QoS::AtLeastOnce, Some(1), t0);
        m.stored = StoreSeq::new(7);
        m
    };
    assert_queued(push(&mut q, expiring, t0));
    assert_queued(push(&mut q, stored(2, 8, t0), t0));
    assert_eq!(q.spilled(), 2);
    // Full: the expired spilled copy makes room, then the oldest one.
    let later = t0 + Duration::from_secs(2);
    let PushOutcome::Queued { evicted } = push(&mut q, stored(3, 9, later), later) else {
        panic!("not queued");
    };
    assert_eq!(evicted.len(), 1);
    assert_eq!(evicted[0].reason, DropReason::Expired);
    assert_eq!(evicted[0].copy.stored(), StoreSeq::new(7));
    assert_eq!(evicted[0].copy.topic().map(TopicName::as_str), Some("t"));
    assert_eq!(evicted[0].copy.qos(), QoS::AtLeastOnce);
    assert!(evicted[0].copy.held().is_none());
    let PushOutcome::Queued { evicted } = push(&mut q, stored(4, 10, later), later) else {
        panic!("not queued");
    };
    assert_eq!(
        (evicted[0].copy.stored(), evicted[0].reason),
        (StoreSeq::new(8), DropReason::QueueFull)
    );
    assert_eq!(
        q.all_spilled(),
        [9, 10]
            .into_iter()
            .filter_map(StoreSeq::new)
            .collect::<Vec<_>>()
    );
}

#[test]
fn a_spilled_copy_keeps_its_topic_only_when_asked() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(limits(1, usize::MAX, OverflowPolicy::DropOldest));
    q.set_resident(Some(0), false);
    assert_queued(push(&mut q, stored(1, 1, t0), t0));
    let PushOutcome::Queued { evicted } = push(&mut q, stored(2, 2, t0), t0) else {
        panic!("not queued");
    };
    assert_eq!(evicted[0].copy.stored(), StoreSeq::new(1));
    assert_eq!(evicted[0].copy.topic(), None);
}

#[test]
fn an_online_clients_backlog_spills_too_and_comes_back_in_order() {
    let t0 = Instant::now();
    let mut q = MessageQueue::new(limits(100, usize::MAX, OverflowPolicy::DropNewest));
    q.set_resident(Some(1), false);
    // Away: the second copy goes to the store.
    assert_queued(push(&mut q, stored(1, 1, t0), t0));
    assert_queued(push(&mut q, stored(2, 2, t0), t0));
    // Back, and taking messages more slowly than they come: the backlog goes to the store
    // too, and a QoS 0 copy (never stored) keeps its place between the spilled ones.
    assert_queued(q.push(stored(3, 3, t0), Presence::Online, t0));
    assert_queued(q.push(msg_with(4, QoS::AtMostOnce, None, t0), Presence::Online, t0));
    assert_queued(q.push(stored(5, 5, t0), Presence::Online, t0));
    assert_eq!(q.spilled(), 3);
    assert_eq!(q.len(), 5);
    let mut expired = Vec::new();
    assert_eq!(q.pop(t0, &mut expired).map(|m| tag(&m)), Some(1));
    assert!(
        q.pop(t0, &mut expired).is_none(),
        "copy 2 is in the store only"
    );
    let wanted = q.to_read_back();
    q.refill(vec![stored(2, 2, t0)], &wanted);
    assert_eq!(q.pop(t0, &mut expired).map(|m| tag(&m)), Some(2));
    // Each read back brings the next stored copy, and the held one behind it moves along.
    let mut order = Vec::new();
    for _ in 0..3 {
        let wanted = q.to_read_back();
        let loaded = wanted.iter().map(|seq| {
            let seq = seq.get();
            stored(seq as u8, seq, t0)
        });
        q.refill(loaded.collect(), &wanted);
        order.extend(std::iter::from_fn(|| {
            q.pop(t0, &mut expired).map(|m| tag(&m))
        }));
    }
    assert_eq!(order, vec![3, 4, 5]);
    assert!(q.is_empty() && expired.is_empty());
}
