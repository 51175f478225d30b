//! Negative tests, packet boundaries: a field that runs past the end of its packet, and bytes
//! left over after a packet's last field, on every packet type.
//!
//! Each test feeds hand-written bytes (one field a line) to a [`Decoder`] and checks the exact
//! error, the MQTT 5.0 reason code (0x81, Malformed Packet) and the answer. MQTT 5.0 §1.2
//! defines a Malformed Packet as "A control packet that cannot be parsed according to this
//! specification"; neither rule has a statement id, so the tests are named after §4.13.
//! `docs/conformance.md` maps statements to tests.

use broker_core::codec::{ErrorAnswer, Packet, Violation};
use broker_core::types::ReasonCode;

use crate::rejection_support::{accepts, rejects, rejects_on, wire, V31, V311, V5};

const MALFORMED: ReasonCode = ReasonCode::MalformedPacket;

// ---- packet boundaries ----

#[test]
fn mqtt5_sec_4_13_field_running_past_the_packet_is_malformed() {
    // [MQTT-5.0 §4.13] (§1.2: "A control packet that cannot be parsed").
    let topic = wire(
        "
        30     // PUBLISH, QoS 0
        03     // remaining length 3
        00 05  // topic length 5…
        61     // …but one byte left
        ",
    );
    rejects(V311, &topic, Violation::Truncated, MALFORMED);
    let packet_id = wire(
        "
        40  // PUBACK
        01  // remaining length 1
        00  // half a packet identifier
        ",
    );
    rejects(V311, &packet_id, Violation::Truncated, MALFORMED);
    let property_length = wire(
        "
        40     // PUBACK
        04     // remaining length 4
        00 01  // packet identifier 1
        00     // reason code Success
        05     // property length 5, but nothing follows
        ",
    );
    rejects(V5, &property_length, Violation::Truncated, MALFORMED);
    let property_value = wire(
        "
        30        // PUBLISH, QoS 0
        09        // remaining length 9
        00 01 61  // topic 'a'
        02        // property length 2
        02 00     // Message Expiry Interval: needs 4 bytes, the property block has 1
        00 00 00  // payload: not part of the property block
        ",
    );
    rejects(V5, &property_value, Violation::Truncated, MALFORMED);
    let options = wire(
        "
        82        // SUBSCRIBE
        05        // remaining length 5
        00 01     // packet identifier 1
        00 01 61  // topic filter 'a', then no requested QoS byte
        ",
    );
    rejects(V311, &options, Violation::Truncated, MALFORMED);
    let connect = wire(
        "
        10                 // CONNECT
        08                 // remaining length 8
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        02                 // connect flags, then no keep alive
        ",
    );
    let (err, version) = rejects_on(None, &connect, Violation::Truncated, MALFORMED);
    assert_eq!(
        err.answer(version, false),
        ErrorAnswer::ConnAck {
            version: V5,
            code: MALFORMED
        }
    );
}

#[test]
fn mqtt5_sec_4_13_trailing_bytes_after_connect_are_malformed() {
    // [MQTT-5.0 §4.13]; 3.1.1: [MQTT-3.1.4-1] close without CONNACK.
    let v5 = wire(
        "
        10                 // CONNECT
        0E                 // remaining length 14
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        02                 // connect flags: clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 00              // client id ''
        FF                 // one byte too many
        ",
    );
    let (err, version) = rejects_on(None, &v5, Violation::TrailingBytes(1), MALFORMED);
    assert_eq!(
        err.answer(version, false),
        ErrorAnswer::ConnAck {
            version: V5,
            code: MALFORMED
        }
    );
    let v311 = wire(
        "
        10                 // CONNECT
        0D                 // remaining length 13
        00 04 4D 51 54 54  // protocol name 'MQTT'
        04                 // protocol level 4
        02                 // connect flags: clean session
        00 3C              // keep alive 60 s
        00 00              // client id ''
        FF                 // one byte too many
        ",
    );
    let (err, version) = rejects_on(None, &v311, Violation::TrailingBytes(1), MALFORMED);
    assert_eq!(version, Some(V311));
    assert_eq!(err.answer(version, false), ErrorAnswer::Close);
}

