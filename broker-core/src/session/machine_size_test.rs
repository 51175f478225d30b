//! The client's Maximum Packet Size on what the session sends (MQTT 5.0 §3.1.2.11.4,
//! [MQTT-3.1.2-24], [MQTT-3.1.2-25]), and the server's own in the CONNACK (§3.2.2.3.6).

use std::num::NonZeroU32;

use super::test_harness::{pid, Harness};
use super::{CloseReason, Command, SessionConfig};
use crate::codec::{
    Packet, Subscribe, Subscription, SubscriptionOptions, Unsubscribe, MAX_PACKET_SIZE,
};
use crate::types::{ProtocolVersion, QoS, ReasonCode, TopicFilter};

use super::machine_size::MIN_V5_CONNACK;

const V5: ProtocolVersion = ProtocolVersion::V5;

/// The CONNACK a client with no packet limit gets under `config`, and its size.
fn connack_size(config: &SessionConfig) -> usize {
    let mut h = Harness::with_config(V5, config.clone());
    let sent = h.connect("size");
    assert_eq!(sent.len(), 1);
    sent[0].encoded_len(V5).unwrap()
}

/// A v5 client announcing `max` as its Maximum Packet Size, CONNECT sent and accepted.
fn limited(config: SessionConfig, max: u32) -> (Harness, Vec<Packet>) {
    let mut h = Harness::with_config(V5, config);
    let mut connect = h.connect_packet("size");
    connect.properties.maximum_packet_size = NonZeroU32::new(max);
    let sent = h.connect_with(connect, None);
    (h, sent)
}

fn filters(n: usize) -> Vec<Subscription> {
    (0..n)
        .map(|i| Subscription {
            filter: TopicFilter::new(format!("f/{i}")).unwrap(),
            options: SubscriptionOptions::qos(QoS::AtMostOnce),
        })
        .collect()
}

#[test]
fn smallest_connack_is_five_bytes() {
    let connack = Packet::ConnAck(Box::new(crate::codec::ConnAck::new(
        false,
        ReasonCode::Success,
    )));
    assert_eq!(connack.encoded_len(V5), Ok(MIN_V5_CONNACK as usize));
}

#[test]
fn client_no_connack_can_reach_is_closed_at_connect_mqtt_3_1_2_24() {
    for max in [1, 2, MIN_V5_CONNACK - 1] {
        let mut h = Harness::new(V5);
        let mut connect = h.connect_packet("tiny");
        connect.properties.maximum_packet_size = NonZeroU32::new(max);
        h.send(Packet::Connect(Box::new(connect)));
        // Closed before the runtime is asked: no takeover of a live connection for it.
        assert!(h.sent().is_empty());
        let close = h.expect_close();
        assert_eq!(
            close.reason,
            CloseReason::ConnectRefused(ReasonCode::PacketTooLarge)
        );
        assert!(close.will.is_none());
        assert!(h.session.is_closed());
    }
}

#[test]
fn connack_that_does_not_fit_closes_the_connection_mqtt_3_1_2_24() {
    let config = SessionConfig::default();
    let size = connack_size(&config);
    // Exactly the CONNACK's size: connected.
    let (h, sent) = limited(config.clone(), u32::try_from(size).unwrap());
    assert!(matches!(&sent[..], [Packet::ConnAck(_)]));
    assert!(h.session.is_connected());
    // One byte less, and nothing the server may drop is in it: closed, nothing sent.
    let (mut h, sent) = limited(config, u32::try_from(size - 1).unwrap());
    assert!(sent.is_empty(), "{sent:?}");
    let close = h.expect_close();
    assert_eq!(
        close.reason,
        CloseReason::ConnectRefused(ReasonCode::PacketTooLarge)
    );
    assert!(h.session.is_closed());
}

