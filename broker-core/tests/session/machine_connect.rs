//! The session state machine from CONNECT to CONNACK, for every protocol version.

use std::time::Duration;

use broker_core::codec::{ConnAck, Connect, Packet, Will};
use broker_core::session::{CloseReason, SessionConfig, SessionState};
use broker_core::types::{ClientId, ProtocolVersion, QoS, ReasonCode};

use crate::harness::{topic, Harness};

fn connack(packets: &[Packet]) -> &ConnAck {
    match packets.first() {
        Some(Packet::ConnAck(connack)) => connack,
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

#[test]
fn v311_connect_is_accepted_without_session_present_mqtt_3_2_2_1() {
    let mut h = Harness::new(ProtocolVersion::V3_1_1);
    let sent = h.connect("c1");
    let ack = connack(&sent);
    assert_eq!(ack.code, ReasonCode::Success);
    assert!(!ack.session_present);
    assert_eq!(h.session.client_id().map(ClientId::as_str), Some("c1"));
}

#[test]
fn resumed_session_sets_session_present_mqtt_3_2_2_2() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut connect = h.connect_packet("c1");
    connect.clean_start = false;
    let sent = h.connect_with(
        connect,
        Some(SessionState::new(ClientId::new("c1").unwrap())),
    );
    assert!(connack(&sent).session_present);
}

#[test]
fn connect_request_carries_what_the_runtime_needs() {
    let mut h = Harness::new(ProtocolVersion::V3_1_1);
    let mut connect = h.connect_packet("c1");
    connect.clean_start = false;
    connect.keep_alive = 30;
    h.send(Packet::Connect(Box::new(connect)));
    let request = h.expect_connect_request();
    assert_eq!(request.client_id.as_str(), "c1");
    assert!(!request.clean_start);
    assert_eq!(request.keep_alive, 30);
    // A 3.1.1 persistent session lasts as long as the server allows.
    assert_eq!(
        request.session_expiry,
        SessionConfig::default().max_session_expiry
    );
    assert!(h.sent().is_empty(), "no CONNACK before the runtime answers");
}

#[test]
fn v5_empty_client_id_is_assigned_mqtt_3_1_3_6_and_3_1_3_7() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let sent = h.connect("");
    let ack = connack(&sent);
    assert_eq!(ack.code, ReasonCode::Success);
    let assigned = ack.properties.assigned_client_identifier.clone().unwrap();
    assert!(!assigned.as_str().is_empty());
    assert_eq!(h.session.client_id(), Some(&assigned));
}

#[test]
fn v311_empty_client_id_with_clean_session_0_is_rejected_mqtt_3_1_3_8() {
    let mut h = Harness::new(ProtocolVersion::V3_1_1);
    let mut connect = h.connect_packet("");
    connect.clean_start = false;
    h.send(Packet::Connect(Box::new(connect)));
    let sent = h.sent();
    assert_eq!(connack(&sent).code, ReasonCode::ClientIdentifierNotValid);
    let close = h.expect_close();
    assert_eq!(
        close.reason,
        CloseReason::ConnectRefused(ReasonCode::ClientIdentifierNotValid)
    );
    assert!(close.will.is_none());
}

#[test]
fn v311_empty_client_id_with_clean_session_1_is_assigned() {
    let mut h = Harness::new(ProtocolVersion::V3_1_1);
    let sent = h.connect("");
    assert_eq!(connack(&sent).code, ReasonCode::Success);
    assert!(
        connack(&sent)
            .properties
            .assigned_client_identifier
            .is_none(),
        "3.1.1 has no properties"
    );
}

#[test]
fn v31_empty_or_long_client_id_is_rejected() {
    for id in ["", "abcdefghijklmnopqrstuvwx"] {
        let mut h = Harness::new(ProtocolVersion::V3_1);
        let connect = h.connect_packet(id);
        h.send(Packet::Connect(Box::new(connect)));
        assert_eq!(
            connack(&h.sent()).code,
            ReasonCode::ClientIdentifierNotValid,
            "{id:?}"
        );
    }
}

#[test]
fn client_id_over_configured_length_is_rejected_mqtt_3_1_3_8() {
    let mut config = SessionConfig::default();
    config.max_client_id_len = 4;
    let mut h = Harness::with_config(ProtocolVersion::V5, config);
    let connect = h.connect_packet("toolong");
    h.send(Packet::Connect(Box::new(connect)));
    assert_eq!(
        connack(&h.sent()).code,
        ReasonCode::ClientIdentifierNotValid
    );
}

#[test]
fn runtime_rejection_sends_connack_code_and_closes_mqtt_3_2_2_6() {
    let mut h = Harness::new(ProtocolVersion::V5);
    let connect = h.connect_packet("c1");
    h.send(Packet::Connect(Box::new(connect)));
    let _ = h.expect_connect_request();
    h.session.reject(ReasonCode::NotAuthorized, h.now);
    let sent = h.sent();
    assert_eq!(connack(&sent).code, ReasonCode::NotAuthorized);
    assert!(!connack(&sent).session_present);
    assert!(h.session.is_closed());
    let _ = h.expect_close();
}

