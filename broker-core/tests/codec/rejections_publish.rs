//! Negative tests, PUBLISH and its acknowledgements, DISCONNECT and AUTH: QoS and DUP, packet
//! identifiers, topic names, topic aliases and the reason codes each packet may carry.
//!
//! Each test feeds hand-written bytes (one field a line) to a [`Decoder`] and checks the exact
//! error, the MQTT 5.0 reason code and the answer after CONNACK (DISCONNECT with that code for
//! 5.0, a plain close for 3.x). Tests are named after the normative statement they check;
//! `docs/conformance.md` maps statements to tests.

use broker_core::codec::{Decoder, ErrorAnswer, Packet, PacketType, Violation};
use broker_core::types::ReasonCode;

use crate::rejection_support;
use crate::rejection_support::{accepts, first_error, rejects, wire, V31, V311, V5};

const MALFORMED: ReasonCode = ReasonCode::MalformedPacket;
const PROTOCOL: ReasonCode = ReasonCode::ProtocolError;

// ---- QoS and DUP ----

#[test]
fn mqtt_3_3_1_4_publish_qos_3_is_malformed() {
    // [MQTT-3.3.1-4] (same id in 3.1.1): "Use DISCONNECT with Reason Code 0x81".
    let bytes = wire(
        "
        36        // PUBLISH, QoS 3
        07        // remaining length 7
        00 03     // topic length 3
        61 2F 62  // topic 'a/b'
        00 01     // packet identifier 1
        ",
    );
    let err = rejects(V5, &bytes, Violation::InvalidQoS, MALFORMED);
    assert_eq!(
        err.answer(Some(V5), true),
        ErrorAnswer::Disconnect(MALFORMED)
    );
    assert!(err.to_string().starts_with("[MQTT-3.3.1-4] "), "{err}");
    let err = rejects(V311, &bytes, Violation::InvalidQoS, MALFORMED);
    assert_eq!(err.answer(Some(V311), true), ErrorAnswer::Close);
    // The first byte alone is enough, with DUP and RETAIN set or not.
    for first in [0x36, 0x37, 0x3E, 0x3F] {
        let mut bytes = bytes.clone();
        bytes[0] = first;
        for version in [V5, V311, V31] {
            let (err, at) = first_error(Decoder::with_version(version), &bytes);
            assert_eq!((err, at), (Violation::InvalidQoS.into(), 1), "{first:02X}");
        }
    }
}

#[test]
fn mqtt_3_3_1_2_dup_on_qos_0_is_malformed() {
    // [MQTT-3.3.1-2] (same id in 3.1.1)
    let bytes = wire(
        "
        38        // PUBLISH, DUP, QoS 0
        05        // remaining length 5
        00 03     // topic length 3
        61 2F 62  // topic 'a/b'
        ",
    );
    rejects(V311, &bytes, Violation::DupOnQoS0, MALFORMED);
    let v5 = wire(
        "
        39        // PUBLISH, DUP, QoS 0, RETAIN
        06        // remaining length 6
        00 03     // topic length 3
        61 2F 62  // topic 'a/b'
        00        // property length 0
        ",
    );
    rejects(V5, &v5, Violation::DupOnQoS0, MALFORMED);
    // DUP on QoS 1 is a re-delivery.
    let ok = wire(
        "
        3A        // PUBLISH, DUP, QoS 1
        07        // remaining length 7
        00 03     // topic length 3
        61 2F 62  // topic 'a/b'
        00 01     // packet identifier 1
        ",
    );
    assert!(matches!(accepts(Some(V311), &ok), Packet::Publish(p) if p.dup));
}

// ---- packet identifiers ----

