//! Acknowledgements of the wrong kind, and PUBREC with a failure code, in the session state
//! machine.
//!
//! Each acknowledgement answers one step of one kind of exchange: PUBACK a QoS 1 PUBLISH
//! (MQTT 5.0 and 3.1.1 §3.4), PUBREC a QoS 2 PUBLISH (§3.5), PUBCOMP a PUBREL (§3.7). One for
//! a packet identifier whose exchange is at another step parses, and is found inconsistent
//! with the state of the server: a Protocol Error (MQTT 5.0 §1.2), answered with DISCONNECT
//! 0x82 before the connection closes ([MQTT-4.13.1-1]). MQTT 3.1.1 closes the connection on
//! a protocol violation ([MQTT-4.8.0-1]); 3.1 has no rule of its own and is treated alike, as
//! Mosquitto does. An acknowledgement for an identifier nothing uses is ignored (a late or
//! repeated one cannot be told from a wrong one), as Mosquitto does.

use super::test_harness::{pid, Harness};
use super::{CloseReason, InflightState};
use crate::codec::{Ack, Packet};
use crate::types::{PacketId, ProtocolVersion, QoS, ReasonCode};

const VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::V3_1,
    ProtocolVersion::V3_1_1,
    ProtocolVersion::V5,
];

fn connected(version: ProtocolVersion) -> Harness {
    let mut h = Harness::new(version);
    h.connect("acks");
    h
}

fn ack(id: PacketId, code: ReasonCode) -> Ack {
    Ack {
        code,
        ..Ack::new(id)
    }
}

/// v5: DISCONNECT 0x82 with a Reason String naming the rule; 3.x: nothing. Then the
/// connection closes as for a Protocol Error.
fn assert_protocol_error(h: &mut Harness) {
    let sent = h.sent();
    if h.version == ProtocolVersion::V5 {
        match &sent[..] {
            [Packet::Disconnect(d)] => {
                assert_eq!(d.code, ReasonCode::ProtocolError);
                assert!(d.properties.reason_string.is_some());
            }
            other => panic!("expected DISCONNECT 0x82, got {other:?}"),
        }
    } else {
        assert!(sent.is_empty(), "3.x has no server DISCONNECT: {sent:?}");
    }
    let close = h.expect_close();
    assert_eq!(
        close.reason,
        CloseReason::ProtocolError(ReasonCode::ProtocolError)
    );
    assert!(h.session.is_closed());
}

#[test]
fn pubrec_for_a_qos_1_publish_is_a_protocol_error_mqtt_4_13_1_1_mqtt_4_8_0_1() {
    for version in VERSIONS {
        let mut h = connected(version);
        let id = h.deliver(QoS::AtLeastOnce).unwrap();
        h.send(Packet::PubRec(Ack::new(id)));
        assert_protocol_error(&mut h);
        // Nothing was released: the QoS 1 message is still unacknowledged.
        assert_eq!(
            h.session.state().outbound.state(id),
            Some(InflightState::AwaitingPubAck)
        );
    }
}

#[test]
fn puback_for_a_qos_2_publish_is_a_protocol_error_mqtt_4_13_1_1_mqtt_4_8_0_1() {
    for version in VERSIONS {
        let mut h = connected(version);
        let id = h.deliver(QoS::ExactlyOnce).unwrap();
        h.send(Packet::PubAck(Ack::new(id)));
        assert_protocol_error(&mut h);
        assert_eq!(
            h.session.state().outbound.state(id),
            Some(InflightState::AwaitingPubRec)
        );
    }
}

#[test]
fn puback_after_pubrel_is_a_protocol_error_mqtt_4_13_1_1_mqtt_4_8_0_1() {
    for version in VERSIONS {
        let mut h = connected(version);
        let id = h.deliver(QoS::ExactlyOnce).unwrap();
        h.send(Packet::PubRec(Ack::new(id)));
        assert!(matches!(&h.sent()[..], [Packet::PubRel(a)] if a.packet_id == id));
        h.send(Packet::PubAck(Ack::new(id)));
        assert_protocol_error(&mut h);
    }
}

