//! Negative tests, CONNECT and CONNACK: the first packet, protocol name and level, connect
//! flags, the will, user name and password, and the CONNACK acknowledge flags and codes.
//!
//! Each test feeds hand-written bytes (one field a line) to a [`Decoder`] and checks the exact
//! error, the MQTT 5.0 reason code and the answer: before CONNACK an MQTT 5 client gets a
//! CONNACK with the reason code, an MQTT 3 client is just disconnected ([MQTT-3.1.4-1]).
//! Tests are named after the normative statement they check; `docs/conformance.md` maps
//! statements to tests.

use broker_core::codec::{DecodeError, Decoder, ErrorAnswer, Packet, PacketType, Violation};
use broker_core::types::{ProtocolVersion, ReasonCode};
use bytes::BytesMut;

use crate::rejection_support::{accepts, first_error, rejects, rejects_on, wire, V31, V311, V5};

const MALFORMED: ReasonCode = ReasonCode::MalformedPacket;
const PROTOCOL: ReasonCode = ReasonCode::ProtocolError;

/// The CONNACK an MQTT 5 client gets before the connection is closed.
fn connack_v5(code: ReasonCode) -> ErrorAnswer {
    ErrorAnswer::ConnAck { version: V5, code }
}

/// Checks that a first CONNECT is rejected with `expected`, and that the answer is a CONNACK
/// with `code` for 5.0 and a plain close for 3.x.
fn rejects_connect(bytes: &[u8], expected: impl Into<DecodeError>, code: ReasonCode) {
    let (err, version) = rejects_on(None, bytes, expected, code);
    let answer = err.answer(version, false);
    match version {
        Some(ProtocolVersion::V5) => assert_eq!(answer, connack_v5(code)),
        Some(_) => assert_eq!(answer, ErrorAnswer::Close),
        None => panic!("the CONNECT should have told its version"),
    }
}

fn connect(bytes: &[u8]) -> broker_core::codec::Connect {
    match accepts(None, bytes) {
        Packet::Connect(c) => *c,
        other => panic!("expected CONNECT, got {other:?}"),
    }
}

// ---- first packet, protocol name and level ----

#[test]
fn mqtt_3_1_0_1_first_packet_must_be_connect() {
    // [MQTT-3.1.0-1] (same id in 3.1.1)
    let publish = wire(
        "
        30        // PUBLISH, QoS 0
        06        // remaining length 6
        00 03     // topic length 3
        61 2F 62  // topic 'a/b'
        78        // payload 'x'
        ",
    );
    let (err, version) = rejects_on(None, &publish, DecodeError::ExpectedConnect, PROTOCOL);
    assert_eq!(version, None);
    assert_eq!(err.answer(version, false), ErrorAnswer::Close);
    assert!(err.to_string().starts_with("[MQTT-3.1.0-1] "), "{err}");
    for other in [
        wire("C0 00        // PINGREQ"),
        wire("F0 00        // AUTH"),
        wire("20 02 00 00  // CONNACK"),
        wire("E0 00        // DISCONNECT"),
    ] {
        rejects_on(None, &other, DecodeError::ExpectedConnect, PROTOCOL);
    }
}

#[test]
fn mqtt_3_1_0_1_a_first_packet_that_is_not_connect_is_refused_from_its_first_byte() {
    // A PUBLISH whose fixed header declares about 1 MB: a server's decoder must not hold any
    // of it (nor reserve room for it) before the peer has sent a CONNECT.
    for first in [0x30, 0x32, 0x82, 0xC0, 0xE0, 0xF0] {
        let mut buf = BytesMut::from(&[first][..]);
        let capacity = buf.capacity();
        let mut decoder = Decoder::new().from_clients();
        assert_eq!(decoder.decode(&mut buf), Err(DecodeError::ExpectedConnect));
        assert_eq!(
            buf.capacity(),
            capacity,
            "room was reserved for {first:#04x}"
        );
        let publish = wire("32 C0 84 3D // PUBLISH QoS 1, remaining length 1,000,000");
        let mut buf = BytesMut::from(&publish[..]);
        let capacity = buf.capacity();
        assert_eq!(
            Decoder::new().decode(&mut buf),
            Err(DecodeError::ExpectedConnect)
        );
        assert_eq!((buf.len(), buf.capacity()), (publish.len(), capacity));
    }
}

