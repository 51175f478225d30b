//! Negative tests, framing: the fixed header (packet type and flags), the Variable Byte
//! Integer and the maximum packet size; and the statement and reason code of every error.
//!
//! Each test feeds hand-written bytes (one field a line) to a [`Decoder`] and checks the exact
//! error, the MQTT 5.0 reason code it maps to and the answer the broker sends. Tests are named
//! after the normative statement they check (`mqtt_x_y_z_n_…`), or after the section
//! (`mqtt5_sec_…`) where the rule has no id. `docs/conformance.md` maps statements to tests;
//! the other packet families are in `rejections_*.rs`.

use broker_core::codec::{
    DecodeError, Decoder, ErrorAnswer, Packet, PacketType, PropertyId, Violation,
};
use broker_core::types::ReasonCode;
use bytes::BytesMut;

use crate::rejection_support;
use crate::rejection_support::{accepts, first_error, rejects, rejects_on, wire, V31, V311, V5};

const MALFORMED: ReasonCode = ReasonCode::MalformedPacket;
const PROTOCOL: ReasonCode = ReasonCode::ProtocolError;

// ---- fixed header: packet type and flags ----

#[test]
fn mqtt5_sec_2_1_2_packet_type_0_is_malformed() {
    // [MQTT-5.0 §2.1.2] (3.1.1 §2.2.1): type 0 is "Reserved / Forbidden".
    let bytes = wire(
        "
        00  // type 0, flags 0000
        00  // remaining length 0
        ",
    );
    for version in [V5, V311, V31] {
        rejects(version, &bytes, Violation::ReservedPacketType(0), MALFORMED);
    }
    // Also as the first packet, and from the first byte alone.
    rejects_on(None, &bytes, Violation::ReservedPacketType(0), MALFORMED);
    assert_eq!(first_error(Decoder::new(), &bytes).1, 1);
}

#[test]
fn mqtt5_sec_2_1_2_auth_does_not_exist_before_5_0() {
    // [MQTT-5.0 §2.1.2] (3.1.1 §2.2.1: type 15 is "Reserved / Forbidden").
    let bytes = wire(
        "
        F0  // AUTH, flags 0000
        00  // remaining length 0
        ",
    );
    for version in [V311, V31] {
        let err = rejects(
            version,
            &bytes,
            Violation::PacketNotInVersion(PacketType::Auth),
            PROTOCOL,
        );
        assert_eq!(err.answer(Some(version), true), ErrorAnswer::Close);
    }
    assert!(matches!(accepts(Some(V5), &bytes), Packet::Auth(_)));
}

#[test]
fn mqtt_2_1_3_1_reserved_flags_must_be_0000() {
    // [MQTT-2.1.3-1] (3.1.1: [MQTT-2.2.2-1], [MQTT-2.2.2-2]): every packet type but PUBLISH,
    // PUBREL, SUBSCRIBE and UNSUBSCRIBE has the flags 0000. The first byte alone is rejected.
    let cases = [
        (
            PacketType::Connect,
            0b0001,
            wire(
                "
                11                 // CONNECT, flags 0001
                0C                 // remaining length 12
                00 04 4D 51 54 54  // protocol name 'MQTT'
                04                 // protocol level 4
                02                 // connect flags: clean session
                00 3C              // keep alive 60 s
                00 00              // client id ''
                ",
            ),
        ),
        (
            PacketType::ConnAck,
            0b1000,
            wire(
                "
                28  // CONNACK, flags 1000
                02  // remaining length 2
                00  // acknowledge flags
                00  // return code 0
                ",
            ),
        ),
        (
            PacketType::PubAck,
            0b0010,
            wire("42 02 0001 // PUBACK, 0010"),
        ),
        (
            PacketType::PubRec,
            0b0100,
            wire("54 02 0001 // PUBREC, 0100"),
        ),
        (
            PacketType::PubComp,
            0b1111,
            wire("7F 02 0001 // PUBCOMP, 1111"),
        ),
        (
            PacketType::SubAck,
            0b0010,
            wire("92 03 0001 00 // SUBACK, 0010"),
        ),
        (
            PacketType::UnsubAck,
            0b0010,
            wire("B2 02 0001 // UNSUBACK, 0010"),
        ),
        (PacketType::PingReq, 0b0010, wire("C2 00 // PINGREQ, 0010")),
        (
            PacketType::PingResp,
            0b0001,
            wire("D1 00 // PINGRESP, 0001"),
        ),
    ];
    for (packet, flags, bytes) in cases {
        let expected = Violation::ReservedFlags { packet, flags };
        for version in [V5, V311] {
            rejects(version, &bytes, expected, MALFORMED);
        }
        let (err, at) = first_error(Decoder::with_version(V311), &bytes);
        assert_eq!((err, at), (expected.into(), 1));
        assert_eq!(expected.statement(), "MQTT-2.1.3-1");
        assert_eq!(expected.statement_v311(), Some("MQTT-2.2.2-2"));
    }
}

