//! The session state machine while connected: messages both ways, acknowledgements,
//! subscriptions.

use std::num::{NonZeroU16, NonZeroU32};
use std::time::Duration;

use broker_core::codec::{
    Ack, Packet, QosPid, Subscribe, Subscription, SubscriptionOptions, Unsubscribe, Will,
};
use broker_core::session::{
    CloseReason, Command, DeliverOutcome, DropReason, FilterOutcome, Message, PublishOutcome,
    QueuedMessage, SessionConfig,
};
use broker_core::types::{
    ProtocolVersion, QoS, ReasonCode, SubscriptionId, TopicAlias, TopicFilter,
};

use crate::harness::{pid, publish, topic, Harness};

fn queued(h: &Harness, name: &str, qos: QoS) -> QueuedMessage {
    let message = Message::new(
        topic(name),
        "m".into(),
        qos,
        false,
        Default::default(),
        h.now,
    );
    QueuedMessage::new(message, qos, false, Vec::new())
}

fn connected(version: ProtocolVersion) -> Harness {
    let mut h = Harness::new(version);
    h.connect("c1");
    h
}

#[test]
fn qos0_publish_is_routed_without_ack() {
    let mut h = connected(ProtocolVersion::V3_1_1);
    h.send(Packet::Publish(publish("a/b", "x", QosPid::AtMostOnce)));
    let request = h.expect_publish();
    assert_eq!(request.message.topic.as_str(), "a/b");
    assert!(request.ack.is_none());
    assert!(h.sent().is_empty());
}

#[test]
fn qos1_puback_waits_for_routing_mqtt_4_3_2_4() {
    let mut h = connected(ProtocolVersion::V5);
    h.send(Packet::Publish(publish(
        "a",
        "x",
        QosPid::AtLeastOnce(pid(7)),
    )));
    let request = h.expect_publish();
    assert!(
        h.sent().is_empty(),
        "no PUBACK before the message is routed"
    );
    h.session.complete_publish(
        request.ack.unwrap(),
        PublishOutcome::Routed { matched: false },
    );
    let sent = h.sent();
    // MQTT 5 tells the publisher nobody subscribed (0x10).
    assert!(
        matches!(&sent[..], [Packet::PubAck(a)] if a.packet_id == pid(7) && a.code == ReasonCode::NoMatchingSubscribers),
        "{sent:?}"
    );
}

#[test]
fn qos2_exactly_once_receive_mqtt_4_3_3_8_to_4_3_3_12() {
    let mut h = connected(ProtocolVersion::V3_1_1);
    h.send(Packet::Publish(publish(
        "a",
        "x",
        QosPid::ExactlyOnce(pid(3)),
    )));
    let request = h.expect_publish();
    h.session.complete_publish(
        request.ack.unwrap(),
        PublishOutcome::Routed { matched: true },
    );
    assert!(matches!(&h.sent()[..], [Packet::PubRec(a)] if a.packet_id == pid(3)));
    // A retry before PUBREL is acknowledged again and not routed again [MQTT-4.3.3-10].
    let mut dup = publish("a", "x", QosPid::ExactlyOnce(pid(3)));
    dup.dup = true;
    h.send(Packet::Publish(dup));
    assert!(h.commands().is_empty());
    assert!(matches!(&h.sent()[..], [Packet::PubRec(a)] if a.packet_id == pid(3)));
    // PUBREL releases the identifier [MQTT-4.3.3-11], [MQTT-4.3.3-12].
    h.send(Packet::PubRel(Ack::new(pid(3))));
    assert!(matches!(&h.sent()[..], [Packet::PubComp(a)] if a.code == ReasonCode::Success));
    // The same identifier is now a new message.
    h.send(Packet::Publish(publish(
        "a",
        "y",
        QosPid::ExactlyOnce(pid(3)),
    )));
    assert_eq!(h.expect_publish().message.payload, "y");
}

#[test]
fn pubrel_for_unknown_id_gets_pubcomp_0x92() {
    let mut h = connected(ProtocolVersion::V5);
    h.send(Packet::PubRel(Ack::new(pid(9))));
    assert!(
        matches!(&h.sent()[..], [Packet::PubComp(a)] if a.code == ReasonCode::PacketIdentifierNotFound)
    );
}