#[test]
fn disconnect_drops_its_reason_string_to_fit_mqtt_3_14_2_3() {
    let config = SessionConfig::default();
    let size = connack_size(&config);
    let (mut h, _) = limited(config, u32::try_from(size).unwrap());
    // A PUBREC for a QoS 1 PUBLISH: DISCONNECT 0x82, whose Reason String does not fit.
    let id = h.deliver(QoS::AtLeastOnce).unwrap();
    h.send(Packet::PubRec(crate::codec::Ack::new(id)));
    match &h.sent()[..] {
        [d @ Packet::Disconnect(disconnect)] => {
            assert_eq!(disconnect.code, ReasonCode::ProtocolError);
            assert_eq!(disconnect.properties.reason_string, None);
            assert!(d.encoded_len(V5).unwrap() <= size);
        }
        other => panic!("expected DISCONNECT, got {other:?}"),
    }
    // Without a limit the Reason String is there.
    let mut h = Harness::new(V5);
    h.connect("size");
    let id = h.deliver(QoS::AtLeastOnce).unwrap();
    h.send(Packet::PubRec(crate::codec::Ack::new(id)));
    assert!(matches!(
        &h.sent()[..],
        [Packet::Disconnect(d)] if d.properties.reason_string.is_some()
    ));
}

#[test]
fn suback_and_unsuback_that_do_not_fit_are_discarded_mqtt_3_1_2_25() {
    let config = SessionConfig::default();
    let size = connack_size(&config);
    let (mut h, _) = limited(config, u32::try_from(size).unwrap());
    // One code per filter: 5 + 64 bytes.
    let count = 64;
    assert!(5 + count > size);
    h.send(Packet::Subscribe(Subscribe {
        packet_id: pid(1),
        subscriptions: filters(count),
        properties: Default::default(),
    }));
    let request = match &mut h.commands()[..] {
        [Command::Subscribe(request)] => request.clone(),
        other => panic!("expected Subscribe, got {other:?}"),
    };
    let outcomes: Vec<_> = request
        .filters
        .iter()
        .map(|_| super::FilterOutcome::Granted(QoS::AtMostOnce))
        .collect();
    h.session.complete_subscribe(pid(1), &outcomes);
    // Not sent, and the server behaves as if it had been: the subscriptions are made.
    assert!(h.sent().is_empty());
    assert_eq!(h.session.state().subscriptions().count(), count);
    assert!(h.session.is_connected());
    h.send(Packet::Unsubscribe(Unsubscribe {
        packet_id: pid(2),
        filters: filters(count).into_iter().map(|s| s.filter).collect(),
        properties: Default::default(),
    }));
    assert!(h.sent().is_empty());
    assert_eq!(h.session.state().subscriptions().count(), 0);
    // A SUBACK that fits is sent.
    h.send(Packet::Subscribe(Subscribe {
        packet_id: pid(3),
        subscriptions: filters(1),
        properties: Default::default(),
    }));
    let _ = h.commands();
    h.session
        .complete_subscribe(pid(3), &[super::FilterOutcome::Granted(QoS::AtMostOnce)]);
    assert!(matches!(&h.sent()[..], [Packet::SubAck(_)]));
}

#[test]
fn publish_larger_than_the_client_accepts_is_dropped_mqtt_3_1_2_25() {
    let config = SessionConfig::default();
    let size = connack_size(&config);
    let (mut h, _) = limited(config, u32::try_from(size).unwrap());
    let message = super::Message::new(
        crate::types::TopicName::new("a/topic/longer/than/the/limit").unwrap(),
        bytes::Bytes::from_static(b"payload"),
        QoS::AtLeastOnce,
        false,
        Default::default(),
        h.now,
    );
    let queued = super::QueuedMessage::new(message, QoS::AtLeastOnce, false, Vec::new());
    assert!(matches!(
        h.session.deliver(queued, h.now),
        super::DeliverOutcome::Dropped(super::Dropped {
            reason: super::DropReason::PacketTooLarge,
            ..
        })
    ));
    assert!(h.sent().is_empty());
    assert!(h.session.state().outbound.is_empty());
}