#[test]
fn mqtt_2_2_1_3_publish_packet_id_0_is_malformed() {
    // [MQTT-2.2.1-3], [MQTT-2.2.1-4] (3.1.1: [MQTT-2.3.1-1])
    let qos1 = wire(
        "
        32        // PUBLISH, QoS 1
        07        // remaining length 7
        00 03     // topic length 3
        61 2F 62  // topic 'a/b'
        00 00     // packet identifier 0
        ",
    );
    rejects(V311, &qos1, Violation::ZeroPacketId, MALFORMED);
    rejects(V31, &qos1, Violation::ZeroPacketId, MALFORMED);
    let qos2 = wire(
        "
        34        // PUBLISH, QoS 2
        08        // remaining length 8
        00 03     // topic length 3
        61 2F 62  // topic 'a/b'
        00 00     // packet identifier 0
        00        // property length 0
        ",
    );
    rejects(V5, &qos2, Violation::ZeroPacketId, MALFORMED);
    assert_eq!(Violation::ZeroPacketId.statement(), "MQTT-2.2.1-3");
    assert_eq!(
        Violation::ZeroPacketId.statement_v311(),
        Some("MQTT-2.3.1-1")
    );
}

#[test]
fn mqtt_2_2_1_5_ack_packet_id_0_is_malformed() {
    // [MQTT-2.2.1-5] (3.1.1: [MQTT-2.3.1-6]): an ack echoes the PUBLISH's identifier, never 0.
    for (first, name) in [
        (0x40, "PUBACK"),
        (0x50, "PUBREC"),
        (0x62, "PUBREL"),
        (0x70, "PUBCOMP"),
    ] {
        let mut bytes = vec![first];
        bytes.extend(wire(
            "
            02     // remaining length 2
            00 00  // packet identifier 0
            ",
        ));
        for version in [V5, V311] {
            let err = rejects(version, &bytes, Violation::ZeroPacketId, MALFORMED);
            assert_eq!(err, Violation::ZeroPacketId.into(), "{name}");
        }
    }
}

// ---- topic names ----

#[test]
fn mqtt_3_3_2_2_topic_name_with_a_wildcard_is_malformed() {
    // [MQTT-3.3.2-2], [MQTT-4.7.0-1] (3.1.1: [MQTT-3.3.2-2], [MQTT-4.7.1-1])
    let v5 = wire(
        "
        30        // PUBLISH, QoS 0
        06        // remaining length 6
        00 03     // topic length 3
        61 2F 2B  // topic 'a/+'
        00        // property length 0
        ",
    );
    rejects(V5, &v5, Violation::WildcardInTopicName, MALFORMED);
    let v311 = wire(
        "
        30     // PUBLISH, QoS 0
        03     // remaining length 3
        00 01  // topic length 1
        23     // topic '#'
        ",
    );
    rejects(V311, &v311, Violation::WildcardInTopicName, MALFORMED);
    rejects(V31, &v311, Violation::WildcardInTopicName, MALFORMED);
}

#[test]
fn mqtt_3_3_2_14_response_topic_with_a_wildcard_is_malformed() {
    // [MQTT-3.3.2-14]; the Will's Response Topic (§3.1.3.2.5) is a Topic Name too.
    let publish = wire(
        "
        30                 // PUBLISH, QoS 0
        0A                 // remaining length 10
        00 01 61           // topic 'a'
        06                 // property length 6
        08 00 03 61 2F 23  // Response Topic 'a/#'
        ",
    );
    rejects(V5, &publish, Violation::WildcardInTopicName, MALFORMED);
    let will = wire(
        "
        10                 // CONNECT
        17                 // remaining length 23
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        06                 // connect flags: will (QoS 0), clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 00              // client id ''
        04                 // will property length 4
        08 00 01 2B        // Response Topic '+'
        00 01 77           // will topic 'w'
        00 00              // will payload, empty
        ",
    );
    let (err, version) =
        rejection_support::rejects_on(None, &will, Violation::WildcardInTopicName, MALFORMED);
    assert_eq!(
        err.answer(version, false),
        ErrorAnswer::ConnAck {
            version: V5,
            code: MALFORMED
        }
    );
}