#[test]
fn refused_qos2_frees_its_packet_id_mqtt_4_3_3_9() {
    let mut h = connected(ProtocolVersion::V5);
    h.send(Packet::Publish(publish(
        "a",
        "x",
        QosPid::ExactlyOnce(pid(4)),
    )));
    let request = h.expect_publish();
    h.session.complete_publish(
        request.ack.unwrap(),
        PublishOutcome::Refused(ReasonCode::NotAuthorized),
    );
    assert!(matches!(&h.sent()[..], [Packet::PubRec(a)] if a.code == ReasonCode::NotAuthorized));
    h.send(Packet::Publish(publish(
        "a",
        "x",
        QosPid::ExactlyOnce(pid(4)),
    )));
    let _ = h.expect_publish();
}

/// A will, to see whether a close publishes it.
fn will() -> Will {
    Will {
        topic: topic("wills/c1"),
        payload: "gone".into(),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Default::default(),
    }
}

/// The broker could not keep the message of a 3.x QoS 1 PUBLISH (the session store refused
/// its copies: 0x97 when full, 0x80 otherwise). A 3.x PUBACK has no reason code: sending one
/// ([MQTT-3.3.4-1]) would say the broker took ownership of the message ([MQTT-4.3.2-2]). So
/// none goes out and the connection closes (the will published, [MQTT-3.1.2-8]): the client
/// keeps the PUBLISH unacknowledged ([MQTT-4.3.2-1]) and sends it again when it reconnects.
/// An acknowledgement waiting behind the refused one does not go out either: they go in
/// order ([MQTT-4.6.0-2]), and the client sends that message again too.
#[test]
fn v3_publish_the_store_refused_gets_no_puback_and_closes_mqtt_4_3_2_1() {
    for version in [ProtocolVersion::V3_1, ProtocolVersion::V3_1_1] {
        for code in [ReasonCode::QuotaExceeded, ReasonCode::UnspecifiedError] {
            let mut h = Harness::new(version);
            let mut connect = h.connect_packet("c1");
            connect.will = Some(will());
            h.connect_with(connect, None);
            h.send(Packet::Publish(publish(
                "a",
                "x",
                QosPid::AtLeastOnce(pid(1)),
            )));
            let refused = h.expect_publish();
            h.send(Packet::Publish(publish(
                "b",
                "y",
                QosPid::AtLeastOnce(pid(2)),
            )));
            let next = h.expect_publish();
            h.session
                .complete_publish(refused.ack.unwrap(), PublishOutcome::Refused(code));
            let sent = h.sent();
            assert!(sent.is_empty(), "{version:?}, {code:?}: sent {sent:?}");
            let close = h.expect_close();
            assert_eq!(close.reason, CloseReason::PublishRefused(code));
            assert!(close.will.is_some(), "{version:?}: the will is published");
            assert!(h.session.is_closed());
            h.session
                .complete_publish(next.ack.unwrap(), PublishOutcome::Routed { matched: true });
            assert!(h.sent().is_empty());
            assert!(h.commands().is_empty());
        }
    }
}

/// The same for QoS 2: no PUBREC ([MQTT-4.3.3-1]: the client keeps the PUBLISH
/// unacknowledged; [MQTT-4.3.3-2]: a PUBREC would take ownership), the connection closes, and
/// the packet identifier is free again ([MQTT-4.3.3-9]). The client's DUP of the PUBLISH on
/// the resumed session (clean session 0, [MQTT-4.4.0-1]) is a new message to route, not a
/// duplicate of one the broker never kept ([MQTT-4.3.3-10] would answer it PUBREC and drop
/// it).
#[test]
fn v3_qos2_publish_the_store_refused_gets_no_pubrec_and_its_resend_is_routed_mqtt_4_3_3_1() {
    let mut h = Harness::new(ProtocolVersion::V3_1_1);
    let mut connect = h.connect_packet("c1");
    connect.clean_start = false;
    h.connect_with(connect, None);
    let sent = publish("a", "x", QosPid::ExactlyOnce(pid(4)));
    h.send(Packet::Publish(sent.clone()));
    let request = h.expect_publish();
    h.session.complete_publish(
        request.ack.unwrap(),
        PublishOutcome::Refused(ReasonCode::QuotaExceeded),
    );
    assert!(h.sent().is_empty(), "no PUBREC for a refused message");
    assert_eq!(
        h.expect_close().reason,
        CloseReason::PublishRefused(ReasonCode::QuotaExceeded)
    );
    let state = std::mem::replace(
        &mut h.session,
        broker_core::session::Session::new(Default::default(), h.now),
    )
    .into_state();

    let mut h2 = Harness::new(ProtocolVersion::V3_1_1);
    let mut connect = h2.connect_packet("c1");
    connect.clean_start = false;
    h2.connect_with(connect, Some(state));
    let mut dup = sent;
    dup.dup = true;
    h2.send(Packet::Publish(dup));
    let request = h2.expect_publish();
    assert_eq!(request.message.payload, "x");
    assert!(h2.sent().is_empty(), "answered before it is routed");
    h2.session.complete_publish(
        request.ack.unwrap(),
        PublishOutcome::Routed { matched: true },
    );
    assert!(
        matches!(&h2.sent()[..], [Packet::PubRec(a)] if a.packet_id == pid(4) && a.code == ReasonCode::Success)
    );
}