#[test]
fn pubcomp_before_any_pubrel_is_a_protocol_error_mqtt_4_13_1_1_mqtt_4_8_0_1() {
    for version in VERSIONS {
        // A QoS 2 PUBLISH awaiting its PUBREC: no PUBREL was sent.
        let mut h = connected(version);
        let id = h.deliver(QoS::ExactlyOnce).unwrap();
        h.send(Packet::PubComp(Ack::new(id)));
        assert_protocol_error(&mut h);
        // A QoS 1 PUBLISH never has a PUBREL.
        let mut h = connected(version);
        let id = h.deliver(QoS::AtLeastOnce).unwrap();
        h.send(Packet::PubComp(Ack::new(id)));
        assert_protocol_error(&mut h);
    }
}

#[test]
fn acknowledgements_for_unknown_identifiers_keep_the_connection() {
    for version in VERSIONS {
        let mut h = connected(version);
        h.send(Packet::PubAck(Ack::new(pid(7))));
        h.send(Packet::PubComp(Ack::new(pid(7))));
        assert!(h.sent().is_empty());
        // MQTT 5.0 §3.6.2.1: PUBREL 0x92 Packet Identifier not found (no code on 3.x).
        h.send(Packet::PubRec(Ack::new(pid(7))));
        assert!(matches!(
            &h.sent()[..],
            [Packet::PubRel(a)] if a.code == ReasonCode::PacketIdentifierNotFound
        ));
        assert!(h.commands().is_empty());
        assert!(h.session.is_connected());
    }
}

#[test]
fn acknowledgements_of_the_right_kind_complete_their_exchanges_mqtt_4_3_2_3_mqtt_4_3_3_5() {
    for version in VERSIONS {
        let mut h = connected(version);
        let one = h.deliver(QoS::AtLeastOnce).unwrap();
        let two = h.deliver(QoS::ExactlyOnce).unwrap();
        h.send(Packet::PubAck(Ack::new(one)));
        h.send(Packet::PubRec(Ack::new(two)));
        assert!(matches!(&h.sent()[..], [Packet::PubRel(a)] if a.packet_id == two));
        // A repeated PUBREC gets the PUBREL again.
        h.send(Packet::PubRec(Ack::new(two)));
        assert!(matches!(&h.sent()[..], [Packet::PubRel(a)] if a.packet_id == two));
        h.send(Packet::PubComp(Ack::new(two)));
        assert!(h.sent().is_empty());
        assert!(h.commands().is_empty());
        assert!(h.session.state().outbound.is_empty());
        assert!(h.session.is_connected());
    }
}

#[test]
fn failing_pubrec_ends_the_flow_without_pubrel_mqtt_4_4_0_2() {
    let mut h = connected(ProtocolVersion::V5);
    // Known identifier awaiting PUBREC: the exchange is over, its identifier free.
    let id = h.deliver(QoS::ExactlyOnce).unwrap();
    h.send(Packet::PubRec(ack(id, ReasonCode::QuotaExceeded)));
    assert!(h.sent().is_empty());
    assert!(h.session.state().outbound.is_empty());
    // Unknown identifier: no PUBREL either, not even 0x92.
    h.send(Packet::PubRec(ack(pid(40), ReasonCode::UnspecifiedError)));
    assert!(h.sent().is_empty());
    // Identifier released already (PUBREL sent): no second PUBREL, still awaiting PUBCOMP.
    let id = h.deliver(QoS::ExactlyOnce).unwrap();
    h.send(Packet::PubRec(Ack::new(id)));
    assert_eq!(h.sent().len(), 1);
    h.send(Packet::PubRec(ack(
        id,
        ReasonCode::ImplementationSpecificError,
    )));
    assert!(h.sent().is_empty());
    assert_eq!(
        h.session.state().outbound.state(id),
        Some(InflightState::AwaitingPubComp)
    );
    assert!(h.commands().is_empty());
    assert!(h.session.is_connected());
}
