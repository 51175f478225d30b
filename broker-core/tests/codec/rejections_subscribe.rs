//! Negative tests, SUBSCRIBE, UNSUBSCRIBE, SUBACK and UNSUBACK: topic filters, shared
//! subscriptions, subscription options, packet identifiers and reason codes.
//!
//! Each test feeds hand-written bytes (one field a line) to a [`Decoder`] and checks the exact
//! error, the MQTT 5.0 reason code and the answer after CONNACK (DISCONNECT with that code for
//! 5.0, a plain close for 3.x). Tests are named after the normative statement they check;
//! `docs/conformance.md` maps statements to tests.

use broker_core::codec::{ErrorAnswer, Packet, PacketType, RetainHandling, Violation};
use broker_core::types::ReasonCode;

use crate::rejection_support::{accepts, rejects, wire, V31, V311, V5};

const MALFORMED: ReasonCode = ReasonCode::MalformedPacket;
const PROTOCOL: ReasonCode = ReasonCode::ProtocolError;

/// A v5 SUBSCRIBE (packet identifier 1, no properties) of one `filter` with `options`.
fn subscribe_v5(filter: &str, options: u8) -> Vec<u8> {
    let len = u8::try_from(filter.len()).unwrap();
    let mut bytes = vec![0x82, 2 + 1 + 2 + len + 1, 0x00, 0x01, 0x00, 0x00, len];
    bytes.extend_from_slice(filter.as_bytes());
    bytes.push(options);
    bytes
}

// ---- at least one filter ----

#[test]
fn mqtt_3_8_3_2_subscribe_without_a_filter_is_a_protocol_error() {
    // [MQTT-3.8.3-2] (3.1.1: [MQTT-3.8.3-3])
    let v5 = wire(
        "
        82     // SUBSCRIBE
        03     // remaining length 3
        00 01  // packet identifier 1
        00     // property length 0, then no filter
        ",
    );
    let err = rejects(V5, &v5, Violation::NoSubscribeFilters, PROTOCOL);
    assert_eq!(
        err.answer(Some(V5), true),
        ErrorAnswer::Disconnect(PROTOCOL)
    );
    let v311 = wire(
        "
        82     // SUBSCRIBE
        02     // remaining length 2
        00 01  // packet identifier 1, then no filter
        ",
    );
    let err = rejects(V311, &v311, Violation::NoSubscribeFilters, PROTOCOL);
    assert_eq!(err.answer(Some(V311), true), ErrorAnswer::Close);
    assert_eq!(
        Violation::NoSubscribeFilters.statement_v311(),
        Some("MQTT-3.8.3-3")
    );
}

#[test]
fn mqtt_3_10_3_2_unsubscribe_without_a_filter_is_a_protocol_error() {
    // [MQTT-3.10.3-2] (same id in 3.1.1)
    let v5 = wire(
        "
        A2     // UNSUBSCRIBE
        03     // remaining length 3
        00 01  // packet identifier 1
        00     // property length 0, then no filter
        ",
    );
    rejects(V5, &v5, Violation::NoUnsubscribeFilters, PROTOCOL);
    let v311 = wire(
        "
        A2     // UNSUBSCRIBE
        02     // remaining length 2
        00 01  // packet identifier 1, then no filter
        ",
    );
    rejects(V311, &v311, Violation::NoUnsubscribeFilters, PROTOCOL);
}

#[test]
fn mqtt_2_2_1_3_subscribe_and_unsubscribe_packet_id_0_is_malformed() {
    // [MQTT-2.2.1-3] (3.1.1: [MQTT-2.3.1-1])
    let subscribe = wire(
        "
        82        // SUBSCRIBE
        06        // remaining length 6
        00 00     // packet identifier 0
        00 01 61  // topic filter 'a'
        00        // requested QoS 0
        ",
    );
    rejects(V311, &subscribe, Violation::ZeroPacketId, MALFORMED);
    let unsubscribe = wire(
        "
        A2        // UNSUBSCRIBE
        06        // remaining length 6
        00 00     // packet identifier 0
        00        // property length 0
        00 01 61  // topic filter 'a'
        ",
    );
    rejects(V5, &unsubscribe, Violation::ZeroPacketId, MALFORMED);
}

#[test]
fn mqtt_2_2_1_6_suback_and_unsuback_packet_id_0_is_malformed() {
    // [MQTT-2.2.1-6] (3.1.1: [MQTT-2.3.1-7]): they echo the request's identifier, never 0.
    let suback = wire(
        "
        90     // SUBACK
        03     // remaining length 3
        00 00  // packet identifier 0
        00     // return code: granted QoS 0
        ",
    );
    rejects(V311, &suback, Violation::ZeroPacketId, MALFORMED);
    let unsuback = wire(
        "
        B0     // UNSUBACK
        02     // remaining length 2
        00 00  // packet identifier 0
        ",
    );
    rejects(V311, &unsuback, Violation::ZeroPacketId, MALFORMED);
}