#[test]
fn a_first_connect_is_held_to_the_connect_size_limit() {
    // The limit is checked from the fixed header: the third byte of `10 81 80 01` (a remaining
    // length of 16,385) is enough, and nothing is reserved for the body.
    let header = wire("10 81 80 01 // CONNECT, remaining length 16,385");
    let decoder = || Decoder::new().from_clients().max_connect_size(16 * 1024);
    let (err, at) = first_error(decoder(), &header);
    assert_eq!(
        err,
        DecodeError::PacketTooLarge {
            size: 16_389,
            max: 16 * 1024
        }
    );
    assert_eq!(at, 4);
    assert_eq!(err.reason_code(), ReasonCode::PacketTooLarge);
    // The version is not known yet: the connection is closed without a CONNACK.
    assert_eq!(err.answer(None, false), ErrorAnswer::Close);
    // The lower of the two limits applies to a CONNECT.
    let (err, _) = first_error(
        Decoder::new().max_packet_size(100).max_connect_size(1000),
        &header,
    );
    assert_eq!(
        err,
        DecodeError::PacketTooLarge {
            size: 16_389,
            max: 100
        }
    );
    // A CONNECT within the limit is decoded, and the packet limit applies after it.
    let connect = wire(
        "
        10 0D              // CONNECT, remaining length 13
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        02                 // connect flags: clean session
        00 3C              // keep alive 60 s
        00 01 63           // client id 'c'
        30 82 80 01        // then a PUBLISH of 16,390 bytes, above the CONNECT limit
        ",
    );
    let mut decoder = Decoder::new().max_connect_size(15).max_packet_size(1 << 20);
    let mut buf = BytesMut::from(&connect[..]);
    assert!(matches!(
        decoder.decode(&mut buf),
        Ok(Some(Packet::Connect(_)))
    ));
    assert_eq!(decoder.decode(&mut buf), Ok(None));
    assert_eq!(decoder.declared_len(&buf), Some(16_390));
    let too_small = Decoder::new().max_connect_size(14);
    let (err, _) = first_error(too_small, &connect);
    assert_eq!(err, DecodeError::PacketTooLarge { size: 15, max: 14 });
}

#[test]
fn mqtt_3_1_2_1_protocol_name_must_be_mqtt() {
    // [MQTT-3.1.2-1] (same id in 3.1.1): the version is unknown, so nothing is answered.
    let bytes = wire(
        "
        10                 // CONNECT
        0C                 // remaining length 12
        00 04 4D 51 54 58  // protocol name 'MQTX'
        04                 // protocol level 4
        02                 // connect flags: clean session
        00 3C              // keep alive 60 s
        00 00              // client id ''
        ",
    );
    let (err, version) = rejects_on(None, &bytes, Violation::InvalidProtocolName, PROTOCOL);
    assert_eq!(version, None);
    assert_eq!(err.answer(version, false), ErrorAnswer::Close);
    let lower_case = wire(
        "
        10                 // CONNECT
        0D                 // remaining length 13
        00 04 6D 71 74 74  // protocol name 'mqtt'
        05                 // protocol level 5
        02                 // connect flags: clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 00              // client id ''
        ",
    );
    rejects_on(None, &lower_case, Violation::InvalidProtocolName, PROTOCOL);
}

