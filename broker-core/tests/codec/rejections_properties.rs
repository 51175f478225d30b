//! Negative tests, MQTT 5.0 properties: unknown identifiers, properties a packet may not
//! carry, properties included twice, values out of range and Authentication Data without an
//! Authentication Method.
//!
//! Each test feeds hand-written bytes (one field a line) to a [`Decoder`] and checks the exact
//! error, the reason code and the answer. None of these rules has a statement id: tests are
//! named after the section that states them (`mqtt5_sec_…`). `docs/conformance.md` maps rules
//! to tests.

use broker_core::codec::{ErrorAnswer, Packet, PropertyId, Violation};
use broker_core::types::ReasonCode;

use crate::rejection_support::{accepts, rejects, rejects_on, wire, V5};

const MALFORMED: ReasonCode = ReasonCode::MalformedPacket;
const PROTOCOL: ReasonCode = ReasonCode::ProtocolError;

/// Checks that a first (5.0) CONNECT is rejected with `expected` and answered with a CONNACK
/// carrying `code`.
fn rejects_connect(bytes: &[u8], expected: Violation, code: ReasonCode) {
    let (err, version) = rejects_on(None, bytes, expected, code);
    assert_eq!(
        err.answer(version, false),
        ErrorAnswer::ConnAck { version: V5, code }
    );
}

fn not_allowed(property: PropertyId, packet: &'static str) -> Violation {
    Violation::PropertyNotAllowed { property, packet }
}

// ---- identifiers ----

#[test]
fn mqtt5_sec_2_2_2_2_unknown_property_identifier_is_malformed() {
    // [MQTT-5.0 §2.2.2.2]: "A Control Packet which contains an Identifier which is not valid
    // for its packet type … is a Malformed Packet."
    let bytes = wire(
        "
        30        // PUBLISH, QoS 0
        07        // remaining length 7
        00 01 61  // topic 'a'
        02        // property length 2
        04 00     // identifier 0x04: not defined
        78        // payload 'x'
        ",
    );
    let err = rejects(V5, &bytes, Violation::UnknownProperty(0x04), MALFORMED);
    assert_eq!(
        err.answer(Some(V5), true),
        ErrorAnswer::Disconnect(MALFORMED)
    );
    let two_byte_id = wire(
        "
        30        // PUBLISH, QoS 0
        07        // remaining length 7
        00 01 61  // topic 'a'
        02        // property length 2
        80 01     // identifier 128 (a Variable Byte Integer)
        78        // payload 'x'
        ",
    );
    rejects(
        V5,
        &two_byte_id,
        Violation::UnknownProperty(0x80),
        MALFORMED,
    );
}

