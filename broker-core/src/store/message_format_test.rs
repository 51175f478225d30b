//! The byte forms of queued and retained messages: round trips across a restart's clocks, and
//! refusals of what is not a record.

use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use proptest::prelude::*;

use super::{
    decode_queued, decode_retained, encode_queued, encode_retained, StoreError, WallClock,
};
use crate::codec::PublishProperties;
use crate::router::RetainedMessage;
use crate::session::{Message, QueuedMessage};
use crate::types::{MqttString, QoS, SubscriptionId, TopicFilter, TopicName, UserProperty};

fn queued(now: Instant) -> QueuedMessage {
    let properties = PublishProperties {
        message_expiry_interval: Some(60),
        content_type: Some(MqttString::new("text/plain").unwrap()),
        user_properties: vec![UserProperty {
            key: MqttString::new("k").unwrap(),
            value: MqttString::new("v").unwrap(),
        }],
        ..PublishProperties::default()
    };
    let message = Message::new(
        TopicName::new("a/b").unwrap(),
        Bytes::from_static(b"payload"),
        QoS::ExactlyOnce,
        true,
        properties,
        now.checked_sub(Duration::from_millis(2_000)).unwrap(),
    );
    QueuedMessage {
        message,
        qos: QoS::AtLeastOnce,
        retain: false,
        subscription_ids: vec![
            SubscriptionId::new(7).unwrap(),
            SubscriptionId::new(9).unwrap(),
        ],
        shared: Some(TopicFilter::new("$share/g/a/+").unwrap()),
        stored: None,
    }
}

#[test]
fn a_queued_message_round_trips_with_its_age() {
    let clock = WallClock::now();
    let message = queued(clock.now);
    let mut buf = BytesMut::new();
    encode_queued(&message, clock, &mut buf).unwrap();
    let back = decode_queued(buf.freeze(), clock).unwrap();
    assert_eq!(back, message);
}

#[test]
fn time_spent_down_counts_against_the_expiry() {
    let before = WallClock::now();
    let message = queued(before.now);
    let mut buf = BytesMut::new();
    encode_queued(&message, before, &mut buf).unwrap();
    // Read back 30 s later on the wall clock, by a process whose monotonic clock started anew.
    let after = WallClock {
        now: Instant::now(),
        unix_ms: before.unix_ms + 30_000,
    };
    let back = decode_queued(buf.freeze(), after).unwrap();
    let age = after.now.duration_since(back.message.received_at);
    assert_eq!(age, Duration::from_millis(32_000));
}

#[test]
fn a_retained_message_round_trips() {
    let properties = PublishProperties {
        message_expiry_interval: Some(10),
        ..PublishProperties::default()
    };
    let message = RetainedMessage {
        topic: TopicName::new("r/t").unwrap(),
        payload: Bytes::from_static(b"kept"),
        qos: QoS::ExactlyOnce,
        properties,
        stored_at: 1_700_000_000,
    };
    let mut buf = BytesMut::new();
    encode_retained(&message, &mut buf).unwrap();
    assert_eq!(decode_retained(buf.freeze()).unwrap(), message);
}

#[test]
fn the_wrong_kind_of_record_and_a_later_version_are_refused() {
    let clock = WallClock::now();
    let mut buf = BytesMut::new();
    encode_queued(&queued(clock.now), clock, &mut buf).unwrap();
    let record = buf.freeze();
    assert!(matches!(
        decode_retained(record.clone()),
        Err(StoreError::Corrupt { .. })
    ));
    let mut later = record.to_vec();
    later[3] = 2;
    let Err(StoreError::Corrupt { reason, .. }) = decode_queued(Bytes::from(later), clock) else {
        panic!("a later version was read");
    };
    assert!(reason.contains("version 2"), "{reason}");
}

#[test]
fn a_delivery_qos_above_the_published_one_is_refused() {
    let clock = WallClock::now();
    let mut message = queued(clock.now);
    message.message.qos = QoS::AtMostOnce;
    let mut buf = BytesMut::new();
    encode_queued(&message, clock, &mut buf).unwrap();
    assert!(decode_queued(buf.freeze(), clock).is_err());
}

proptest! {
    /// Any byte string, and any truncation or corruption of a valid record, decodes to a value
    /// or an error: never a panic.
    #[test]
    fn decoding_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..256), cut in 0usize..200, flip in 0usize..200) {
        let clock = WallClock::now();
        let _ = decode_queued(Bytes::from(bytes.clone()), clock);
        let _ = decode_retained(Bytes::from(bytes));
        let mut buf = BytesMut::new();
        encode_queued(&queued(clock.now), clock, &mut buf).unwrap();
        let mut record = buf.to_vec();
        if flip < record.len() {
            record[flip] ^= 0x5a;
        }
        record.truncate(cut.max(1).min(record.len()));
        let _ = decode_queued(Bytes::from(record), clock);
    }
}