// ---- topic filters ----

#[test]
fn mqtt_4_7_1_1_multi_level_wildcard_not_last_is_malformed() {
    // [MQTT-4.7.1-1] (3.1.1: [MQTT-4.7.1-2])
    let v5 = wire(
        "
        82                 // SUBSCRIBE
        0B                 // remaining length 11
        00 01              // packet identifier 1
        00                 // property length 0
        00 05 61 2F 23 2F 62  // topic filter 'a/#/b'
        00                 // subscription options
        ",
    );
    rejects(V5, &v5, Violation::MultiLevelWildcardNotLast, MALFORMED);
    let v311 = wire(
        "
        82           // SUBSCRIBE
        07           // remaining length 7
        00 01        // packet identifier 1
        00 02 61 23  // topic filter 'a#': not on its own level
        00           // requested QoS 0
        ",
    );
    rejects(V311, &v311, Violation::MultiLevelWildcardNotLast, MALFORMED);
    assert_eq!(
        Violation::MultiLevelWildcardNotLast.statement_v311(),
        Some("MQTT-4.7.1-2")
    );
    let unsubscribe = wire(
        "
        A2              // UNSUBSCRIBE
        07              // remaining length 7
        00 01           // packet identifier 1
        00 03 23 2F 61  // topic filter '#/a'
        ",
    );
    rejects(
        V311,
        &unsubscribe,
        Violation::MultiLevelWildcardNotLast,
        MALFORMED,
    );
    rejects(
        V31,
        &unsubscribe,
        Violation::MultiLevelWildcardNotLast,
        MALFORMED,
    );
}

#[test]
fn mqtt_4_7_1_2_single_level_wildcard_not_a_whole_level_is_malformed() {
    // [MQTT-4.7.1-2] (3.1.1: [MQTT-4.7.1-3])
    let v5 = wire(
        "
        82                 // SUBSCRIBE
        0A                 // remaining length 10
        00 01              // packet identifier 1
        00                 // property length 0
        00 04 61 2B 2F 62  // topic filter 'a+/b'
        00                 // subscription options
        ",
    );
    rejects(
        V5,
        &v5,
        Violation::SingleLevelWildcardNotWholeLevel,
        MALFORMED,
    );
    let v311 = wire(
        "
        A2           // UNSUBSCRIBE
        06           // remaining length 6
        00 01        // packet identifier 1
        00 02 2B 61  // topic filter '+a'
        ",
    );
    rejects(
        V311,
        &v311,
        Violation::SingleLevelWildcardNotWholeLevel,
        MALFORMED,
    );
    assert_eq!(
        Violation::SingleLevelWildcardNotWholeLevel.statement_v311(),
        Some("MQTT-4.7.1-3")
    );
}

#[test]
fn mqtt_4_7_3_1_empty_topic_filter_is_malformed() {
    // [MQTT-4.7.3-1] (same id in 3.1.1)
    let v5 = wire(
        "
        82     // SUBSCRIBE
        06     // remaining length 6
        00 01  // packet identifier 1
        00     // property length 0
        00 00  // topic filter ''
        00     // subscription options
        ",
    );
    rejects(V5, &v5, Violation::EmptyTopic, MALFORMED);
    let v311 = wire(
        "
        A2     // UNSUBSCRIBE
        04     // remaining length 4
        00 01  // packet identifier 1
        00 00  // topic filter ''
        ",
    );
    rejects(V311, &v311, Violation::EmptyTopic, MALFORMED);
}

#[test]
fn mqtt_4_8_2_1_empty_share_name_is_malformed() {
    // [MQTT-4.8.2-1]: "MUST contain a ShareName that is at least one character long".
    let bytes = wire(
        "
        82                             // SUBSCRIBE
        0F                             // remaining length 15
        00 01                          // packet identifier 1
        00                             // property length 0
        00 09                          // topic filter length 9
        24 73 68 61 72 65 2F 2F 61     // '$share//a'
        00                             // subscription options
        ",
    );
    rejects(V5, &bytes, Violation::EmptyShareName, MALFORMED);
}

#[test]
fn mqtt_4_8_2_2_share_name_with_a_wildcard_is_malformed() {
    // [MQTT-4.8.2-2]: "The ShareName MUST NOT contain the characters "/", "+" or "#"".
    for (filter, name) in [
        ("$share/g+/a", "'+' in the share name"),
        ("$share/#/a", "'#'"),
    ] {
        let bytes = subscribe_v5(filter, 0x00);
        let err = rejects(V5, &bytes, Violation::InvalidShareName, MALFORMED);
        assert_eq!(err, Violation::InvalidShareName.into(), "{name}");
    }
}