#[test]
fn mqtt_3_6_1_1_pubrel_flags_must_be_0010() {
    // [MQTT-3.6.1-1] (same id in 3.1.1)
    let bytes = wire(
        "
        60     // PUBREL, flags 0000 instead of 0010
        02     // remaining length 2
        00 01  // packet identifier 1
        ",
    );
    let expected = Violation::ReservedFlags {
        packet: PacketType::PubRel,
        flags: 0,
    };
    for version in [V5, V311, V31] {
        rejects(version, &bytes, expected, MALFORMED);
    }
    // DUP set (1010) is how MQTT 3.1 retries a PUBREL; 3.1.1 and 5.0 reserve it.
    let dup = wire("6A 02 0001 // PUBREL, flags 1010, packet identifier 1");
    let expected = Violation::ReservedFlags {
        packet: PacketType::PubRel,
        flags: 0b1010,
    };
    rejects(V5, &dup, expected, MALFORMED);
    rejects(V311, &dup, expected, MALFORMED);
    assert!(matches!(accepts(Some(V31), &dup), Packet::PubRel(_)));
    assert!(matches!(
        accepts(Some(V5), &wire("62 02 0001")),
        Packet::PubRel(_)
    ));
}

#[test]
fn mqtt_3_8_1_1_subscribe_flags_must_be_0010() {
    // [MQTT-3.8.1-1] (same id in 3.1.1)
    let bytes = wire(
        "
        80        // SUBSCRIBE, flags 0000 instead of 0010
        06        // remaining length 6
        00 01     // packet identifier 1
        00 01 61  // topic filter 'a'
        00        // requested QoS 0
        ",
    );
    let expected = Violation::ReservedFlags {
        packet: PacketType::Subscribe,
        flags: 0,
    };
    rejects(V311, &bytes, expected, MALFORMED);
    assert_eq!(first_error(Decoder::with_version(V311), &bytes).1, 1);
    let bytes = wire(
        "
        83        // SUBSCRIBE, flags 0011
        07        // remaining length 7
        00 01     // packet identifier 1
        00        // property length 0
        00 01 61  // topic filter 'a'
        00        // subscription options
        ",
    );
    let expected = Violation::ReservedFlags {
        packet: PacketType::Subscribe,
        flags: 0b0011,
    };
    rejects(V5, &bytes, expected, MALFORMED);
}

#[test]
fn mqtt_3_10_1_1_unsubscribe_flags_must_be_0010() {
    // [MQTT-3.10.1-1] (same id in 3.1.1)
    let bytes = wire(
        "
        A0        // UNSUBSCRIBE, flags 0000 instead of 0010
        05        // remaining length 5
        00 01     // packet identifier 1
        00 01 61  // topic filter 'a'
        ",
    );
    let expected = Violation::ReservedFlags {
        packet: PacketType::Unsubscribe,
        flags: 0,
    };
    rejects(V311, &bytes, expected, MALFORMED);
    rejects(V31, &bytes, expected, MALFORMED);
    let dup = wire("AA 05 0001 0001 61 // UNSUBSCRIBE, flags 1010 (a 3.1 retry)");
    rejects(
        V311,
        &dup,
        Violation::ReservedFlags {
            packet: PacketType::Unsubscribe,
            flags: 0b1010,
        },
        MALFORMED,
    );
    assert!(matches!(accepts(Some(V31), &dup), Packet::Unsubscribe(_)));
}