/// MQTT 5 can be told: PUBACK / PUBREC with the refusal's code, 0x97 Quota exceeded for a
/// full store or 0x80 Unspecified error (MQTT 5.0 §3.4.2.1, §3.5.2.1; [MQTT-3.3.4-1]: the
/// answer its QoS asks for), and the connection stays open.
#[test]
fn v5_publish_the_store_refused_gets_0x97_or_0x80_and_stays_connected_mqtt_3_3_4_1() {
    let mut h = connected(ProtocolVersion::V5);
    let cases = [
        (1, QoS::AtLeastOnce, ReasonCode::QuotaExceeded),
        (2, QoS::AtLeastOnce, ReasonCode::UnspecifiedError),
        (3, QoS::ExactlyOnce, ReasonCode::QuotaExceeded),
        (4, QoS::ExactlyOnce, ReasonCode::UnspecifiedError),
    ];
    for (id, qos, code) in cases {
        let qos_pid = if qos == QoS::AtLeastOnce {
            QosPid::AtLeastOnce(pid(id))
        } else {
            QosPid::ExactlyOnce(pid(id))
        };
        h.send(Packet::Publish(publish("a", "x", qos_pid)));
        let request = h.expect_publish();
        h.session
            .complete_publish(request.ack.unwrap(), PublishOutcome::Refused(code));
        match (qos, &h.sent()[..]) {
            (QoS::AtLeastOnce, [Packet::PubAck(a)]) | (QoS::ExactlyOnce, [Packet::PubRec(a)]) => {
                assert_eq!((a.packet_id, a.code), (pid(id), code));
            }
            (_, other) => panic!("{qos:?}, {code:?}: sent {other:?}"),
        }
        assert!(h.commands().is_empty(), "{qos:?}, {code:?}: no close");
        assert!(h.session.is_connected());
    }
}

#[test]
fn inbound_qos2_beyond_receive_maximum_disconnects_0x93_mqtt_3_3_4_9() {
    let mut config = SessionConfig::default();
    config.receive_maximum = NonZeroU16::new(1).unwrap();
    let mut h = Harness::with_config(ProtocolVersion::V5, config);
    h.connect("c1");
    h.send(Packet::Publish(publish(
        "a",
        "x",
        QosPid::ExactlyOnce(pid(1)),
    )));
    let _ = h.expect_publish();
    h.send(Packet::Publish(publish(
        "a",
        "x",
        QosPid::ExactlyOnce(pid(2)),
    )));
    let sent = h.sent();
    assert!(
        matches!(&sent[..], [Packet::Disconnect(d)] if d.code == ReasonCode::ReceiveMaximumExceeded),
        "{sent:?}"
    );
    assert!(h.session.is_closed());
}

#[test]
fn inbound_topic_alias_is_resolved_and_unknown_alias_is_0x82() {
    let mut h = connected(ProtocolVersion::V5);
    let mut first = publish("long/topic", "1", QosPid::AtMostOnce);
    first.properties.topic_alias = Some(TopicAlias::new(1).unwrap());
    h.send(Packet::Publish(first));
    assert_eq!(h.expect_publish().message.topic.as_str(), "long/topic");
    let mut second = publish("x", "2", QosPid::AtMostOnce);
    second.topic = None;
    second.properties.topic_alias = Some(TopicAlias::new(1).unwrap());
    h.send(Packet::Publish(second));
    assert_eq!(h.expect_publish().message.topic.as_str(), "long/topic");
    let mut unknown = publish("x", "3", QosPid::AtMostOnce);
    unknown.topic = None;
    unknown.properties.topic_alias = Some(TopicAlias::new(2).unwrap());
    h.send(Packet::Publish(unknown));
    assert!(h.session.is_closed());
}