#[test]
fn connack_names_a_maximum_packet_size_only_below_the_protocols() {
    let connack = |max_packet_size| {
        let mut h = Harness::with_config(
            V5,
            SessionConfig {
                max_packet_size,
                ..SessionConfig::default()
            },
        );
        match h.connect("size").remove(0) {
            Packet::ConnAck(c) => c.properties.maximum_packet_size,
            other => panic!("expected CONNACK, got {other:?}"),
        }
    };
    assert_eq!(connack(1024 * 1024), NonZeroU32::new(1024 * 1024));
    assert_eq!(
        connack(MAX_PACKET_SIZE - 1),
        NonZeroU32::new(MAX_PACKET_SIZE - 1)
    );
    // MQTT 5.0 §3.2.2.3.6: absent means no limit beyond the protocol's.
    assert_eq!(connack(MAX_PACKET_SIZE), None);
    assert_eq!(connack(u32::MAX), None);
}

fn long_reason() -> crate::types::MqttString {
    crate::types::MqttString::new("x".repeat(200)).unwrap()
}

/// A CONNECT from a v5 client announcing `max`, handed to the runtime.
fn connecting(max: u32) -> Harness {
    let mut h = Harness::new(V5);
    let mut connect = h.connect_packet("size");
    connect.properties.maximum_packet_size = NonZeroU32::new(max);
    h.send(Packet::Connect(Box::new(connect)));
    assert!(matches!(&h.commands()[..], [Command::Connect(_)]));
    h
}

#[test]
fn refusing_connack_drops_its_reason_string_to_fit_mqtt_3_2_2_19() {
    let mut h = connecting(16);
    h.session
        .auth_failed(ReasonCode::NotAuthorized, Some(long_reason()), h.now);
    match &h.sent()[..] {
        [c @ Packet::ConnAck(connack)] => {
            assert_eq!(connack.code, ReasonCode::NotAuthorized);
            assert_eq!(connack.properties.reason_string, None);
            assert!(c.encoded_len(V5).unwrap() <= 16);
        }
        other => panic!("expected CONNACK, got {other:?}"),
    }
    assert!(h.session.is_closed());
}

#[test]
fn accepting_connack_drops_its_reason_string_to_fit_mqtt_3_2_2_19() {
    let size = connack_size(&SessionConfig::default());
    let mut h = connecting(u32::try_from(size).unwrap());
    h.session.auth_success(None, Some(long_reason()));
    h.session.accept(None, h.now);
    match &h.sent()[..] {
        [Packet::ConnAck(connack)] => assert_eq!(connack.properties.reason_string, None),
        other => panic!("expected CONNACK, got {other:?}"),
    }
    assert!(h.session.is_connected());
}

#[test]
fn refused_publish_is_acknowledged_without_its_reason_string_to_fit_mqtt_3_4_2_2() {
    let size = connack_size(&SessionConfig::default());
    let (mut h, _) = limited(SessionConfig::default(), u32::try_from(size).unwrap());
    let mut publish = crate::codec::Publish::new(
        crate::types::TopicName::new("a").unwrap(),
        bytes::Bytes::from_static(b"p"),
    );
    publish.qos_pid = crate::codec::QosPid::AtLeastOnce(pid(4));
    h.send(Packet::Publish(publish));
    let ack = match &mut h.commands()[..] {
        [Command::Publish(request)] => request.ack,
        other => panic!("expected Publish, got {other:?}"),
    };
    h.session
        .refuse_publish(ack, ReasonCode::NotAuthorized, Some(long_reason()));
    match &h.sent()[..] {
        [Packet::PubAck(a)] => {
            assert_eq!(a.code, ReasonCode::NotAuthorized);
            assert_eq!(a.properties.reason_string, None);
        }
        other => panic!("expected PUBACK, got {other:?}"),
    }
}