#[test]
fn mqtt5_sec_2_2_2_2_property_not_valid_for_the_packet_is_malformed() {
    // [MQTT-5.0 §2.2.2.2], Table 2-4.
    let topic_alias_in_connect = wire(
        "
        10                 // CONNECT
        10                 // remaining length 16
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        02                 // connect flags: clean start
        00 3C              // keep alive 60 s
        03                 // property length 3
        23 00 01           // Topic Alias 1: PUBLISH only
        00 00              // client id ''
        ",
    );
    rejects_connect(
        &topic_alias_in_connect,
        not_allowed(PropertyId::TopicAlias, "CONNECT"),
        MALFORMED,
    );
    let will_delay_in_publish = wire(
        "
        30              // PUBLISH, QoS 0
        0B              // remaining length 11
        00 03 61 2F 62  // topic 'a/b'
        05              // property length 5
        18 00 00 00 0A  // Will Delay Interval 10: Will Properties only
        ",
    );
    rejects(
        V5,
        &will_delay_in_publish,
        not_allowed(PropertyId::WillDelayInterval, "PUBLISH"),
        MALFORMED,
    );
    let will_delay_in_connect = wire(
        "
        10                 // CONNECT
        12                 // remaining length 18
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        02                 // connect flags: clean start
        00 3C              // keep alive 60 s
        05                 // property length 5
        18 00 00 00 0A     // Will Delay Interval 10: in the Will Properties, not here
        00 00              // client id ''
        ",
    );
    rejects_connect(
        &will_delay_in_connect,
        not_allowed(PropertyId::WillDelayInterval, "CONNECT"),
        MALFORMED,
    );
    let session_expiry_in_pubrec = wire(
        "
        50              // PUBREC
        09              // remaining length 9
        00 01           // packet identifier 1
        00              // reason code Success
        05              // property length 5
        11 00 00 00 3C  // Session Expiry Interval 60
        ",
    );
    rejects(
        V5,
        &session_expiry_in_pubrec,
        not_allowed(PropertyId::SessionExpiryInterval, "PUBREC"),
        MALFORMED,
    );
    let reason_string_in_subscribe = wire(
        "
        82        // SUBSCRIBE
        0A        // remaining length 10
        00 01     // packet identifier 1
        03        // property length 3
        1F 00 00  // Reason String ''
        00 01 61  // topic filter 'a'
        00        // subscription options
        ",
    );
    rejects(
        V5,
        &reason_string_in_subscribe,
        not_allowed(PropertyId::ReasonString, "SUBSCRIBE"),
        MALFORMED,
    );
    let subscription_id_in_unsubscribe = wire(
        "
        A2        // UNSUBSCRIBE
        08        // remaining length 8
        00 01     // packet identifier 1
        02        // property length 2
        0B 01     // Subscription Identifier 1: UNSUBSCRIBE allows only User Property
        00 01 61  // topic filter 'a'
        ",
    );
    rejects(
        V5,
        &subscription_id_in_unsubscribe,
        not_allowed(PropertyId::SubscriptionIdentifier, "UNSUBSCRIBE"),
        MALFORMED,
    );
    let server_reference_in_suback = wire(
        "
        90           // SUBACK
        08           // remaining length 8
        00 01        // packet identifier 1
        04           // property length 4
        1C 00 01 78  // Server Reference 'x': CONNACK and DISCONNECT only
        00           // reason code Granted QoS 0
        ",
    );
    rejects(
        V5,
        &server_reference_in_suback,
        not_allowed(PropertyId::ServerReference, "SUBACK"),
        MALFORMED,
    );
}

#[test]
fn mqtt5_sec_3_1_3_2_property_not_valid_for_will_properties_is_malformed() {
    // [MQTT-5.0 §3.1.3.2], §2.2.2.2: the Will Properties allow 0x01, 0x02, 0x03, 0x08, 0x09,
    // 0x18 and 0x26 only.
    let bytes = wire(
        "
        10                 // CONNECT
        15                 // remaining length 21
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        06                 // connect flags: will (QoS 0), clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 00              // client id ''
        02                 // will property length 2
        0B 01              // Subscription Identifier 1
        00 01 77           // will topic 'w'
        00 00              // will payload, empty
        ",
    );
    rejects_connect(
        &bytes,
        not_allowed(PropertyId::SubscriptionIdentifier, "Will Properties"),
        MALFORMED,
    );
}

// ---- included more than once ----

#[test]
fn mqtt5_sec_3_1_2_11_2_session_expiry_interval_twice_is_a_protocol_error() {
    // [MQTT-5.0 §3.1.2.11.2]: "It is a Protocol Error to include the Session Expiry Interval
    // more than once."
    let bytes = wire(
        "
        10                 // CONNECT
        17                 // remaining length 23
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        02                 // connect flags: clean start
        00 3C              // keep alive 60 s
        0A                 // property length 10
        11 00 00 00 0A     // Session Expiry Interval 10
        11 00 00 00 14     // Session Expiry Interval 20
        00 00              // client id ''
        ",
    );
    rejects_connect(
        &bytes,
        Violation::DuplicateProperty(PropertyId::SessionExpiryInterval),
        PROTOCOL,
    );
}

