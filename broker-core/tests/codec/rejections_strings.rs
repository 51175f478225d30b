//! Negative tests, UTF-8 Encoded Strings: ill-formed UTF-8 (encoded surrogates, overlong
//! forms, lone continuation bytes) and U+0000 in client identifiers, user names, topic names,
//! topic filters and user properties, and the 65,535-byte limit.
//!
//! Each test feeds hand-written bytes (one field a line) to a [`Decoder`] and checks the exact
//! error, the MQTT 5.0 reason code (0x81, Malformed Packet) and the answer. Tests are named
//! after the normative statement they check; `docs/conformance.md` maps statements to tests.

use broker_core::codec::{DecodeError, ErrorAnswer, Violation};
use broker_core::types::{MqttString, ReasonCode, TopicName};

use crate::rejection_support::{rejects, rejects_on, wire, V311, V5};

const MALFORMED: ReasonCode = ReasonCode::MalformedPacket;

// ---- UTF-8 strings ----

#[test]
fn mqtt_1_5_4_1_client_id_with_an_encoded_surrogate_is_malformed() {
    // [MQTT-1.5.4-1] (3.1.1: [MQTT-1.5.3-1]): no encodings of U+D800..U+DFFF.
    let bytes = wire(
        "
        10                 // CONNECT
        10                 // remaining length 16
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        02                 // connect flags: clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 03 ED A0 80     // client id: U+D800 encoded
        ",
    );
    let (err, version) = rejects_on(None, &bytes, Violation::InvalidUtf8, MALFORMED);
    assert_eq!(
        err.answer(version, false),
        ErrorAnswer::ConnAck {
            version: V5,
            code: MALFORMED
        }
    );
}

#[test]
fn mqtt_1_5_4_1_client_id_with_an_overlong_encoding_is_malformed() {
    // [MQTT-1.5.4-1] (3.1.1: [MQTT-1.5.3-1]): C0 80 is an overlong U+0000, not well-formed.
    let bytes = wire(
        "
        10                 // CONNECT
        0E                 // remaining length 14
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        02                 // connect flags: clean session
        00 3C              // keep alive 60 s
        00 02 C0 80        // client id: overlong NUL
        ",
    );
    let (err, version) = rejects_on(None, &bytes, Violation::InvalidUtf8, MALFORMED);
    assert_eq!(err.answer(version, false), ErrorAnswer::Close);
    assert_eq!(
        Violation::InvalidUtf8.statement_v311(),
        Some("MQTT-1.5.3-1")
    );
}

#[test]
fn mqtt_1_5_4_1_topic_name_that_is_not_utf8_is_malformed() {
    // [MQTT-1.5.4-1], [MQTT-3.3.2-1] (3.1.1: [MQTT-1.5.3-1]).
    let surrogate = wire(
        "
        30              // PUBLISH, QoS 0
        06              // remaining length 6
        00 03 ED A0 80  // topic: U+D800 encoded
        00              // property length 0
        ",
    );
    rejects(V5, &surrogate, Violation::InvalidUtf8, MALFORMED);
    let overlong = wire(
        "
        30           // PUBLISH, QoS 0
        04           // remaining length 4
        00 02 C0 80  // topic: overlong NUL
        ",
    );
    rejects(V311, &overlong, Violation::InvalidUtf8, MALFORMED);
    let lone_continuation = wire("30 03 0001 80 // PUBLISH, topic: a lone continuation byte");
    rejects(V311, &lone_continuation, Violation::InvalidUtf8, MALFORMED);
}

#[test]
fn mqtt_1_5_4_1_user_name_that_is_not_utf8_is_malformed() {
    // [MQTT-1.5.4-1], [MQTT-3.1.3-12] (3.1.1: [MQTT-1.5.3-1], [MQTT-3.1.3-11]).
    let bytes = wire(
        "
        10                 // CONNECT
        12                 // remaining length 18
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        82                 // connect flags: user name, clean session
        00 3C              // keep alive 60 s
        00 01 63           // client id 'c'
        00 03 ED A0 80     // user name: U+D800 encoded
        ",
    );
    rejects_on(None, &bytes, Violation::InvalidUtf8, MALFORMED);
}

#[test]
fn mqtt_1_5_7_1_user_property_that_is_not_utf8_is_malformed() {
    // [MQTT-1.5.7-1]: both strings of a pair are UTF-8 Encoded Strings.
    let bytes = wire(
        "
        30           // PUBLISH, QoS 0
        0C           // remaining length 12
        00 01 61     // topic 'a'
        08           // property length 8
        26           // User Property
        00 02 C0 80  //   key: overlong NUL
        00 01 76     //   value 'v'
        ",
    );
    rejects(V5, &bytes, Violation::InvalidUtf8, MALFORMED);
}