#[test]
fn mqtt_3_14_1_1_disconnect_flags_must_be_0000() {
    // [MQTT-3.14.1-1] (same id in 3.1.1): "sends a DISCONNECT packet with a Reason code of 0x81".
    let bytes = wire(
        "
        E2  // DISCONNECT, flags 0010
        00  // remaining length 0
        ",
    );
    let expected = Violation::ReservedFlags {
        packet: PacketType::Disconnect,
        flags: 0b0010,
    };
    let err = rejects(V5, &bytes, expected, MALFORMED);
    assert_eq!(
        err.answer(Some(V5), true),
        ErrorAnswer::Disconnect(MALFORMED)
    );
    rejects(V311, &bytes, expected, MALFORMED);
    assert_eq!(expected.statement(), "MQTT-3.14.1-1");
}

#[test]
fn mqtt_3_15_1_1_auth_flags_must_be_0000() {
    // [MQTT-3.15.1-1]
    let bytes = wire(
        "
        F1  // AUTH, flags 0001
        00  // remaining length 0
        ",
    );
    let expected = Violation::ReservedFlags {
        packet: PacketType::Auth,
        flags: 0b0001,
    };
    rejects(V5, &bytes, expected, MALFORMED);
    assert_eq!(expected.statement(), "MQTT-3.15.1-1");
}

// ---- Variable Byte Integers ----

#[test]
fn mqtt5_sec_1_5_5_remaining_length_of_five_bytes_is_malformed() {
    // [MQTT-5.0 §1.5.5] (3.1.1 §2.2.3): "The maximum number of bytes … is four."
    let bytes = wire(
        "
        30           // PUBLISH, QoS 0
        FF FF FF FF  // remaining length: four bytes, each with the continuation bit
        7F           // a fifth length byte
        ",
    );
    for version in [V5, V311, V31] {
        rejects(version, &bytes, Violation::VarIntTooLong, MALFORMED);
    }
    // As a first packet it is refused from its first byte: it is not a CONNECT
    // ([MQTT-3.1.0-1]), whatever its length says.
    rejects_on(None, &bytes, DecodeError::ExpectedConnect, PROTOCOL);
    assert_eq!(first_error(Decoder::new(), &bytes).1, 1);
    // Rejected at the fourth length byte: the fifth is not waited for.
    assert_eq!(first_error(Decoder::with_version(V5), &bytes).1, 5);
}

#[test]
fn mqtt5_sec_1_5_5_property_length_of_five_bytes_is_malformed() {
    // [MQTT-5.0 §1.5.5]: the Property Length is a Variable Byte Integer too.
    let bytes = wire(
        "
        40              // PUBACK
        08              // remaining length 8
        00 01           // packet identifier 1
        00              // reason code Success
        FF FF FF FF 7F  // property length in five bytes
        ",
    );
    rejects(V5, &bytes, Violation::VarIntTooLong, MALFORMED);
}

#[test]
fn mqtt_1_5_5_1_remaining_length_not_in_shortest_form_is_malformed() {
    // [MQTT-1.5.5-1]: MQTT 5.0 only; 3.1.1 has no such rule (statements.md rule 2).
    let bytes = wire(
        "
        C0     // PINGREQ
        80 00  // remaining length 0 in two bytes
        ",
    );
    rejects(V5, &bytes, Violation::VarIntNotMinimal, MALFORMED);
    assert!(matches!(accepts(Some(V311), &bytes), Packet::PingReq));
    assert!(matches!(accepts(Some(V31), &bytes), Packet::PingReq));
    let bytes = wire(
        "
        30        // PUBLISH, QoS 0
        83 80 00  // remaining length 3 in three bytes
        00 01 61  // topic 'a'
        ",
    );
    rejects(V5, &bytes, Violation::VarIntNotMinimal, MALFORMED);
}

#[test]
fn mqtt_1_5_5_1_first_connect_of_5_0_needs_the_shortest_remaining_length() {
    // [MQTT-1.5.5-1]: the first CONNECT is read before its version is known; once it says 5.0,
    // its own remaining length must be in the shortest form too.
    let bytes = wire(
        "
        10                 // CONNECT
        8D 00              // remaining length 13 in two bytes
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        02                 // connect flags: clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 00              // client id ''
        ",
    );
    let (err, version) = rejects_on(None, &bytes, Violation::VarIntNotMinimal, MALFORMED);
    assert_eq!(
        err.answer(version, false),
        ErrorAnswer::ConnAck {
            version: V5,
            code: MALFORMED
        }
    );
    // The same CONNECT for 3.1.1 is fine.
    let v311 = wire(
        "
        10                 // CONNECT
        8C 00              // remaining length 12 in two bytes
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        02                 // connect flags: clean session
        00 3C              // keep alive 60 s
        00 00              // client id ''
        ",
    );
    assert!(matches!(accepts(None, &v311), Packet::Connect(_)));
}