#[test]
fn mqtt5_sec_3_8_2_1_2_subscription_identifier_twice_in_subscribe_is_a_protocol_error() {
    // [MQTT-5.0 §3.8.2.1.2]: "It is a Protocol Error to include the Subscription Identifier
    // more than once."
    let bytes = wire(
        "
        82        // SUBSCRIBE
        0B        // remaining length 11
        00 01     // packet identifier 1
        04        // property length 4
        0B 01     // Subscription Identifier 1
        0B 02     // Subscription Identifier 2
        00 01 61  // topic filter 'a'
        00        // subscription options
        ",
    );
    let err = rejects(
        V5,
        &bytes,
        Violation::DuplicateProperty(PropertyId::SubscriptionIdentifier),
        PROTOCOL,
    );
    assert_eq!(
        err.answer(Some(V5), true),
        ErrorAnswer::Disconnect(PROTOCOL)
    );
}

#[test]
fn mqtt5_properties_included_twice_are_a_protocol_error() {
    // Per-property prose: §3.3.2.3.4 Topic Alias, §3.4.2.2.2 Reason String, §3.1.3.2.2 Will
    // Delay Interval ("It is a Protocol Error to include … more than once").
    let topic_alias = wire(
        "
        30        // PUBLISH, QoS 0
        0A        // remaining length 10
        00 01 61  // topic 'a'
        06        // property length 6
        23 00 01  // Topic Alias 1
        23 00 02  // Topic Alias 2
        ",
    );
    rejects(
        V5,
        &topic_alias,
        Violation::DuplicateProperty(PropertyId::TopicAlias),
        PROTOCOL,
    );
    let reason_string = wire(
        "
        40           // PUBACK
        0B           // remaining length 11
        00 01        // packet identifier 1
        00           // reason code Success
        07           // property length 7
        1F 00 01 61  // Reason String 'a'
        1F 00 00     // Reason String ''
        ",
    );
    rejects(
        V5,
        &reason_string,
        Violation::DuplicateProperty(PropertyId::ReasonString),
        PROTOCOL,
    );
    let will_delay = wire(
        "
        10                 // CONNECT
        1D                 // remaining length 29
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        06                 // connect flags: will (QoS 0), clean start
        00 3C              // keep alive 60 s
        00                 // property length 0
        00 00              // client id ''
        0A                 // will property length 10
        18 00 00 00 01     // Will Delay Interval 1
        18 00 00 00 02     // Will Delay Interval 2
        00 01 77           // will topic 'w'
        00 00              // will payload, empty
        ",
    );
    rejects_connect(
        &will_delay,
        Violation::DuplicateProperty(PropertyId::WillDelayInterval),
        PROTOCOL,
    );
}

#[test]
fn mqtt5_sec_3_3_2_3_7_user_properties_and_subscription_identifiers_may_repeat_in_publish() {
    // [MQTT-5.0 §3.3.2.3.7]: "The User Property is allowed to appear multiple times"; §3.3.2.3.8:
    // "Multiple Subscription Identifiers will be included if the publication is the result of
    // a match to more than one subscription".
    let bytes = wire(
        "
        30                    // PUBLISH, QoS 0
        16                    // remaining length 22
        00 01 61              // topic 'a'
        12                    // property length 18
        26 00 01 6B 00 01 31  // User Property k=1
        26 00 01 6B 00 01 32  // User Property k=2: the same name again
        0B 01                 // Subscription Identifier 1
        0B 02                 // Subscription Identifier 2
        ",
    );
    let Packet::Publish(p) = accepts(Some(V5), &bytes) else {
        panic!("expected PUBLISH");
    };
    let values: Vec<_> = p
        .properties
        .user_properties
        .iter()
        .map(|u| (u.key.as_str(), u.value.as_str()))
        .collect();
    assert_eq!(values, [("k", "1"), ("k", "2")]);
    let ids: Vec<_> = p
        .properties
        .subscription_identifiers
        .iter()
        .map(|id| id.get())
        .collect();
    assert_eq!(ids, [1, 2]);
    let connect = wire(
        "
        10                    // CONNECT
        1B                    // remaining length 27
        00 04 4D 51 54 54     // protocol name 'MQTT'
        05                    // protocol level 5
        02                    // connect flags: clean start
        00 3C                 // keep alive 60 s
        0E                    // property length 14
        26 00 01 6B 00 01 31  // User Property k=1
        26 00 01 6B 00 01 32  // User Property k=2
        00 00                 // client id ''
        ",
    );
    assert!(matches!(
        accepts(None, &connect),
        Packet::Connect(c) if c.properties.user_properties.len() == 2
    ));
}