#[test]
fn second_connect_is_a_protocol_error_mqtt_3_1_0_2() {
    let mut h = Harness::new(ProtocolVersion::V5);
    h.connect("c1");
    let connect = h.connect_packet("c1");
    h.send(Packet::Connect(Box::new(connect)));
    let sent = h.sent();
    assert!(matches!(&sent[..], [Packet::Disconnect(d)] if d.code == ReasonCode::ProtocolError));
    assert_eq!(
        h.expect_close().reason,
        CloseReason::ProtocolError(ReasonCode::ProtocolError)
    );
}

#[test]
fn packet_before_connect_closes_without_answer_mqtt_3_1_0_1() {
    let mut h = Harness::new(ProtocolVersion::V3_1_1);
    h.send(Packet::PingReq);
    assert!(h.sent().is_empty());
    assert!(matches!(
        h.expect_close().reason,
        CloseReason::ProtocolError(_)
    ));
}

#[test]
fn no_connect_in_time_closes_the_connection() {
    let mut h = Harness::new(ProtocolVersion::V3_1_1);
    let timeout = SessionConfig::default().connect_timeout;
    assert_eq!(h.session.poll_timeout(), Some(h.now + timeout));
    h.advance(timeout - Duration::from_millis(1));
    assert!(!h.session.is_closed());
    h.advance(Duration::from_millis(1));
    assert_eq!(h.expect_close().reason, CloseReason::ConnectTimeout);
}

#[test]
fn will_qos_above_maximum_is_refused_mqtt_3_2_2_12() {
    let mut config = SessionConfig::default();
    config.max_qos = QoS::AtLeastOnce;
    let mut h = Harness::with_config(ProtocolVersion::V5, config);
    let mut connect = h.connect_packet("c1");
    connect.will = Some(will("w", QoS::ExactlyOnce, false));
    h.send(Packet::Connect(Box::new(connect)));
    assert_eq!(connack(&h.sent()).code, ReasonCode::QoSNotSupported);
}

#[test]
fn will_retain_without_retain_support_is_refused_mqtt_3_2_2_13() {
    let mut config = SessionConfig::default();
    config.retain_available = false;
    let mut h = Harness::with_config(ProtocolVersion::V5, config);
    let mut connect = h.connect_packet("c1");
    connect.will = Some(will("w", QoS::AtMostOnce, true));
    h.send(Packet::Connect(Box::new(connect)));
    assert_eq!(connack(&h.sent()).code, ReasonCode::RetainNotSupported);
}

#[test]
fn v5_connack_announces_capabilities_and_limits() {
    let mut config = SessionConfig::default();
    config.max_qos = QoS::AtLeastOnce;
    config.retain_available = false;
    config.wildcard_subscriptions = false;
    config.shared_subscriptions = false;
    config.subscription_identifiers = false;
    config.max_keep_alive = Some(30);
    let mut h = Harness::with_config(ProtocolVersion::V5, config.clone());
    let mut connect = h.connect_packet("c1");
    connect.keep_alive = 0;
    connect.properties.session_expiry_interval = Some(u32::MAX);
    let sent = h.connect_with(connect, None);
    let p = &connack(&sent).properties;
    assert_eq!(p.maximum_qos, Some(QoS::AtLeastOnce));
    assert_eq!(p.retain_available, Some(false));
    assert_eq!(p.wildcard_subscription_available, Some(false));
    assert_eq!(p.shared_subscription_available, Some(false));
    assert_eq!(p.subscription_identifiers_available, Some(false));
    // [MQTT-3.2.2-21]: the server's Keep Alive replaces the client's 0.
    assert_eq!(p.server_keep_alive, Some(30));
    assert_eq!(h.session.keep_alive().seconds(), 30);
    // The granted expiry differs from the requested one: it is sent.
    assert_eq!(p.session_expiry_interval, Some(config.max_session_expiry));
    assert_eq!(p.receive_maximum, Some(config.receive_maximum));
    assert_eq!(p.topic_alias_maximum, Some(config.topic_alias_maximum));
    assert_eq!(
        p.maximum_packet_size.map(|m| m.get()),
        Some(config.max_packet_size)
    );
}

#[test]
fn v311_connack_has_no_properties() {
    let mut h = Harness::new(ProtocolVersion::V3_1_1);
    let sent = h.connect("c1");
    assert_eq!(connack(&sent).properties, Default::default());
}

#[test]
fn packets_sent_before_connack_are_handled_after_it() {
    let mut h = Harness::new(ProtocolVersion::V3_1_1);
    let connect = h.connect_packet("c1");
    h.send(Packet::Connect(Box::new(connect)));
    h.send(Packet::PingReq);
    let _ = h.expect_connect_request();
    h.session.accept(None, h.now);
    let sent = h.sent();
    assert!(
        matches!(&sent[..], [Packet::ConnAck(_), Packet::PingResp]),
        "{sent:?}"
    );
}

fn will(name: &str, qos: QoS, retain: bool) -> Will {
    Will {
        topic: topic(name),
        payload: "gone".into(),
        qos,
        retain,
        properties: Default::default(),
    }
}

#[test]
fn connect_packet_helper_matches_version() {
    let h = Harness::new(ProtocolVersion::V3_1);
    let c: Connect = h.connect_packet("x");
    assert_eq!(c.protocol, ProtocolVersion::V3_1);
}