#[test]
fn mqtt_1_5_5_1_property_fields_not_in_shortest_form_are_malformed() {
    // [MQTT-1.5.5-1]: Property Length, Property Identifier and Subscription Identifier.
    let property_length = wire(
        "
        40     // PUBACK
        05     // remaining length 5
        00 01  // packet identifier 1
        00     // reason code Success
        80 00  // property length 0 in two bytes
        ",
    );
    rejects(V5, &property_length, Violation::VarIntNotMinimal, MALFORMED);
    let identifier = wire(
        "
        30        // PUBLISH, QoS 0
        08        // remaining length 8
        00 01 61  // topic 'a'
        04        // property length 4
        81 00 01  // identifier 1 (Payload Format Indicator) in two bytes, value 1
        78        // payload 'x'
        ",
    );
    rejects(V5, &identifier, Violation::VarIntNotMinimal, MALFORMED);
    let subscription_id = wire(
        "
        82        // SUBSCRIBE
        0A        // remaining length 10
        00 01     // packet identifier 1
        03        // property length 3
        0B 81 00  // Subscription Identifier 1 in two bytes
        00 01 61  // topic filter 'a'
        00        // subscription options
        ",
    );
    rejects(V5, &subscription_id, Violation::VarIntNotMinimal, MALFORMED);
}

// ---- maximum packet size ----

#[test]
fn mqtt_3_2_2_15_packet_above_maximum_size_is_rejected_from_its_fixed_header() {
    // [MQTT-3.2.2-15] (a client decoder: [MQTT-3.1.2-24]): "a Protocol Error, … DISCONNECT
    // with Reason Code 0x95 (Packet too large)". Only the fixed header is fed: the body never
    // has to be buffered.
    let header = wire(
        "
        30     // PUBLISH, QoS 0
        FF 7F  // remaining length 16,383
        ",
    );
    let mut decoder = Decoder::with_version(V5).max_packet_size(128);
    let mut buf = BytesMut::from(&header[..]);
    let err = decoder.decode(&mut buf).unwrap_err();
    assert_eq!(
        err,
        DecodeError::PacketTooLarge {
            size: 16_386,
            max: 128
        }
    );
    assert_eq!(err.reason_code(), ReasonCode::PacketTooLarge);
    assert_eq!(
        err.answer(Some(V5), true),
        ErrorAnswer::Disconnect(ReasonCode::PacketTooLarge)
    );
    assert_eq!(err.answer(Some(V311), true), ErrorAnswer::Close);
    assert!(err.to_string().starts_with("[MQTT-3.2.2-15] "), "{err}");

    // The size counts the fixed header: a 5-byte packet fits a maximum of 5, 6 bytes do not,
    // and the second length byte is enough to tell.
    let fits = wire("30 03 0001 61 // PUBLISH, topic 'a'");
    let mut buf = BytesMut::from(&fits[..]);
    let mut decoder = Decoder::with_version(V311).max_packet_size(5);
    assert!(matches!(
        decoder.decode(&mut buf),
        Ok(Some(Packet::Publish(_)))
    ));
    let too_big = wire("30 04 0001 61 62 // PUBLISH, topic 'a', payload 'b'");
    let (err, at) = first_error(Decoder::with_version(V311).max_packet_size(5), &too_big);
    assert_eq!(err, DecodeError::PacketTooLarge { size: 6, max: 5 });
    assert_eq!(at, 2);

    // A first CONNECT that is too large is refused before its version is known: no CONNACK.
    let connect = wire("10 FF 7F // CONNECT, remaining length 16,383");
    let mut decoder = Decoder::new().max_packet_size(1024);
    let err = rejection_support::reject_with(&mut decoder, &connect);
    assert!(matches!(err, DecodeError::PacketTooLarge { .. }));
    assert_eq!(err.answer(decoder.version(), false), ErrorAnswer::Close);
}