#[test]
fn mqtt_4_8_2_2_share_name_must_be_followed_by_a_filter() {
    // [MQTT-4.8.2-2]: "but MUST be followed by a "/" character. This "/" character MUST be
    // followed by a Topic Filter".
    let no_slash = wire(
        "
        82                          // SUBSCRIBE
        0E                          // remaining length 14
        00 01                       // packet identifier 1
        00                          // property length 0
        00 08                       // topic filter length 8
        24 73 68 61 72 65 2F 67     // '$share/g'
        00                          // subscription options
        ",
    );
    rejects(V5, &no_slash, Violation::SharedFilterMissing, MALFORMED);
    let empty_filter = subscribe_v5("$share/g/", 0x00);
    rejects(V5, &empty_filter, Violation::SharedFilterMissing, MALFORMED);
    let unsubscribe = wire(
        "
        A2                          // UNSUBSCRIBE
        0D                          // remaining length 13
        00 01                       // packet identifier 1
        00                          // property length 0
        00 08                       // topic filter length 8
        24 73 68 61 72 65 2F 67     // '$share/g'
        ",
    );
    rejects(V5, &unsubscribe, Violation::SharedFilterMissing, MALFORMED);
    // A well-formed shared subscription decodes.
    assert!(matches!(
        accepts(Some(V5), &subscribe_v5("$share/g/a/#", 0x01)),
        Packet::Subscribe(s) if s.subscriptions[0].filter.share_name() == Some("g")
    ));
}

// ---- subscription options ----

#[test]
fn mqtt_3_8_3_5_reserved_subscription_option_bits_are_malformed() {
    // [MQTT-3.8.3-5]: bits 6 and 7 in 5.0.
    for options in [0x40, 0x80, 0xC1] {
        let bytes = subscribe_v5("a", options);
        rejects(
            V5,
            &bytes,
            Violation::SubscriptionOptionsReserved(options),
            MALFORMED,
        );
    }
}

#[test]
fn mqtt311_3_8_3_4_reserved_requested_qos_bits_are_malformed() {
    // 3.1.1 [MQTT-3-8.3-4] (sic): "if any of Reserved bits in the payload are non-zero, or QoS
    // is not 0,1 or 2". 3.x has only the two QoS bits: No Local (0x04) is reserved there.
    let bytes = wire(
        "
        82        // SUBSCRIBE
        06        // remaining length 6
        00 01     // packet identifier 1
        00 01 61  // topic filter 'a'
        04        // requested QoS byte: bit 2 set
        ",
    );
    let err = rejects(
        V311,
        &bytes,
        Violation::SubscriptionOptionsReserved(0x04),
        MALFORMED,
    );
    assert_eq!(err.answer(Some(V311), true), ErrorAnswer::Close);
    assert_eq!(
        Violation::SubscriptionOptionsReserved(0x04).statement_v311(),
        Some("MQTT-3-8.3-4")
    );
    rejects(
        V31,
        &bytes,
        Violation::SubscriptionOptionsReserved(0x04),
        MALFORMED,
    );
}

#[test]
fn mqtt5_sec_3_8_3_1_requested_qos_3_is_a_protocol_error() {
    // [MQTT-5.0 §3.8.3.1]: "It is a Protocol Error if the Maximum QoS field has the value 3."
    // (3.1.1 [MQTT-3-8.3-4]: malformed; MQTT 3 answers by closing either way.)
    let v5 = subscribe_v5("a", 0x03);
    let err = rejects(V5, &v5, Violation::InvalidRequestedQoS, PROTOCOL);
    assert_eq!(
        err.answer(Some(V5), true),
        ErrorAnswer::Disconnect(PROTOCOL)
    );
    let v311 = wire(
        "
        82        // SUBSCRIBE
        06        // remaining length 6
        00 01     // packet identifier 1
        00 01 61  // topic filter 'a'
        03        // requested QoS 3
        ",
    );
    let err = rejects(V311, &v311, Violation::InvalidRequestedQoS, PROTOCOL);
    assert_eq!(err.answer(Some(V311), true), ErrorAnswer::Close);
    assert_eq!(
        Violation::InvalidRequestedQoS.statement_v311(),
        Some("MQTT-3-8.3-4")
    );
}