#[test]
fn mqtt5_sec_4_13_trailing_bytes_after_connack_are_malformed() {
    // [MQTT-5.0 §4.13]; 3.1.1 §3.2.1: "For the CONNACK Packet this has the value 2".
    let v311 = wire(
        "
        20  // CONNACK
        03  // remaining length 3
        00  // acknowledge flags
        00  // return code 0
        00  // one byte too many
        ",
    );
    rejects(V311, &v311, Violation::TrailingBytes(1), MALFORMED);
    rejects(V31, &v311, Violation::TrailingBytes(1), MALFORMED);
    let v5 = wire(
        "
        20  // CONNACK
        04  // remaining length 4
        00  // acknowledge flags
        00  // reason code Success
        00  // property length 0
        FF  // one byte too many
        ",
    );
    rejects(V5, &v5, Violation::TrailingBytes(1), MALFORMED);
}

#[test]
fn mqtt5_sec_4_13_trailing_bytes_after_an_ack_are_malformed() {
    // [MQTT-5.0 §4.13]; in 3.x PUBACK, PUBREC, PUBREL and PUBCOMP have a remaining length of 2.
    for first in [0x40, 0x50, 0x62, 0x70] {
        let mut bytes = vec![first];
        bytes.extend(wire(
            "
            03     // remaining length 3
            00 01  // packet identifier 1
            00     // a byte that 3.x does not have
            ",
        ));
        rejects(V311, &bytes, Violation::TrailingBytes(1), MALFORMED);
        rejects(V31, &bytes, Violation::TrailingBytes(1), MALFORMED);
        // In 5.0 that byte is the reason code.
        accepts(Some(V5), &bytes);
    }
    let v5 = wire(
        "
        40     // PUBACK
        05     // remaining length 5
        00 01  // packet identifier 1
        00     // reason code Success
        00     // property length 0
        FF     // one byte too many
        ",
    );
    rejects(V5, &v5, Violation::TrailingBytes(1), MALFORMED);
}

#[test]
fn mqtt5_sec_4_13_pingreq_and_pingresp_with_a_body_are_malformed() {
    // [MQTT-5.0 §4.13]: PINGREQ and PINGRESP have no variable header and no payload.
    for first in [0xC0, 0xD0] {
        let mut bytes = vec![first];
        bytes.extend(wire(
            "
            01  // remaining length 1
            00  // a body byte
            ",
        ));
        for version in [V5, V311, V31] {
            rejects(version, &bytes, Violation::TrailingBytes(1), MALFORMED);
        }
    }
}

#[test]
fn mqtt5_sec_4_13_trailing_bytes_after_disconnect_are_malformed() {
    // [MQTT-5.0 §4.13]; a 3.x DISCONNECT has no body at all.
    let v3 = wire(
        "
        E0  // DISCONNECT
        01  // remaining length 1
        00  // a body byte
        ",
    );
    rejects(V311, &v3, Violation::TrailingBytes(1), MALFORMED);
    rejects(V31, &v3, Violation::TrailingBytes(1), MALFORMED);
    // In 5.0 that byte is the reason code (Normal disconnection).
    assert!(matches!(accepts(Some(V5), &v3), Packet::Disconnect(_)));
    let v5 = wire(
        "
        E0  // DISCONNECT
        03  // remaining length 3
        00  // reason code Normal disconnection
        00  // property length 0
        FF  // one byte too many
        ",
    );
    rejects(V5, &v5, Violation::TrailingBytes(1), MALFORMED);
}

#[test]
fn mqtt5_sec_4_13_trailing_bytes_after_unsuback_and_auth_are_malformed() {
    // [MQTT-5.0 §4.13]; a 3.x UNSUBACK is a packet identifier and nothing else.
    let v3 = wire(
        "
        B0     // UNSUBACK
        03     // remaining length 3
        00 01  // packet identifier 1
        00     // a byte that 3.x does not have
        ",
    );
    rejects(V311, &v3, Violation::TrailingBytes(1), MALFORMED);
    rejects(V31, &v3, Violation::TrailingBytes(1), MALFORMED);
    let auth = wire(
        "
        F0  // AUTH
        03  // remaining length 3
        00  // reason code Success
        00  // property length 0
        FF  // one byte too many
        ",
    );
    rejects(V5, &auth, Violation::TrailingBytes(1), MALFORMED);
}