// ---- every error names its statement ----

#[test]
fn every_decode_error_names_its_statement_and_reason_code() {
    // Display starts with the statement id; kind() gives 0x81 or 0x82 (statements.md).
    use Violation as V;
    let property = PropertyId::SessionExpiryInterval;
    let violations = [
        (V::ReservedPacketType(0), MALFORMED),
        (
            V::ReservedFlags {
                packet: PacketType::PubAck,
                flags: 1,
            },
            MALFORMED,
        ),
        (V::VarIntTooLong, MALFORMED),
        (V::VarIntNotMinimal, MALFORMED),
        (V::Truncated, MALFORMED),
        (V::TrailingBytes(1), MALFORMED),
        (V::PacketNotInVersion(PacketType::Auth), PROTOCOL),
        (V::InvalidUtf8, MALFORMED),
        (V::NullCharacter, MALFORMED),
        (V::StringTooLong, MALFORMED),
        (V::EmptyTopic, MALFORMED),
        (V::WildcardInTopicName, MALFORMED),
        (V::MultiLevelWildcardNotLast, MALFORMED),
        (V::SingleLevelWildcardNotWholeLevel, MALFORMED),
        (V::EmptyShareName, MALFORMED),
        (V::InvalidShareName, MALFORMED),
        (V::SharedFilterMissing, MALFORMED),
        (V::UnknownProperty(0x04), MALFORMED),
        (
            V::PropertyNotAllowed {
                property,
                packet: "PUBLISH",
            },
            MALFORMED,
        ),
        (V::DuplicateProperty(property), PROTOCOL),
        (V::InvalidPropertyValue(property), PROTOCOL),
        (V::AuthDataWithoutMethod, PROTOCOL),
        (V::ZeroPacketId, MALFORMED),
        (V::InvalidQoS, MALFORMED),
        (V::InvalidWillQoS, MALFORMED),
        (V::InvalidRequestedQoS, PROTOCOL),
        (V::DupOnQoS0, MALFORMED),
        (V::ZeroTopicAlias, ReasonCode::TopicAliasInvalid),
        (V::MissingTopicName, PROTOCOL),
        (V::InvalidSubscriptionId, PROTOCOL),
        (V::NoSubscribeFilters, PROTOCOL),
        (V::NoUnsubscribeFilters, PROTOCOL),
        (V::SubscriptionOptionsReserved(0x40), MALFORMED),
        (V::InvalidRetainHandling, PROTOCOL),
        (V::NoLocalOnSharedSubscription, PROTOCOL),
        (V::NoReasonCodes, MALFORMED),
        (V::InvalidProtocolName, PROTOCOL),
        (V::ConnectReservedFlag, MALFORMED),
        (V::WillQoSWithoutWill, MALFORMED),
        (V::WillRetainWithoutWill, MALFORMED),
        (V::PasswordWithoutUsername, MALFORMED),
        (V::ConnAckReservedFlags, MALFORMED),
        (V::SessionPresentOnFailure, PROTOCOL),
        (V::UnknownReasonCode(0x03), MALFORMED),
        (
            V::ReasonCodeNotAllowed {
                packet: PacketType::PubAck,
                code: ReasonCode::DisconnectWithWill,
            },
            PROTOCOL,
        ),
    ];
    for (violation, code) in violations {
        let err = DecodeError::from(violation);
        assert_eq!(
            err.to_string(),
            format!("[{}] {violation}", violation.statement())
        );
        assert!(violation.statement().starts_with("MQTT-"), "{violation:?}");
        if let Some(v311) = violation.statement_v311() {
            assert!(v311.starts_with("MQTT-"), "{violation:?}: {v311}");
        }
        assert_eq!(err.reason_code(), code, "{violation:?}");
    }
    for (err, code) in [
        (
            DecodeError::PacketTooLarge { size: 10, max: 5 },
            ReasonCode::PacketTooLarge,
        ),
        (
            DecodeError::UnsupportedProtocolVersion(6),
            ReasonCode::UnsupportedProtocolVersion,
        ),
        (DecodeError::ExpectedConnect, PROTOCOL),
    ] {
        assert!(err.to_string().starts_with("[MQTT-"), "{err}");
        assert_eq!(err.reason_code(), code, "{err}");
    }
}