#[test]
fn mqtt5_sec_3_8_3_1_retain_handling_3_is_a_protocol_error() {
    // [MQTT-5.0 §3.8.3.1]: "It is a Protocol Error to send a Retain Handling value of 3."
    let bytes = wire(
        "
        82        // SUBSCRIBE
        07        // remaining length 7
        00 01     // packet identifier 1
        00        // property length 0
        00 01 61  // topic filter 'a'
        30        // subscription options: retain handling 3
        ",
    );
    rejects(V5, &bytes, Violation::InvalidRetainHandling, PROTOCOL);
    assert!(matches!(
        accepts(Some(V5), &subscribe_v5("a", 0x20)),
        Packet::Subscribe(s) if s.subscriptions[0].options.retain_handling == RetainHandling::DoNotSend
    ));
}

#[test]
fn mqtt_3_8_3_4_no_local_on_a_shared_subscription_is_a_protocol_error() {
    // [MQTT-3.8.3-4]
    let bytes = wire(
        "
        82                             // SUBSCRIBE
        10                             // remaining length 16
        00 01                          // packet identifier 1
        00                             // property length 0
        00 0A                          // topic filter length 10
        24 73 68 61 72 65 2F 67 2F 61  // '$share/g/a'
        04                             // subscription options: No Local
        ",
    );
    rejects(V5, &bytes, Violation::NoLocalOnSharedSubscription, PROTOCOL);
    // No Local on an ordinary filter is fine.
    assert!(matches!(
        accepts(Some(V5), &subscribe_v5("a", 0x04)),
        Packet::Subscribe(s) if s.subscriptions[0].options.no_local
    ));
}

// ---- SUBACK and UNSUBACK ----

#[test]
fn mqtt_3_9_3_2_suback_reason_code_must_be_a_subscribe_code() {
    // [MQTT-3.9.3-2] (same id in 3.1.1: "SUBACK return codes other than 0x00, 0x01, 0x02 and
    // 0x80 are reserved and MUST NOT be used").
    let v5 = wire(
        "
        90     // SUBACK
        04     // remaining length 4
        00 01  // packet identifier 1
        00     // property length 0
        11     // reason code No subscription existed: UNSUBACK only
        ",
    );
    let expected = Violation::ReasonCodeNotAllowed {
        packet: PacketType::SubAck,
        code: ReasonCode::NoSubscriptionExisted,
    };
    rejects(V5, &v5, expected, PROTOCOL);
    assert_eq!(expected.statement(), "MQTT-3.9.3-2");
    let v311 = wire(
        "
        90     // SUBACK
        03     // remaining length 3
        00 01  // packet identifier 1
        03     // return code 3
        ",
    );
    rejects(V311, &v311, Violation::UnknownReasonCode(0x03), MALFORMED);
    assert!(Violation::UnknownReasonCode(0x03)
        .statement_v311()
        .is_some_and(|s| s.starts_with("MQTT-3.9.3-2")));
}

#[test]
fn mqtt_3_11_3_2_unsuback_reason_code_must_be_an_unsubscribe_code() {
    // [MQTT-3.11.3-2]: Table 3-9.
    let bytes = wire(
        "
        B0     // UNSUBACK
        04     // remaining length 4
        00 01  // packet identifier 1
        00     // property length 0
        01     // reason code Granted QoS 1: SUBACK only
        ",
    );
    let expected = Violation::ReasonCodeNotAllowed {
        packet: PacketType::UnsubAck,
        code: ReasonCode::GrantedQoS1,
    };
    rejects(V5, &bytes, expected, PROTOCOL);
    assert_eq!(expected.statement(), "MQTT-3.11.3-2");
}

#[test]
fn mqtt5_sec_3_9_3_suback_and_unsuback_without_codes_are_malformed() {
    // [MQTT-5.0 §3.9.3], §3.11.3: one code per filter, and a request has at least one filter
    // ([MQTT-3.9.3-2], [MQTT-3.11.3-2]; 3.1.1 [MQTT-3.8.4-5]).
    let suback_v5 = wire(
        "
        90     // SUBACK
        03     // remaining length 3
        00 01  // packet identifier 1
        00     // property length 0, then no reason code
        ",
    );
    rejects(V5, &suback_v5, Violation::NoReasonCodes, MALFORMED);
    let suback_v311 = wire(
        "
        90     // SUBACK
        02     // remaining length 2
        00 01  // packet identifier 1, then no return code
        ",
    );
    rejects(V311, &suback_v311, Violation::NoReasonCodes, MALFORMED);
    let unsuback_v5 = wire(
        "
        B0     // UNSUBACK
        03     // remaining length 3
        00 01  // packet identifier 1
        00     // property length 0, then no reason code
        ",
    );
    rejects(V5, &unsuback_v5, Violation::NoReasonCodes, MALFORMED);
    // A 3.x UNSUBACK has no codes at all.
    assert!(matches!(
        accepts(Some(V311), &wire("B0 02 0001 // UNSUBACK, packet identifier 1")),
        Packet::UnsubAck(u) if u.codes.is_empty()
    ));
}