#[test]
fn mqtt_4_7_3_1_empty_topic_name_is_malformed_in_3_x() {
    // [MQTT-4.7.3-1] (same id in 3.1.1); 3.1: "A topic must be at least one character long."
    let qos0 = wire(
        "
        30     // PUBLISH, QoS 0
        02     // remaining length 2
        00 00  // topic ''
        ",
    );
    rejects(V311, &qos0, Violation::EmptyTopic, MALFORMED);
    rejects(V31, &qos0, Violation::EmptyTopic, MALFORMED);
    let qos1 = wire(
        "
        32     // PUBLISH, QoS 1
        05     // remaining length 5
        00 00  // topic ''
        00 01  // packet identifier 1
        78     // payload 'x'
        ",
    );
    rejects(V311, &qos1, Violation::EmptyTopic, MALFORMED);
}

#[test]
fn mqtt5_sec_3_3_2_1_empty_topic_name_without_topic_alias_is_a_protocol_error() {
    // [MQTT-5.0 §3.3.2.1]: "It is a Protocol Error if the Topic Name is zero length and there
    // is no Topic Alias."
    let bytes = wire(
        "
        30     // PUBLISH, QoS 0
        03     // remaining length 3
        00 00  // topic ''
        00     // property length 0
        ",
    );
    let err = rejects(V5, &bytes, Violation::MissingTopicName, PROTOCOL);
    assert_eq!(
        err.answer(Some(V5), true),
        ErrorAnswer::Disconnect(PROTOCOL)
    );
    // With a Topic Alias the empty name is how an established alias is used.
    let aliased = wire(
        "
        30        // PUBLISH, QoS 0
        06        // remaining length 6
        00 00     // topic ''
        03        // property length 3
        23 00 01  // Topic Alias 1
        ",
    );
    assert!(matches!(accepts(Some(V5), &aliased), Packet::Publish(p) if p.topic.is_none()));
}

#[test]
fn mqtt_3_3_2_8_topic_alias_0_is_topic_alias_invalid() {
    // [MQTT-3.3.2-8]; §3.3.4: "A Topic Alias value of 0 … is a Protocol Error, the receiver
    // uses DISCONNECT with Reason Code of 0x94 (Topic Alias invalid)".
    let bytes = wire(
        "
        30        // PUBLISH, QoS 0
        07        // remaining length 7
        00 01 61  // topic 'a'
        03        // property length 3
        23 00 00  // Topic Alias 0
        ",
    );
    let err = rejects(
        V5,
        &bytes,
        Violation::ZeroTopicAlias,
        ReasonCode::TopicAliasInvalid,
    );
    assert_eq!(
        err.answer(Some(V5), true),
        ErrorAnswer::Disconnect(ReasonCode::TopicAliasInvalid)
    );
}

// ---- reason codes ----

#[test]
fn mqtt_3_4_2_1_puback_reason_code_must_be_a_puback_code() {
    // [MQTT-3.4.2-1]: Table 3-4.
    for (code, name) in [
        (ReasonCode::DisconnectWithWill, "0x04: a DISCONNECT code"),
        (ReasonCode::PacketIdentifierNotFound, "0x92: a PUBREL code"),
        (ReasonCode::ContinueAuthentication, "0x18: an AUTH code"),
    ] {
        let mut bytes = wire(
            "
            40     // PUBACK
            03     // remaining length 3
            00 01  // packet identifier 1
            ",
        );
        bytes.push(code.get());
        let expected = Violation::ReasonCodeNotAllowed {
            packet: PacketType::PubAck,
            code,
        };
        let err = rejects(V5, &bytes, expected, PROTOCOL);
        assert!(
            err.to_string().starts_with("[MQTT-3.4.2-1] "),
            "{name}: {err}"
        );
    }
}