#[test]
fn publish_above_maximum_qos_disconnects_0x9b_mqtt_3_2_2_11() {
    let mut config = SessionConfig::default();
    config.max_qos = QoS::AtLeastOnce;
    let mut h = Harness::with_config(ProtocolVersion::V5, config);
    h.connect("c1");
    h.send(Packet::Publish(publish(
        "a",
        "x",
        QosPid::ExactlyOnce(pid(1)),
    )));
    assert!(
        matches!(&h.sent()[..], [Packet::Disconnect(d)] if d.code == ReasonCode::QoSNotSupported)
    );
}

#[test]
fn retain_without_support_disconnects_0x9a_mqtt_3_2_2_14() {
    let mut config = SessionConfig::default();
    config.retain_available = false;
    let mut h = Harness::with_config(ProtocolVersion::V5, config);
    h.connect("c1");
    let mut p = publish("a", "x", QosPid::AtMostOnce);
    p.retain = true;
    h.send(Packet::Publish(p));
    assert!(
        matches!(&h.sent()[..], [Packet::Disconnect(d)] if d.code == ReasonCode::RetainNotSupported)
    );
}

#[test]
fn outbound_qos1_respects_receive_maximum_mqtt_3_3_4_9() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut connect = h.connect_packet("c1");
    connect.properties.receive_maximum = NonZeroU16::new(2);
    h.connect_with(connect, None);
    for _ in 0..2 {
        let m = queued(&h, "t", QoS::AtLeastOnce);
        assert!(matches!(h.session.deliver(m, h.now), DeliverOutcome::Sent));
    }
    assert!(!h.session.can_deliver(QoS::AtLeastOnce));
    assert!(h.session.can_deliver(QoS::AtMostOnce));
    let m = queued(&h, "t", QoS::AtLeastOnce);
    assert!(matches!(
        h.session.deliver(m, h.now),
        DeliverOutcome::Blocked(_)
    ));
    let sent = h.sent();
    let ids: Vec<_> = sent
        .iter()
        .map(|p| match p {
            Packet::Publish(p) => p.qos_pid.packet_id().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_ne!(ids[0], ids[1], "packet ids unique in flight [MQTT-2.2.1-4]");
    h.send(Packet::PubAck(Ack::new(ids[0])));
    assert!(h.session.can_deliver(QoS::AtLeastOnce));
}

#[test]
fn outbound_qos2_flow_mqtt_4_3_3_4() {
    let mut h = connected(ProtocolVersion::V3_1_1);
    let m = queued(&h, "t", QoS::ExactlyOnce);
    assert!(matches!(h.session.deliver(m, h.now), DeliverOutcome::Sent));
    let Packet::Publish(p) = h.sent().remove(0) else {
        panic!()
    };
    let id = p.qos_pid.packet_id().unwrap();
    h.send(Packet::PubRec(Ack::new(id)));
    assert!(matches!(&h.sent()[..], [Packet::PubRel(a)] if a.packet_id == id));
    h.send(Packet::PubComp(Ack::new(id)));
    assert!(h.session.state().outbound().is_empty());
}

#[test]
fn unacknowledged_messages_are_resent_with_dup_on_resume_mqtt_4_4_0_1() {
    let mut h = connected(ProtocolVersion::V3_1_1);
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce, QoS::ExactlyOnce] {
        let m = queued(&h, "t", qos);
        assert!(matches!(h.session.deliver(m, h.now), DeliverOutcome::Sent));
    }
    let sent = h.sent();
    let third = match &sent[2] {
        Packet::Publish(p) => p.qos_pid.packet_id().unwrap(),
        other => panic!("{other:?}"),
    };
    h.send(Packet::PubRec(Ack::new(third)));
    let _ = h.sent();
    h.session.connection_lost(h.now);
    let _ = h.commands();
    let state = std::mem::replace(
        &mut h.session,
        broker_core::session::Session::new(Default::default(), h.now),
    )
    .into_state();

    let mut h2 = Harness::new(ProtocolVersion::V3_1_1);
    let mut connect = h2.connect_packet("c1");
    connect.clean_start = false;
    let sent = h2.connect_with(connect, Some(state));
    assert!(matches!(&sent[0], Packet::ConnAck(c) if c.session_present));
    assert!(matches!(&sent[1], Packet::Publish(p) if p.dup && p.qos_pid.qos() == QoS::AtLeastOnce));
    assert!(matches!(&sent[2], Packet::Publish(p) if p.dup && p.qos_pid.qos() == QoS::ExactlyOnce));
    assert!(matches!(&sent[3], Packet::PubRel(a) if a.packet_id == third));
    assert_eq!(sent.len(), 4);
}