// ---- values ----

#[test]
fn mqtt5_sec_3_1_2_11_3_receive_maximum_0_is_a_protocol_error() {
    // [MQTT-5.0 §3.1.2.11.3], §3.2.2.3.3: "It is a Protocol Error to include the Receive
    // Maximum value more than once or for it to have the value 0."
    let connect = wire(
        "
        10                 // CONNECT
        10                 // remaining length 16
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        02                 // connect flags: clean start
        00 3C              // keep alive 60 s
        03                 // property length 3
        21 00 00           // Receive Maximum 0
        00 00              // client id ''
        ",
    );
    rejects_connect(
        &connect,
        Violation::InvalidPropertyValue(PropertyId::ReceiveMaximum),
        PROTOCOL,
    );
    let connack = wire(
        "
        20        // CONNACK
        06        // remaining length 6
        00        // acknowledge flags
        00        // reason code Success
        03        // property length 3
        21 00 00  // Receive Maximum 0
        ",
    );
    rejects(
        V5,
        &connack,
        Violation::InvalidPropertyValue(PropertyId::ReceiveMaximum),
        PROTOCOL,
    );
}

#[test]
fn mqtt5_sec_3_1_2_11_4_maximum_packet_size_0_is_a_protocol_error() {
    // [MQTT-5.0 §3.1.2.11.4]: "… or for the value to be set to zero."
    let bytes = wire(
        "
        10                 // CONNECT
        12                 // remaining length 18
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        02                 // connect flags: clean start
        00 3C              // keep alive 60 s
        05                 // property length 5
        27 00 00 00 00     // Maximum Packet Size 0
        00 00              // client id ''
        ",
    );
    rejects_connect(
        &bytes,
        Violation::InvalidPropertyValue(PropertyId::MaximumPacketSize),
        PROTOCOL,
    );
}

#[test]
fn mqtt5_sec_3_1_2_11_7_request_information_other_than_0_or_1_is_a_protocol_error() {
    // [MQTT-5.0 §3.1.2.11.7] Request Problem Information, §3.1.2.11.6 Request Response
    // Information: "… or to have a value other than 0 or 1."
    for (id, property) in [
        (0x17, PropertyId::RequestProblemInformation),
        (0x19, PropertyId::RequestResponseInformation),
    ] {
        let mut bytes = wire(
            "
            10                 // CONNECT
            0F                 // remaining length 15
            00 04 4D 51 54 54  // protocol name 'MQTT'
            05                 // protocol level 5
            02                 // connect flags: clean start
            00 3C              // keep alive 60 s
            02                 // property length 2
            ",
        );
        bytes.extend([id, 0x02]); // the property, value 2
        bytes.extend(wire("00 00 // client id ''"));
        rejects_connect(&bytes, Violation::InvalidPropertyValue(property), PROTOCOL);
    }
}