#[test]
fn mqtt_3_1_2_2_unsupported_protocol_level_gets_connack_0x84() {
    // [MQTT-3.1.2-2]: 3.1.1 "MUST respond … with a CONNACK return code 0x01"; 5.0 "MAY send a
    // CONNACK packet with Reason Code 0x84". A 3.1.1 CONNACK says both.
    let cases = [
        (
            6,
            wire(
                "
                10                 // CONNECT
                0D                 // remaining length 13
                00 04 4D 51 54 54  // protocol name 'MQTT'
                06                 // protocol level 6
                02                 // connect flags
                00 3C              // keep alive 60 s
                00                 // (a property length, were this 5.0)
                00 00              // client id ''
                ",
            ),
        ),
        (
            3,
            wire(
                "
                10                 // CONNECT
                0C                 // remaining length 12
                00 04 4D 51 54 54  // protocol name 'MQTT' (3.1 says 'MQIsdp')
                03                 // protocol level 3
                02                 // connect flags
                00 3C              // keep alive 60 s
                00 00              // client id ''
                ",
            ),
        ),
        (
            4,
            wire(
                "
                10                       // CONNECT
                0F                       // remaining length 15
                00 06 4D 51 49 73 64 70  // protocol name 'MQIsdp' (3.1.1 says 'MQTT')
                04                       // protocol level 4
                02                       // connect flags
                00 3C                    // keep alive 60 s
                00 01 63                 // client id 'c'
                ",
            ),
        ),
    ];
    for (level, bytes) in cases {
        let (err, version) = rejects_on(
            None,
            &bytes,
            DecodeError::UnsupportedProtocolVersion(level),
            ReasonCode::UnsupportedProtocolVersion,
        );
        assert_eq!(version, None);
        assert_eq!(
            err.answer(version, false),
            ErrorAnswer::ConnAck {
                version: ProtocolVersion::V3_1_1,
                code: ReasonCode::UnsupportedProtocolVersion
            }
        );
        assert!(err.to_string().starts_with("[MQTT-3.1.2-2] "), "{err}");
    }
}

// ---- connect flags ----

#[test]
fn mqtt_3_1_2_3_reserved_connect_flag_is_malformed() {
    // [MQTT-3.1.2-3] (same id in 3.1.1)
    let v5 = wire(
        "
        10                 // CONNECT
        0D                 // remaining length 13
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        03                 // connect flags: clean start, reserved bit set
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 00              // client id ''
        ",
    );
    rejects_connect(&v5, Violation::ConnectReservedFlag, MALFORMED);
    let v311 = wire(
        "
        10                 // CONNECT
        0C                 // remaining length 12
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        01                 // connect flags: reserved bit set
        00 3C              // keep alive 60 s
        00 00              // client id ''
        ",
    );
    rejects_connect(&v311, Violation::ConnectReservedFlag, MALFORMED);
}

#[test]
fn mqtt_3_1_2_11_will_qos_without_will_flag_is_malformed() {
    // [MQTT-3.1.2-11] (3.1.1: [MQTT-3.1.2-13]); 3.1 disregards the bits.
    let v5 = wire(
        "
        10                 // CONNECT
        0D                 // remaining length 13
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        0A                 // connect flags: will QoS 1 without the will flag, clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 00              // client id ''
        ",
    );
    rejects_connect(&v5, Violation::WillQoSWithoutWill, MALFORMED);
    let v311 = wire(
        "
        10                 // CONNECT
        0C                 // remaining length 12
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        12                 // connect flags: will QoS 2 without the will flag, clean session
        00 3C              // keep alive 60 s
        00 00              // client id ''
        ",
    );
    rejects_connect(&v311, Violation::WillQoSWithoutWill, MALFORMED);
    assert_eq!(
        Violation::WillQoSWithoutWill.statement_v311(),
        Some("MQTT-3.1.2-13")
    );
    // 3.1: "If the Will flag is set, the Will QoS field is mandatory, otherwise its value is
    // disregarded."
    let v31 = wire(
        "
        10                       // CONNECT
        0F                       // remaining length 15
        00 06 4D 51 49 73 64 70  // protocol name 'MQIsdp'
        03                       // protocol level 3
        1A                       // connect flags: will QoS 3 without the will flag, clean session
        00 3C                    // keep alive 60 s
        00 01 63                 // client id 'c'
        ",
    );
    assert_eq!(connect(&v31).will, None);
}