#[test]
fn message_larger_than_client_maximum_is_dropped_mqtt_3_1_2_25() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut connect = h.connect_packet("c1");
    connect.properties.maximum_packet_size = NonZeroU32::new(20);
    h.connect_with(connect, None);
    let big = Message::new(
        topic("t"),
        vec![0u8; 64].into(),
        QoS::AtLeastOnce,
        false,
        Default::default(),
        h.now,
    );
    let q = QueuedMessage::new(big, QoS::AtLeastOnce, false, Vec::new());
    match h.session.deliver(q, h.now) {
        DeliverOutcome::Dropped(d) => assert_eq!(d.reason, DropReason::PacketTooLarge),
        other => panic!("{other:?}"),
    }
    assert!(h.sent().is_empty());
    assert!(
        h.session.state().outbound().is_empty(),
        "no packet id held for a dropped message"
    );
}

#[test]
fn expired_message_is_dropped_and_remaining_expiry_is_sent_mqtt_3_3_2_5_and_3_3_2_6() {
    let mut h = connected(ProtocolVersion::V5);
    let props = broker_core::codec::PublishProperties {
        message_expiry_interval: Some(10),
        ..Default::default()
    };
    let m = Message::new(topic("t"), "x".into(), QoS::AtMostOnce, false, props, h.now);
    h.now += Duration::from_secs(4);
    let q = QueuedMessage::new(m.clone(), QoS::AtMostOnce, false, Vec::new());
    assert!(matches!(h.session.deliver(q, h.now), DeliverOutcome::Sent));
    assert!(
        matches!(&h.sent()[..], [Packet::Publish(p)] if p.properties.message_expiry_interval == Some(6))
    );
    h.now += Duration::from_secs(7);
    let q = QueuedMessage::new(m, QoS::AtMostOnce, false, Vec::new());
    assert!(
        matches!(h.session.deliver(q, h.now), DeliverOutcome::Dropped(d) if d.reason == DropReason::Expired)
    );
}

#[test]
fn outbound_topic_alias_replaces_repeated_topic() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut connect = h.connect_packet("c1");
    connect.properties.topic_alias_maximum = Some(4);
    h.connect_with(connect, None);
    for _ in 0..2 {
        let q = queued(&h, "some/long/topic", QoS::AtMostOnce);
        assert!(matches!(h.session.deliver(q, h.now), DeliverOutcome::Sent));
    }
    let sent = h.sent();
    assert!(
        matches!(&sent[0], Packet::Publish(p) if p.topic.is_some() && p.properties.topic_alias.is_some())
    );
    assert!(
        matches!(&sent[1], Packet::Publish(p) if p.topic.is_none() && p.properties.topic_alias.is_some())
    );
}

#[test]
fn subscription_ids_are_sent_to_v5_only_mqtt_3_3_4_3() {
    let mut h = connected(ProtocolVersion::V5);
    let m = Message::new(
        topic("t"),
        "x".into(),
        QoS::AtMostOnce,
        false,
        Default::default(),
        h.now,
    );
    let id = SubscriptionId::new(5).unwrap();
    let q = QueuedMessage::new(m, QoS::AtMostOnce, false, vec![id]);
    assert!(matches!(h.session.deliver(q, h.now), DeliverOutcome::Sent));
    assert!(
        matches!(&h.sent()[..], [Packet::Publish(p)] if p.properties.subscription_identifiers == vec![id])
    );
}