#[test]
fn mqtt_1_5_4_1_topic_filter_that_is_not_utf8_is_malformed() {
    // [MQTT-1.5.4-1], [MQTT-3.8.3-1] (same ids in 3.1.1 except [MQTT-1.5.3-1]).
    let bytes = wire(
        "
        82              // SUBSCRIBE
        08              // remaining length 8
        00 01           // packet identifier 1
        00 03 ED A0 80  // topic filter: U+D800 encoded
        00              // requested QoS 0
        ",
    );
    rejects(V311, &bytes, Violation::InvalidUtf8, MALFORMED);
}

#[test]
fn mqtt_1_5_4_2_null_character_in_a_string_is_malformed() {
    // [MQTT-1.5.4-2] (3.1.1: [MQTT-1.5.3-2]); in topics also [MQTT-4.7.3-2].
    let client_id = wire(
        "
        10                 // CONNECT
        0F                 // remaining length 15
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        02                 // connect flags: clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 02 61 00        // client id 'a' U+0000
        ",
    );
    let (err, version) = rejects_on(None, &client_id, Violation::NullCharacter, MALFORMED);
    assert_eq!(
        err.answer(version, false),
        ErrorAnswer::ConnAck {
            version: V5,
            code: MALFORMED
        }
    );
    let topic = wire(
        "
        30              // PUBLISH, QoS 0
        05              // remaining length 5
        00 03 61 00 62  // topic 'a' U+0000 'b'
        ",
    );
    let err = rejects(V311, &topic, Violation::NullCharacter, MALFORMED);
    assert_eq!(err.answer(Some(V311), true), ErrorAnswer::Close);
    let filter = wire(
        "
        82           // SUBSCRIBE
        08           // remaining length 8
        00 01        // packet identifier 1
        00           // property length 0
        00 02 61 00  // topic filter 'a' U+0000
        00           // subscription options
        ",
    );
    rejects(V5, &filter, Violation::NullCharacter, MALFORMED);
    let user_property = wire(
        "
        30        // PUBLISH, QoS 0
        0B        // remaining length 11
        00 01 61  // topic 'a'
        07        // property length 7
        26        // User Property
        00 01 6B  //   key 'k'
        00 01 00  //   value U+0000
        ",
    );
    rejects(V5, &user_property, Violation::NullCharacter, MALFORMED);
}

#[test]
fn mqtt_4_7_3_3_strings_cannot_exceed_65535_bytes() {
    // [MQTT-4.7.3-3] (MQTT-5.0 §1.5.4 for all strings): the two-byte length prefix cannot say
    // more, so on the wire a longer string can only be a truncated one; the API refuses to
    // build one.
    let long = "a".repeat(65_536);
    assert_eq!(
        MqttString::new(long.as_str()),
        Err(Violation::StringTooLong)
    );
    assert_eq!(TopicName::new(long.as_str()), Err(Violation::StringTooLong));
    assert_eq!(
        DecodeError::from(Violation::StringTooLong).reason_code(),
        MALFORMED
    );
    let bytes = wire(
        "
        30     // PUBLISH, QoS 0
        03     // remaining length 3
        FF FF  // topic length 65,535…
        61     // …and one byte
        ",
    );
    rejects(V311, &bytes, Violation::Truncated, MALFORMED);
}

// ---- control characters (MQTT 5.0 §1.5.4, 3.1.1 §1.5.3) ----

#[test]
fn mqtt5_sec_1_5_4_control_characters_decode_and_are_found_for_the_session_to_refuse() {
    // The codec decodes them (the specification only says SHOULD NOT); whether they are
    // refused is the session's setting. `has_control_characters` finds them.
    let publish = wire(
        "
        30                 // PUBLISH, QoS 0
        08                 // remaining length 8
        00 06 61 2F C2 85 2F 62  // topic 'a/' U+0085 '/b'
        ",
    );
    let packet = crate::rejection_support::decoder(Some(V311))
        .decode(&mut bytes::BytesMut::from(&publish[..]))
        .expect("decodes")
        .expect("a whole packet");
    assert!(packet.has_control_characters());
    let connect = wire(
        "
        10                 // CONNECT
        13                 // remaining length 19
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        82                 // connect flags: user name, clean session
        00 3C              // keep alive 60 s
        00 02 63 31        // client id 'c1'
        00 03 75 1B 72     // user name 'u' ESC 'r'
        ",
    );
    let packet = crate::rejection_support::decoder(None)
        .decode(&mut bytes::BytesMut::from(&connect[..]))
        .expect("decodes")
        .expect("a whole packet");
    assert!(packet.has_control_characters());
    assert_eq!(
        DecodeError::from(Violation::ControlCharacter).reason_code(),
        MALFORMED
    );
    assert_eq!(Violation::ControlCharacter.statement(), "MQTT-5.0 §1.5.4");
    for printable in ["°C/€", "a\u{A0}b", "~"] {
        assert!(!TopicName::new(printable).unwrap().has_control_characters());
        assert!(!MqttString::new(printable).unwrap().has_control_characters());
    }
}
