//! Protocol details of the session state machine: a client's PUBLISH with a Subscription
//! Identifier, the MQTT 3.1 CONNACK, packets only a server sends, and the will on takeover
//! and with a Session Expiry Interval of 0.

use std::time::Duration;

use bytes::BytesMut;

use super::test_harness::{pid, Harness};
use super::{CloseReason, OfflineSession, SessionState};
use crate::codec::{
    AckProperties, ConnAck, Packet, Publish, QosPid, SubAck, UnsubAck, Will, WillProperties,
};
use crate::types::{ClientId, ProtocolVersion, QoS, ReasonCode, SubscriptionId, TopicName};

const V5: ProtocolVersion = ProtocolVersion::V5;

fn publish_with_subscription_id(qos_pid: QosPid) -> Publish {
    let mut publish = Publish::new(TopicName::new("a").unwrap(), "p".into());
    publish.qos_pid = qos_pid;
    publish
        .properties
        .subscription_identifiers
        .push(SubscriptionId::new(7).unwrap());
    publish
}

#[test]
fn client_publish_with_a_subscription_identifier_is_a_protocol_error_mqtt_3_3_4_6() {
    for qos_pid in [QosPid::AtMostOnce, QosPid::AtLeastOnce(pid(1))] {
        let mut h = Harness::new(V5);
        h.connect("subid");
        h.send(Packet::Publish(publish_with_subscription_id(qos_pid)));
        // No PUBACK, no routing: DISCONNECT 0x82 and close.
        assert!(matches!(
            &h.sent()[..],
            [Packet::Disconnect(d)] if d.code == ReasonCode::ProtocolError
        ));
        let close = h.expect_close();
        assert_eq!(
            close.reason,
            CloseReason::ProtocolError(ReasonCode::ProtocolError)
        );
    }
}

fn resumed(version: ProtocolVersion) -> Vec<u8> {
    let mut h = Harness::new(version);
    let mut connect = h.connect_packet("resume");
    connect.clean_start = false;
    let state = SessionState::new(ClientId::new("resume").unwrap());
    let sent = h.connect_with(connect, Some(state));
    let mut bytes = BytesMut::new();
    sent[0].encode(version, &mut bytes).unwrap();
    bytes.to_vec()
}

#[test]
fn mqtt_3_1_connack_has_no_session_present_flag() {
    // MQTT 3.1 §3.2: the first byte of the CONNACK's variable header is reserved.
    assert_eq!(resumed(ProtocolVersion::V3_1), [0x20, 0x02, 0x00, 0x00]);
    // 3.1.1 [MQTT-3.2.2-2]: Session Present 1 on a resumed session.
    assert_eq!(resumed(ProtocolVersion::V3_1_1), [0x20, 0x02, 0x01, 0x00]);
}

fn server_only_packets() -> Vec<Packet> {
    vec![
        Packet::ConnAck(Box::new(ConnAck::new(false, ReasonCode::Success))),
        Packet::SubAck(SubAck {
            packet_id: pid(1),
            codes: vec![ReasonCode::Success],
            properties: AckProperties::default(),
        }),
        Packet::UnsubAck(UnsubAck {
            packet_id: pid(1),
            codes: vec![ReasonCode::Success],
            properties: AckProperties::default(),
        }),
        Packet::PingResp,
    ]
}

#[test]
fn packets_only_a_server_sends_are_protocol_errors_mqtt_5_0_sec_2_1_2() {
    for packet in server_only_packets() {
        let mut h = Harness::new(V5);
        h.connect("direction");
        h.send(packet);
        assert!(matches!(
            &h.sent()[..],
            [Packet::Disconnect(d)] if d.code == ReasonCode::ProtocolError
        ));
        assert_eq!(
            h.expect_close().reason,
            CloseReason::ProtocolError(ReasonCode::ProtocolError)
        );
        // 3.1.1: closed ([MQTT-4.8.0-1]), no DISCONNECT.
    }
    for packet in server_only_packets() {
        let mut h = Harness::new(ProtocolVersion::V3_1_1);
        h.connect("direction");
        h.send(packet);
        assert!(h.sent().is_empty());
        assert!(h.session.is_closed());
    }
}

fn will(delay: Option<u32>) -> Will {
    Will {
        topic: TopicName::new("wills/w").unwrap(),
        payload: "gone".into(),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties {
            will_delay_interval: delay,
            ..WillProperties::default()
        },
    }
}

fn connected_with_will(delay: Option<u32>, session_expiry: Option<u32>) -> Harness {
    let mut h = Harness::new(V5);
    let mut connect = h.connect_packet("will");
    connect.will = Some(will(delay));
    connect.properties.session_expiry_interval = session_expiry;
    h.connect_with(connect, None);
    h
}

#[test]
fn takeover_hands_the_will_and_expiry_to_the_runtime_mqtt_3_1_2_8_mqtt_3_1_4_3() {
    // [MQTT-3.1.4-3]: the old connection gets DISCONNECT 0x8E and closes; its will goes with
    // the Close, with its delay and the session's expiry, for the runtime to decide: it is
    // published at once unless the new connection continues the session (Clean Start 0,
    // session expiry > 0) and the delay is not 0 ([MQTT-3.1.2-8], [MQTT-3.1.3-9]).
    let mut h = connected_with_will(Some(30), Some(600));
    h.session.take_over(h.now);
    assert!(matches!(
        &h.sent()[..],
        [Packet::Disconnect(d)] if d.code == ReasonCode::SessionTakenOver
    ));
    let close = h.expect_close();
    assert_eq!(close.reason, CloseReason::TakenOver);
    assert_eq!(close.session_expiry, 600);
    let will = close.will.expect("the will goes to the runtime");
    assert_eq!(will.delay, 30);
    assert_eq!(will.message.topic.as_str(), "wills/w");
}

#[test]
fn will_delay_with_session_expiry_0_publishes_at_the_close_mqtt_3_1_3_9() {
    // The session ends with its connection (MQTT 5.0 §3.1.2.11.2); the will is published
    // when its delay passes or the session ends, whichever comes first ([MQTT-3.1.3-9],
    // §3.1.2.5): at once. Mosquitto waits for the delay.
    let mut h = connected_with_will(Some(30), None);
    h.session.connection_lost(h.now);
    let close = h.expect_close();
    assert_eq!(close.session_expiry, 0);
    let will = close.will.expect("[MQTT-3.1.2-8]");
    let offline = OfflineSession::new(
        SessionState::new(ClientId::new("will").unwrap()),
        Some(will),
        close.session_expiry,
        h.now,
    );
    assert_eq!(offline.poll_timeout(), Some(h.now));
    let mut offline = offline;
    let event = offline.handle_timeout(h.now);
    assert!(event.expired);
    assert!(event.will.is_some());
}

#[test]
fn will_delay_shorter_than_the_session_waits_for_the_delay_mqtt_3_1_3_9() {
    let mut h = connected_with_will(Some(30), Some(600));
    h.session.connection_lost(h.now);
    let close = h.expect_close();
    let mut offline = OfflineSession::new(
        SessionState::new(ClientId::new("will").unwrap()),
        close.will,
        close.session_expiry,
        h.now,
    );
    assert_eq!(
        offline.poll_timeout(),
        Some(h.now + Duration::from_secs(30))
    );
    assert!(offline
        .handle_timeout(h.now + Duration::from_secs(29))
        .will
        .is_none());
    let event = offline.handle_timeout(h.now + Duration::from_secs(30));
    assert!(event.will.is_some());
    assert!(!event.expired);
}