#[test]
fn mqtt5_sec_3_2_2_3_4_connack_byte_properties_other_than_0_or_1_are_a_protocol_error() {
    // [MQTT-5.0 §3.2.2.3.4] Maximum QoS ("a value other than 0 or 1"; absent means 2),
    // §3.2.2.3.5 Retain Available, §3.2.2.3.11 Wildcard Subscription Available.
    for (id, property) in [
        (0x24, PropertyId::MaximumQoS),
        (0x25, PropertyId::RetainAvailable),
        (0x28, PropertyId::WildcardSubscriptionAvailable),
    ] {
        let mut bytes = wire(
            "
            20  // CONNACK
            05  // remaining length 5
            00  // acknowledge flags
            00  // reason code Success
            02  // property length 2
            ",
        );
        bytes.extend([id, 0x02]); // the property, value 2
        rejects(
            V5,
            &bytes,
            Violation::InvalidPropertyValue(property),
            PROTOCOL,
        );
    }
}

#[test]
fn mqtt5_sec_3_3_2_3_2_payload_format_indicator_2_is_a_protocol_error() {
    // [MQTT-5.0 §3.3.2.3.2]: the value is 0 or 1. The spec does not classify other values
    // (statements.md rule 18): the codec treats them as a Protocol Error.
    let bytes = wire(
        "
        30        // PUBLISH, QoS 0
        06        // remaining length 6
        00 01 61  // topic 'a'
        02        // property length 2
        01 02     // Payload Format Indicator 2
        ",
    );
    rejects(
        V5,
        &bytes,
        Violation::InvalidPropertyValue(PropertyId::PayloadFormatIndicator),
        PROTOCOL,
    );
}

#[test]
fn mqtt5_sec_3_8_2_1_2_subscription_identifier_0_is_a_protocol_error() {
    // [MQTT-5.0 §3.8.2.1.2], §3.3.2.3.8: "It is a Protocol Error if the Subscription Identifier
    // has a value of 0."
    let subscribe = wire(
        "
        82        // SUBSCRIBE
        09        // remaining length 9
        00 01     // packet identifier 1
        02        // property length 2
        0B 00     // Subscription Identifier 0
        00 01 61  // topic filter 'a'
        00        // subscription options
        ",
    );
    rejects(V5, &subscribe, Violation::InvalidSubscriptionId, PROTOCOL);
    let publish = wire(
        "
        30        // PUBLISH, QoS 0
        06        // remaining length 6
        00 01 61  // topic 'a'
        02        // property length 2
        0B 00     // Subscription Identifier 0
        ",
    );
    rejects(V5, &publish, Violation::InvalidSubscriptionId, PROTOCOL);
}

// ---- authentication ----

#[test]
fn mqtt5_sec_3_1_2_11_10_authentication_data_without_method_is_a_protocol_error() {
    // [MQTT-5.0 §3.1.2.11.10]: "It is a Protocol Error to include Authentication Data if there
    // is no Authentication Method."
    let connect = wire(
        "
        10                 // CONNECT
        12                 // remaining length 18
        00 04 4D 51 54 54  // protocol name 'MQTT'
        05                 // protocol level 5
        02                 // connect flags: clean start
        00 3C              // keep alive 60 s
        05                 // property length 5
        16 00 02 AB CD     // Authentication Data AB CD
        00 00              // client id ''
        ",
    );
    rejects_connect(&connect, Violation::AuthDataWithoutMethod, PROTOCOL);
    let auth = wire(
        "
        F0              // AUTH
        07              // remaining length 7
        18              // reason code Continue authentication
        05              // property length 5
        16 00 02 AB CD  // Authentication Data AB CD
        ",
    );
    rejects(V5, &auth, Violation::AuthDataWithoutMethod, PROTOCOL);
    let with_method = wire(
        "
        F0              // AUTH
        0B              // remaining length 11
        18              // reason code Continue authentication
        09              // property length 9
        15 00 01 78     // Authentication Method 'x'
        16 00 02 AB CD  // Authentication Data AB CD
        ",
    );
    assert!(matches!(accepts(Some(V5), &with_method), Packet::Auth(_)));
}