#[test]
fn mqtt5_sec_2_4_unknown_reason_code_is_malformed() {
    // [MQTT-5.0 §2.4]: 0x03 is no reason code at all.
    let puback = wire(
        "
        40     // PUBACK
        03     // remaining length 3
        00 01  // packet identifier 1
        03     // reason code 0x03
        ",
    );
    rejects(V5, &puback, Violation::UnknownReasonCode(0x03), MALFORMED);
    let disconnect = wire(
        "
        E0  // DISCONNECT
        01  // remaining length 1
        05  // reason code 0x05
        ",
    );
    rejects(
        V5,
        &disconnect,
        Violation::UnknownReasonCode(0x05),
        MALFORMED,
    );
}

#[test]
fn mqtt_3_5_2_1_pubrec_reason_code_must_be_a_pubrec_code() {
    // [MQTT-3.5.2-1]: Table 3-5.
    let bytes = wire(
        "
        50     // PUBREC
        03     // remaining length 3
        00 01  // packet identifier 1
        92     // reason code Packet Identifier not found: PUBREL and PUBCOMP only
        ",
    );
    let expected = Violation::ReasonCodeNotAllowed {
        packet: PacketType::PubRec,
        code: ReasonCode::PacketIdentifierNotFound,
    };
    rejects(V5, &bytes, expected, PROTOCOL);
    assert_eq!(expected.statement(), "MQTT-3.5.2-1");
}

#[test]
fn mqtt_3_6_2_1_pubrel_reason_code_must_be_a_pubrel_code() {
    // [MQTT-3.6.2-1]: Table 3-6, 0x00 and 0x92 only.
    let bytes = wire(
        "
        62     // PUBREL
        03     // remaining length 3
        00 01  // packet identifier 1
        10     // reason code No matching subscribers: PUBACK and PUBREC only
        ",
    );
    let expected = Violation::ReasonCodeNotAllowed {
        packet: PacketType::PubRel,
        code: ReasonCode::NoMatchingSubscribers,
    };
    rejects(V5, &bytes, expected, PROTOCOL);
    assert_eq!(expected.statement(), "MQTT-3.6.2-1");
}

#[test]
fn mqtt_3_7_2_1_pubcomp_reason_code_must_be_a_pubcomp_code() {
    // [MQTT-3.7.2-1]: Table 3-7, 0x00 and 0x92 only.
    let bytes = wire(
        "
        70     // PUBCOMP
        03     // remaining length 3
        00 01  // packet identifier 1
        80     // reason code Unspecified error
        ",
    );
    let expected = Violation::ReasonCodeNotAllowed {
        packet: PacketType::PubComp,
        code: ReasonCode::UnspecifiedError,
    };
    rejects(V5, &bytes, expected, PROTOCOL);
    assert_eq!(expected.statement(), "MQTT-3.7.2-1");
}

#[test]
fn mqtt_3_14_2_1_disconnect_reason_code_must_be_a_disconnect_code() {
    // [MQTT-3.14.2-1]: Table 3-10.
    let bytes = wire(
        "
        E0  // DISCONNECT
        01  // remaining length 1
        18  // reason code Continue authentication: AUTH only
        ",
    );
    let expected = Violation::ReasonCodeNotAllowed {
        packet: PacketType::Disconnect,
        code: ReasonCode::ContinueAuthentication,
    };
    rejects(V5, &bytes, expected, PROTOCOL);
    assert_eq!(expected.statement(), "MQTT-3.14.2-1");
}

#[test]
fn mqtt_3_15_2_1_auth_reason_code_must_be_an_auth_code() {
    // [MQTT-3.15.2-1]: Table 3-11, 0x00, 0x18 and 0x19 only.
    let bytes = wire(
        "
        F0  // AUTH
        01  // remaining length 1
        87  // reason code Not authorized
        ",
    );
    let expected = Violation::ReasonCodeNotAllowed {
        packet: PacketType::Auth,
        code: ReasonCode::NotAuthorized,
    };
    rejects(V5, &bytes, expected, PROTOCOL);
    assert_eq!(expected.statement(), "MQTT-3.15.2-1");
    assert!(matches!(
        accepts(Some(V5), &wire("F0 01 19 // AUTH, Re-authenticate")),
        Packet::Auth(_)
    ));
}