#[test]
fn mqtt_3_1_2_13_will_retain_without_will_flag_is_malformed() {
    // [MQTT-3.1.2-13] (3.1.1: [MQTT-3.1.2-15]); 3.1 disregards the bit.
    let v5 = wire(
        "
        10                 // CONNECT
        0D                 // remaining length 13
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        22                 // connect flags: will retain without the will flag, clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 00              // client id ''
        ",
    );
    rejects_connect(&v5, Violation::WillRetainWithoutWill, MALFORMED);
    let v311 = wire(
        "
        10                 // CONNECT
        0C                 // remaining length 12
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        20                 // connect flags: will retain without the will flag
        00 3C              // keep alive 60 s
        00 00              // client id ''
        ",
    );
    rejects_connect(&v311, Violation::WillRetainWithoutWill, MALFORMED);
    assert_eq!(
        Violation::WillRetainWithoutWill.statement_v311(),
        Some("MQTT-3.1.2-15")
    );
    let v31 = wire(
        "
        10                       // CONNECT
        0F                       // remaining length 15
        00 06 4D 51 49 73 64 70  // protocol name 'MQIsdp'
        03                       // protocol level 3
        22                       // connect flags: will retain without the will flag, clean session
        00 3C                    // keep alive 60 s
        00 01 63                 // client id 'c'
        ",
    );
    assert_eq!(connect(&v31).will, None);
}

#[test]
fn mqtt_3_1_2_12_will_qos_3_is_malformed() {
    // [MQTT-3.1.2-12]: "A value of 3 (0x03) is a Malformed Packet" (3.1.1: [MQTT-3.1.2-14]).
    let v5 = wire(
        "
        10                 // CONNECT
        15                 // remaining length 21
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        1E                 // connect flags: will, will QoS 3, clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 00              // client id ''
        00                 // will property length 0
        00 03 61 2F 62     // will topic 'a/b'
        00 00              // will payload, empty
        ",
    );
    rejects_connect(&v5, Violation::InvalidWillQoS, MALFORMED);
    let v311 = wire(
        "
        10                 // CONNECT
        14                 // remaining length 20
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        1C                 // connect flags: will, will QoS 3
        00 3C              // keep alive 60 s
        00 01 63           // client id 'c'
        00 03 61 2F 62     // will topic 'a/b'
        00 00              // will message, empty
        ",
    );
    rejects_connect(&v311, Violation::InvalidWillQoS, MALFORMED);
    assert_eq!(
        Violation::InvalidWillQoS.statement_v311(),
        Some("MQTT-3.1.2-14")
    );
    // With the will flag set, 3.1 has no QoS 3 either.
    let v31 = wire(
        "
        10                       // CONNECT
        16                       // remaining length 22
        00 06 4D 51 49 73 64 70  // protocol name 'MQIsdp'
        03                       // protocol level 3
        1E                       // connect flags: will, will QoS 3, clean session
        00 3C                    // keep alive 60 s
        00 01 63                 // client id 'c'
        00 03 61 2F 62           // will topic 'a/b'
        00 00                    // will message, empty
        ",
    );
    rejects_connect(&v31, Violation::InvalidWillQoS, MALFORMED);
}

#[test]
fn mqtt_3_1_2_22_password_without_user_name_is_malformed_before_5_0() {
    // 3.1.1: [MQTT-3.1.2-22]; 3.1: "It is not valid to supply a password without supplying a
    // user name." 5.0 allows it: "This version of the protocol allows the sending of a
    // Password with no User Name, where MQTT v3.1.1 did not."
    let v311 = wire(
        "
        10                 // CONNECT
        10                 // remaining length 16
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        42                 // connect flags: password, clean session
        00 3C              // keep alive 60 s
        00 00              // client id ''
        00 02 70 77        // password 'pw'
        ",
    );
    rejects_connect(&v311, Violation::PasswordWithoutUsername, MALFORMED);
    let v31 = wire(
        "
        10                       // CONNECT
        13                       // remaining length 19
        00 06 4D 51 49 73 64 70  // protocol name 'MQIsdp'
        03                       // protocol level 3
        42                       // connect flags: password, clean session
        00 3C                    // keep alive 60 s
        00 01 63                 // client id 'c'
        00 02 70 77              // password 'pw'
        ",
    );
    rejects_connect(&v31, Violation::PasswordWithoutUsername, MALFORMED);
    let v5 = wire(
        "
        10                 // CONNECT
        11                 // remaining length 17
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        42                 // connect flags: password, clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 00              // client id ''
        00 02 70 77        // password 'pw'
        ",
    );
    let c = connect(&v5);
    assert_eq!(c.username, None);
    assert_eq!(c.password.as_deref(), Some(&b"pw"[..]));
}