#[test]
fn subscribe_is_recorded_and_acknowledged_in_order_mqtt_3_8_4_1() {
    let mut h = connected(ProtocolVersion::V5);
    let subscribe = Subscribe {
        packet_id: pid(5),
        subscriptions: vec![
            Subscription {
                filter: TopicFilter::new("a/#").unwrap(),
                options: SubscriptionOptions::qos(QoS::ExactlyOnce),
            },
            Subscription {
                filter: TopicFilter::new("b").unwrap(),
                options: SubscriptionOptions::qos(QoS::AtLeastOnce),
            },
        ],
        properties: Default::default(),
    };
    h.send(Packet::Subscribe(subscribe.clone()));
    let request = h.expect_subscribe();
    assert!(h.sent().is_empty(), "no SUBACK before the router knows");
    assert!(request
        .filters
        .iter()
        .all(|f| !f.existed && f.wants_retained()));
    h.session.complete_subscribe(
        request.packet_id,
        &[
            FilterOutcome::Granted(QoS::AtLeastOnce),
            FilterOutcome::Refused(ReasonCode::NotAuthorized),
        ],
    );
    let sent = h.sent();
    assert!(
        matches!(&sent[..], [Packet::SubAck(s)] if s.packet_id == pid(5) && s.codes == vec![ReasonCode::GrantedQoS1, ReasonCode::NotAuthorized])
    );
    assert_eq!(h.session.state().subscription_count(), 1);
    // Subscribing again: the filter exists (Retain Handling 1 would skip retained).
    h.send(Packet::Subscribe(subscribe));
    assert!(h.expect_subscribe().filters[0].existed);
}

#[test]
fn shared_subscription_with_no_local_is_a_protocol_error_mqtt_3_8_3_4() {
    let mut h = connected(ProtocolVersion::V5);
    let mut options = SubscriptionOptions::qos(QoS::AtMostOnce);
    options.no_local = true;
    h.send(Packet::Subscribe(Subscribe {
        packet_id: pid(1),
        subscriptions: vec![Subscription {
            filter: TopicFilter::new("$share/g/a").unwrap(),
            options,
        }],
        properties: Default::default(),
    }));
    assert!(
        matches!(&h.sent()[..], [Packet::Disconnect(d)] if d.code == ReasonCode::ProtocolError)
    );
}

#[test]
fn unsupported_filters_are_refused_in_suback() {
    let mut config = SessionConfig::default();
    config.wildcard_subscriptions = false;
    config.shared_subscriptions = false;
    config.max_qos = QoS::AtLeastOnce;
    let mut h = Harness::with_config(ProtocolVersion::V5, config);
    h.connect("c1");
    let sub = |f: &str| Subscription {
        filter: TopicFilter::new(f).unwrap(),
        options: SubscriptionOptions::qos(QoS::ExactlyOnce),
    };
    h.send(Packet::Subscribe(Subscribe {
        packet_id: pid(1),
        subscriptions: vec![sub("a/+"), sub("$share/g/a"), sub("a")],
        properties: Default::default(),
    }));
    let request = h.expect_subscribe();
    assert_eq!(
        request.filters[2].entry.options.qos,
        QoS::AtLeastOnce,
        "capped at Maximum QoS"
    );
    let outcomes = [FilterOutcome::Granted(QoS::AtLeastOnce); 3];
    h.session.complete_subscribe(request.packet_id, &outcomes);
    assert!(
        matches!(&h.sent()[..], [Packet::SubAck(s)] if s.codes == vec![
            ReasonCode::WildcardSubscriptionsNotSupported,
            ReasonCode::SharedSubscriptionsNotSupported,
            ReasonCode::GrantedQoS1,
        ])
    );
}

#[test]
fn unsubscribe_answers_every_filter_mqtt_3_10_4_4_and_3_10_4_5() {
    let mut h = connected(ProtocolVersion::V5);
    h.subscribe(1, "a", QoS::AtMostOnce);
    h.send(Packet::Unsubscribe(Unsubscribe {
        packet_id: pid(2),
        filters: vec![
            TopicFilter::new("a").unwrap(),
            TopicFilter::new("b").unwrap(),
        ],
        properties: Default::default(),
    }));
    let commands = h.commands();
    assert!(
        matches!(&commands[..], [Command::Unsubscribe(u)] if u.filters.len() == 1 && u.filters[0].as_str() == "a")
    );
    assert!(
        matches!(&h.sent()[..], [Packet::UnsubAck(u)] if u.codes == vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted])
    );
    assert_eq!(h.session.state().subscription_count(), 0);
}

#[test]
fn pingreq_gets_pingresp_mqtt_3_12_4_1() {
    let mut h = connected(ProtocolVersion::V3_1);
    h.send(Packet::PingReq);
    assert!(matches!(&h.sent()[..], [Packet::PingResp]));
}
