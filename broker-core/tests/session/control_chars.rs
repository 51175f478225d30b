//! Control characters (U+0001 to U+001F, U+007F to U+009F) in the strings a client names
//! things with: refused as a Malformed Packet by default (MQTT 5.0 §1.5.4: a receiver "MAY
//! treat it as a Malformed Packet"; 3.1.1 §1.5.3: it "MAY close the Network Connection"), and
//! accepted with `SessionConfig::allow_control_characters`.

use broker_core::codec::{Packet, QosPid, Subscribe, Subscription, SubscriptionOptions};
use broker_core::codec::{Unsubscribe, Will};
use broker_core::session::{CloseReason, Command, SessionConfig};
use broker_core::types::{ClientId, MqttString, ProtocolVersion, QoS, ReasonCode, TopicFilter};

use crate::harness::{pid, publish, topic, Harness};

/// One control character from each range, and the two-byte ones at both ends.
const CONTROLS: [&str; 5] = ["\u{1}", "\u{1B}", "\u{7F}", "\u{80}", "\u{9F}"];

fn allowing() -> SessionConfig {
    let mut config = SessionConfig::default();
    config.allow_control_characters = true;
    config
}

fn will(name: &str) -> Will {
    Will {
        topic: topic(name),
        payload: "bye".into(),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Default::default(),
    }
}

fn malformed_close(h: &mut Harness) -> Option<broker_core::session::WillMessage> {
    let close = h.expect_close();
    assert_eq!(
        close.reason,
        CloseReason::ProtocolError(ReasonCode::MalformedPacket)
    );
    close.will
}

/// The three CONNECTs with a control character in one of their strings.
fn bad_connects(h: &Harness, control: &str) -> Vec<Packet> {
    let mut in_id = h.connect_packet("");
    in_id.client_id = ClientId::new(&format!("dev{control}ice")).unwrap();
    let mut in_user = h.connect_packet("c1");
    in_user.username = Some(MqttString::new(format!("user{control}")).unwrap());
    let mut in_will = h.connect_packet("c1");
    in_will.will = Some(will(&format!("{control}will")));
    [in_id, in_user, in_will]
        .into_iter()
        .map(|connect| Packet::Connect(Box::new(connect)))
        .collect()
}

#[test]
fn v5_connect_with_a_control_character_gets_connack_0x81_mqtt_5_0_sec_1_5_4() {
    for control in CONTROLS {
        let probe = Harness::new(ProtocolVersion::V5);
        for connect in bad_connects(&probe, control) {
            let mut h = Harness::new(ProtocolVersion::V5);
            h.send(connect);
            let sent = h.sent();
            assert!(
                matches!(&sent[..], [Packet::ConnAck(ack)]
                    if ack.code == ReasonCode::MalformedPacket && !ack.session_present),
                "{control:?}: {sent:?}"
            );
            assert!(malformed_close(&mut h).is_none(), "no will before CONNACK");
            assert!(h.session.is_closed());
        }
    }
}

#[test]
fn v311_connect_with_a_control_character_is_closed_unanswered_mqtt_3_1_1_sec_1_5_3() {
    for version in [ProtocolVersion::V3_1_1, ProtocolVersion::V3_1] {
        let probe = Harness::new(version);
        for connect in bad_connects(&probe, "\u{7}") {
            let mut h = Harness::new(version);
            h.send(connect);
            assert_eq!(h.sent(), Vec::new());
            let _ = malformed_close(&mut h);
        }
    }
}

#[test]
fn control_characters_in_a_connect_are_accepted_when_allowed() {
    let probe = Harness::new(ProtocolVersion::V5);
    for connect in bad_connects(&probe, "\u{1B}") {
        let mut h = Harness::with_config(ProtocolVersion::V5, allowing());
        h.send(connect);
        let _ = h.expect_connect_request();
    }
}

fn subscribe_to(filter: &str) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: pid(1),
        subscriptions: vec![Subscription {
            filter: TopicFilter::new(filter).unwrap(),
            options: SubscriptionOptions::qos(QoS::AtMostOnce),
        }],
        properties: Default::default(),
    })
}

fn unsubscribe_from(filter: &str) -> Packet {
    Packet::Unsubscribe(Unsubscribe {
        packet_id: pid(2),
        filters: vec![TopicFilter::new(filter).unwrap()],
        properties: Default::default(),
    })
}

/// PUBLISH, SUBSCRIBE and UNSUBSCRIBE naming a topic or filter with `control`.
fn bad_packets(control: &str) -> Vec<Packet> {
    vec![
        Packet::Publish(publish(&format!("a/{control}/b"), "x", QosPid::AtMostOnce)),
        subscribe_to(&format!("a/+/{control}")),
        subscribe_to(&format!("$share/g{control}/a")),
        unsubscribe_from(&format!("{control}/#")),
    ]
}

#[test]
fn v5_publish_subscribe_unsubscribe_with_a_control_character_get_disconnect_0x81() {
    for control in CONTROLS {
        for packet in bad_packets(control) {
            let mut h = Harness::new(ProtocolVersion::V5);
            let mut connect = h.connect_packet("c1");
            connect.will = Some(will("last/words"));
            let _ = h.connect_with(connect, None);
            h.send(packet);
            let sent = h.sent();
            assert!(
                matches!(&sent[..], [Packet::Disconnect(d)] if d.code == ReasonCode::MalformedPacket),
                "{control:?}: {sent:?}"
            );
            // After CONNACK a Malformed Packet is a close without DISCONNECT from the
            // client: the will is published ([MQTT-3.1.2-8]).
            assert!(malformed_close(&mut h).is_some());
        }
    }
}

#[test]
fn v311_publish_with_a_control_character_is_closed_unanswered() {
    for packet in bad_packets("\u{1}") {
        let mut h = Harness::new(ProtocolVersion::V3_1_1);
        let _ = h.connect("c1");
        h.send(packet);
        assert_eq!(h.sent(), Vec::new());
        let _ = malformed_close(&mut h);
    }
}

#[test]
fn control_characters_after_connect_are_accepted_when_allowed() {
    let mut h = Harness::with_config(ProtocolVersion::V5, allowing());
    let _ = h.connect("c1");
    h.send(Packet::Publish(publish(
        "a/\u{85}",
        "x",
        QosPid::AtMostOnce,
    )));
    assert_eq!(h.expect_publish().message.topic.as_str(), "a/\u{85}");
    h.send(subscribe_to("a/\u{1}"));
    let _ = h.expect_subscribe();
    h.send(unsubscribe_from("a/\u{1}"));
    assert!(
        !h.commands()
            .iter()
            .any(|command| matches!(command, Command::Close(_))),
        "an allowed UNSUBSCRIBE does not close"
    );
}

#[test]
fn printable_text_beside_the_ranges_is_accepted_by_default() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let _ = h.connect("c1");
    // U+00A0 (C2 A0), U+00B0 (C2 B0), U+0100 and ASCII: none of them is a control character.
    h.send(Packet::Publish(publish(
        "°C/\u{A0}/Ā/~",
        "x",
        QosPid::AtMostOnce,
    )));
    assert_eq!(h.expect_publish().message.topic.as_str(), "°C/\u{A0}/Ā/~");
}