#[test]
fn mqtt_3_1_2_17_user_name_flag_without_user_name_is_malformed() {
    // [MQTT-3.1.2-17], [MQTT-3.1.2-19] (3.1.1: [MQTT-3.1.2-19], [MQTT-3.1.2-21]): the flags
    // say the fields are there, the packet ends before them.
    let v5 = wire(
        "
        10                 // CONNECT
        0E                 // remaining length 14
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        C2                 // connect flags: user name, password, clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 01 63           // client id 'c', then neither user name nor password
        ",
    );
    rejects_connect(&v5, Violation::Truncated, MALFORMED);
    let v311 = wire(
        "
        10                 // CONNECT
        0D                 // remaining length 13
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        C2                 // connect flags: user name, password, clean session
        00 3C              // keep alive 60 s
        00 01 63           // client id 'c', then neither user name nor password
        ",
    );
    rejects_connect(&v311, Violation::Truncated, MALFORMED);
    // 3.1: "the Remaining Length field from the fixed header takes precedence over the User
    // Name flag. Server implementations must allow for the possibility that the User Name flag
    // is set, but the User Name string is missing. This is valid".
    let v31 = wire(
        "
        10                       // CONNECT
        0F                       // remaining length 15
        00 06 4D 51 49 73 64 70  // protocol name 'MQIsdp'
        03                       // protocol level 3
        C2                       // connect flags: user name, password, clean session
        00 3C                    // keep alive 60 s
        00 01 63                 // client id 'c', then neither user name nor password
        ",
    );
    let c = connect(&v31);
    assert_eq!((c.username, c.password), (None, None));
    let v31_user_only = wire(
        "
        10                       // CONNECT
        14                       // remaining length 20
        00 06 4D 51 49 73 64 70  // protocol name 'MQIsdp'
        03                       // protocol level 3
        C2                       // connect flags: user name, password, clean session
        00 3C                    // keep alive 60 s
        00 01 63                 // client id 'c'
        00 03 62 6F 62           // user name 'bob', then no password
        ",
    );
    let c = connect(&v31_user_only);
    assert_eq!(c.username.as_deref(), Some("bob"));
    assert_eq!(c.password, None);
}

// ---- the will topic ----

#[test]
fn mqtt_4_7_0_1_will_topic_with_a_wildcard_is_malformed() {
    // [MQTT-4.7.0-1], [MQTT-3.1.3-11] (3.1.1: [MQTT-4.7.1-1], [MQTT-3.1.3-10]): the Will Topic is
    // a Topic Name.
    let v5 = wire(
        "
        10                 // CONNECT
        15                 // remaining length 21
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        06                 // connect flags: will (QoS 0), clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 00              // client id ''
        00                 // will property length 0
        00 03 61 2F 23     // will topic 'a/#'
        00 00              // will payload, empty
        ",
    );
    rejects_connect(&v5, Violation::WildcardInTopicName, MALFORMED);
    let v311 = wire(
        "
        10                 // CONNECT
        11                 // remaining length 17
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        06                 // connect flags: will (QoS 0), clean session
        00 3C              // keep alive 60 s
        00 00              // client id ''
        00 01 2B           // will topic '+'
        00 00              // will message, empty
        ",
    );
    rejects_connect(&v311, Violation::WildcardInTopicName, MALFORMED);
}

#[test]
fn mqtt_4_7_3_1_empty_will_topic_is_malformed() {
    // [MQTT-4.7.3-1] (same id in 3.1.1)
    let bytes = wire(
        "
        10                 // CONNECT
        10                 // remaining length 16
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        06                 // connect flags: will (QoS 0), clean session
        00 3C              // keep alive 60 s
        00 00              // client id ''
        00 00              // will topic ''
        00 00              // will message, empty
        ",
    );
    rejects_connect(&bytes, Violation::EmptyTopic, MALFORMED);
}

// ---- CONNACK ----

#[test]
fn mqtt_3_2_2_1_connack_reserved_flags_are_malformed() {
    // [MQTT-3.2.2-1] (3.1.1 §3.2.2.1, no id): "Bits 7-1 are reserved and MUST be set to 0".
    let v5 = wire(
        "
        20  // CONNACK
        03  // remaining length 3
        02  // acknowledge flags: bit 1 set
        00  // reason code Success
        00  // property length 0
        ",
    );
    rejects(V5, &v5, Violation::ConnAckReservedFlags, MALFORMED);
    let v311 = wire(
        "
        20  // CONNACK
        02  // remaining length 2
        80  // acknowledge flags: bit 7 set
        00  // return code 0
        ",
    );
    rejects(V311, &v311, Violation::ConnAckReservedFlags, MALFORMED);
    assert_eq!(
        Violation::ConnAckReservedFlags.statement_v311(),
        Some("MQTT-3.1.1 §3.2.2.1")
    );
}

#[test]
fn mqtt_3_2_2_6_session_present_with_a_failure_code_is_a_protocol_error() {
    // [MQTT-3.2.2-6] (3.1.1: [MQTT-3.2.2-4])
    let v5 = wire(
        "
        20  // CONNACK
        03  // remaining length 3
        01  // acknowledge flags: session present
        87  // reason code Not authorized
        00  // property length 0
        ",
    );
    rejects(V5, &v5, Violation::SessionPresentOnFailure, PROTOCOL);
    let v311 = wire(
        "
        20  // CONNACK
        02  // remaining length 2
        01  // acknowledge flags: session present
        05  // return code 5, not authorized
        ",
    );
    rejects(V311, &v311, Violation::SessionPresentOnFailure, PROTOCOL);
    assert_eq!(
        Violation::SessionPresentOnFailure.statement_v311(),
        Some("MQTT-3.2.2-4")
    );
    // Session present with success is fine.
    let ok = wire("20 03 01 00 00 // CONNACK, session present, Success, no properties");
    assert!(matches!(accepts(Some(V5), &ok), Packet::ConnAck(c) if c.session_present));
}

#[test]
fn mqtt_3_2_2_8_connack_reason_code_must_be_a_connect_reason_code() {
    // [MQTT-3.2.2-8]: Table 3-1. 0x04 exists (Disconnect with Will Message) but not here.
    let not_allowed = wire(
        "
        20  // CONNACK
        03  // remaining length 3
        00  // acknowledge flags
        04  // reason code 0x04, a DISCONNECT code
        00  // property length 0
        ",
    );
    let expected = Violation::ReasonCodeNotAllowed {
        packet: PacketType::ConnAck,
        code: ReasonCode::DisconnectWithWill,
    };
    rejects(V5, &not_allowed, expected, PROTOCOL);
    assert_eq!(expected.statement(), "MQTT-3.2.2-8");
    let unknown = wire("20 03 00 03 00 // CONNACK, reason code 0x03: no such code");
    rejects(V5, &unknown, Violation::UnknownReasonCode(0x03), MALFORMED);
}

#[test]
fn mqtt311_sec_3_2_2_3_connack_return_code_above_5_is_malformed() {
    // 3.1.1 §3.2.2.3, Table 3.1: 6-255 are "Reserved for future use" (3.1 §3.2 the same).
    let bytes = wire(
        "
        20  // CONNACK
        02  // remaining length 2
        00  // acknowledge flags
        06  // return code 6
        ",
    );
    rejects(V311, &bytes, Violation::UnknownReasonCode(6), MALFORMED);
    rejects(V31, &bytes, Violation::UnknownReasonCode(6), MALFORMED);
}

#[test]
fn connect_rejections_wait_for_the_whole_packet() {
    // A CONNECT's body rules are checked once the whole packet is there, never earlier: the
    // reserved flag of this one is only seen at its last byte.
    let bytes = wire(
        "
        10                 // CONNECT
        0C                 // remaining length 12
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        01                 // connect flags: reserved bit set
        00 3C              // keep alive 60 s
        00 00              // client id ''
        ",
    );
    let (err, at) = first_error(Decoder::new(), &bytes);
    assert_eq!(err, Violation::ConnectReservedFlag.into());
    assert_eq!(at, bytes.len());
}
