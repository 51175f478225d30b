//! Hand-checked MQTT 5.0 byte vectors, each checked both ways: the bytes decode to the
//! expected packet, and the packet encodes to exactly the bytes.
//!
//! Every vector is written out field by field from the layouts of the MQTT 5.0
//! specification (section numbers in the comments); none was produced by the encoder.
//! Properties are listed in the order the encoder writes them (the specification allows any
//! order; `property_order_on_the_wire_does_not_matter` checks the decoder accepts others).

use std::num::{NonZeroU16, NonZeroU32};

use broker_core::codec::{
    Ack, AckProperties, Auth, AuthProperties, ConnAck, ConnAckProperties, Connect,
    ConnectProperties, Disconnect, DisconnectProperties, Packet, Publish, PublishProperties,
    QosPid, RetainHandling, SubAck, Subscribe, SubscribeProperties, Subscription,
    SubscriptionOptions, UnsubAck, Unsubscribe, UnsubscribeProperties, Will, WillProperties,
};
use broker_core::types::{
    ClientId, MqttString, PacketId, PayloadFormat, ProtocolVersion, QoS, ReasonCode,
    SubscriptionId, TopicAlias, TopicFilter, TopicName, UserProperty,
};
use bytes::Bytes;

use crate::vectors;

const V5: ProtocolVersion = ProtocolVersion::V5;

fn s(value: &str) -> MqttString {
    MqttString::new(value).unwrap()
}

fn up(key: &str, value: &str) -> UserProperty {
    UserProperty::new(s(key), s(value))
}

fn topic(value: &str) -> TopicName {
    TopicName::new(value).unwrap()
}

fn filter(value: &str) -> TopicFilter {
    TopicFilter::new(value).unwrap()
}

fn pid(value: u16) -> PacketId {
    PacketId::new(value).unwrap()
}

/// Decodes `bytes` on an MQTT 5 connection (a CONNECT on a fresh one) and returns the packet.
fn decode(bytes: &[u8], connect: bool) -> Packet {
    vectors::decode(bytes, V5, connect)
}

/// The vector both ways: `bytes` decode to `packet`, `packet` encodes to `bytes`.
fn both_ways(bytes: &[u8], packet: &Packet) {
    vectors::both_ways_in(V5, bytes, packet);
}

// --- CONNECT (§3.1) ----------------------------------------------------------------------

#[rustfmt::skip]
const CONNECT: &[u8] = &[
    0x10, 0x7D,                                     // §3.1.1 fixed header: CONNECT; remaining length 125
    // §3.1.2 variable header
    0x00, 0x04, b'M', b'Q', b'T', b'T',             // §3.1.2.1 protocol name "MQTT"
    0x05,                                           // §3.1.2.2 protocol version 5
    0xEE,                                           // §3.1.2.3 connect flags 1110_1110: user name, password,
                                                    //   will retain, will QoS 01, will flag, clean start; reserved 0
    0x00, 0x3C,                                     // §3.1.2.10 keep alive 60
    0x30,                                           // §3.1.2.11.1 property length 48
    0x11, 0x00, 0x00, 0x00, 0x78,                   // §3.1.2.11.2 session expiry interval 120
    0x21, 0x00, 0x14,                               // §3.1.2.11.3 receive maximum 20
    0x27, 0x00, 0x00, 0x10, 0x00,                   // §3.1.2.11.4 maximum packet size 4096
    0x22, 0x00, 0x0A,                               // §3.1.2.11.5 topic alias maximum 10
    0x19, 0x01,                                     // §3.1.2.11.6 request response information 1
    0x17, 0x00,                                     // §3.1.2.11.7 request problem information 0
    0x15, 0x00, 0x05, b'S', b'C', b'R', b'A', b'M', // §3.1.2.11.9 authentication method "SCRAM"
    0x16, 0x00, 0x03, 0x01, 0x02, 0x03,             // §3.1.2.11.10 authentication data 01 02 03
    0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'b',       // §3.1.2.11.8 user property a=b
    0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'c',       // §3.1.2.11.8 user property a=c (same name again)
    // §3.1.3 payload
    0x00, 0x03, b'c', b'i', b'd',                   // §3.1.3.1 client identifier "cid"
    0x25,                                           // §3.1.3.2.1 will property length 37
    0x18, 0x00, 0x00, 0x00, 0x05,                   // §3.1.3.2.2 will delay interval 5
    0x01, 0x01,                                     // §3.1.3.2.3 payload format indicator 1 (UTF-8)
    0x02, 0x00, 0x00, 0x01, 0x2C,                   // §3.1.3.2.4 message expiry interval 300
    0x03, 0x00, 0x04, b't', b'e', b'x', b't',       // §3.1.3.2.5 content type "text"
    0x08, 0x00, 0x03, b'r', b'/', b'1',             // §3.1.3.2.6 response topic "r/1"
    0x09, 0x00, 0x02, 0xCA, 0xFE,                   // §3.1.3.2.7 correlation data CA FE
    0x26, 0x00, 0x01, b'w', 0x00, 0x01, b'x',       // §3.1.3.2.8 user property w=x
    0x00, 0x03, b'w', b'/', b't',                   // §3.1.3.3 will topic "w/t"
    0x00, 0x04, b'g', b'o', b'n', b'e',             // §3.1.3.4 will payload "gone"
    0x00, 0x04, b'u', b's', b'e', b'r',             // §3.1.3.5 user name "user"
    0x00, 0x04, b'p', b'w', 0x00, 0xFF,             // §3.1.3.6 password: binary data 70 77 00 FF
];

fn connect_packet() -> Connect {
    Connect {
        protocol: V5,
        clean_start: true,
        keep_alive: 60,
        client_id: ClientId::new("cid").unwrap(),
        will: Some(Will {
            topic: topic("w/t"),
            payload: Bytes::from_static(b"gone"),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: WillProperties {
                will_delay_interval: Some(5),
                payload_format_indicator: Some(PayloadFormat::Utf8),
                message_expiry_interval: Some(300),
                content_type: Some(s("text")),
                response_topic: Some(topic("r/1")),
                correlation_data: Some(Bytes::from_static(&[0xCA, 0xFE])),
                user_properties: vec![up("w", "x")],
            },
        }),
        username: Some(s("user")),
        password: Some(Bytes::from_static(&[b'p', b'w', 0x00, 0xFF])),
        properties: ConnectProperties {
            session_expiry_interval: Some(120),
            receive_maximum: NonZeroU16::new(20),
            maximum_packet_size: NonZeroU32::new(4096),
            topic_alias_maximum: Some(10),
            request_response_information: Some(true),
            request_problem_information: Some(false),
            authentication_method: Some(s("SCRAM")),
            authentication_data: Some(Bytes::from_static(&[1, 2, 3])),
            user_properties: vec![up("a", "b"), up("a", "c")],
        },
        bridge: false,
    }
}

#[test]
fn connect_with_every_property_and_a_will_with_every_will_property() {
    both_ways(CONNECT, &Packet::Connect(Box::new(connect_packet())));
}

// --- CONNACK (§3.2) ----------------------------------------------------------------------

#[rustfmt::skip]
const CONNACK: &[u8] = &[
    0x20, 0x4D,                                     // §3.2.1 fixed header: CONNACK; remaining length 77
    0x01,                                           // §3.2.2.1 acknowledge flags: session present 1
    0x00,                                           // §3.2.2.2 reason code 0x00 Success
    0x4A,                                           // §3.2.2.3.1 property length 74
    0x11, 0x00, 0x00, 0x0E, 0x10,                   // §3.2.2.3.2 session expiry interval 3600
    0x21, 0x00, 0x0A,                               // §3.2.2.3.3 receive maximum 10
    0x24, 0x01,                                     // §3.2.2.3.4 maximum QoS 1
    0x25, 0x00,                                     // §3.2.2.3.5 retain available 0
    0x27, 0x00, 0x01, 0x00, 0x00,                   // §3.2.2.3.6 maximum packet size 65536
    0x12, 0x00, 0x04, b'a', b'u', b't', b'o',       // §3.2.2.3.7 assigned client identifier "auto"
    0x22, 0x00, 0x05,                               // §3.2.2.3.8 topic alias maximum 5
    0x1F, 0x00, 0x02, b'o', b'k',                   // §3.2.2.3.9 reason string "ok"
    0x28, 0x01,                                     // §3.2.2.3.11 wildcard subscription available 1
    0x29, 0x00,                                     // §3.2.2.3.12 subscription identifiers available 0
    0x2A, 0x01,                                     // §3.2.2.3.13 shared subscription available 1
    0x13, 0x00, 0x1E,                               // §3.2.2.3.14 server keep alive 30
    0x1A, 0x00, 0x04, b'r', b'e', b's', b'p',       // §3.2.2.3.15 response information "resp"
    0x1C, 0x00, 0x03, b's', b'r', b'v',             // §3.2.2.3.16 server reference "srv"
    0x15, 0x00, 0x05, b'S', b'C', b'R', b'A', b'M', // §3.2.2.3.17 authentication method "SCRAM"
    0x16, 0x00, 0x02, 0x0A, 0x0B,                   // §3.2.2.3.18 authentication data 0A 0B
    0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v',       // §3.2.2.3.10 user property k=v
];

#[test]
fn connack_with_every_property() {
    let connack = ConnAck {
        session_present: true,
        code: ReasonCode::Success,
        properties: ConnAckProperties {
            session_expiry_interval: Some(3600),
            receive_maximum: NonZeroU16::new(10),
            maximum_qos: Some(QoS::AtLeastOnce),
            retain_available: Some(false),
            maximum_packet_size: NonZeroU32::new(65536),
            assigned_client_identifier: Some(ClientId::new("auto").unwrap()),
            topic_alias_maximum: Some(5),
            reason_string: Some(s("ok")),
            wildcard_subscription_available: Some(true),
            subscription_identifiers_available: Some(false),
            shared_subscription_available: Some(true),
            server_keep_alive: Some(30),
            response_information: Some(s("resp")),
            server_reference: Some(s("srv")),
            authentication_method: Some(s("SCRAM")),
            authentication_data: Some(Bytes::from_static(&[0x0A, 0x0B])),
            user_properties: vec![up("k", "v")],
        },
    };
    both_ways(CONNACK, &Packet::ConnAck(Box::new(connack)));
}

#[test]
fn connack_failure_keeps_its_property_length() {
    // CONNACK has no short form: the property length is always there (§3.2.2.3.1).
    #[rustfmt::skip]
    let bytes = [
        0x20, 0x03, // §3.2.1 CONNACK; remaining length 3
        0x00,       // §3.2.2.1 session present 0
        0x87,       // §3.2.2.2 reason code 0x87 Not authorized
        0x00,       // §3.2.2.3.1 property length 0
    ];
    both_ways(
        &bytes,
        &Packet::ConnAck(Box::new(ConnAck::new(false, ReasonCode::NotAuthorized))),
    );
}

// --- PUBLISH (§3.3) ----------------------------------------------------------------------

#[test]
fn publish_qos1_with_topic_alias_and_user_properties() {
    #[rustfmt::skip]
    let bytes = [
        0x32, 0x1B,                               // §3.3.1 PUBLISH, DUP 0, QoS 01, RETAIN 0; remaining length 27
        0x00, 0x03, b'a', b'/', b'b',             // §3.3.2.1 topic name "a/b"
        0x00, 0x0A,                               // §3.3.2.2 packet identifier 10
        0x11,                                     // §3.3.2.3.1 property length 17
        0x23, 0x00, 0x01,                         // §3.3.2.3.4 topic alias 1
        0x26, 0x00, 0x01, b'a', 0x00, 0x01, b'1', // §3.3.2.3.7 user property a=1
        0x26, 0x00, 0x01, b'b', 0x00, 0x01, b'2', // §3.3.2.3.7 user property b=2
        b'h', b'i',                               // §3.3.3 payload "hi"
    ];
    let mut p = Publish::new(topic("a/b"), Bytes::from_static(b"hi"));
    p.qos_pid = QosPid::AtLeastOnce(pid(10));
    p.properties.topic_alias = Some(TopicAlias::new(1).unwrap());
    p.properties.user_properties = vec![up("a", "1"), up("b", "2")];
    both_ways(&bytes, &Packet::Publish(p));
}

#[test]
fn publish_with_empty_topic_and_topic_alias_only() {
    #[rustfmt::skip]
    let bytes = [
        0x30, 0x08,       // §3.3.1 PUBLISH, DUP 0, QoS 0, RETAIN 0; remaining length 8
        0x00, 0x00,       // §3.3.2.1 topic name: zero length, the alias names the topic
                          // §3.3.2.2 no packet identifier at QoS 0
        0x03,             // §3.3.2.3.1 property length 3
        0x23, 0x00, 0x01, // §3.3.2.3.4 topic alias 1
        b'h', b'i',       // §3.3.3 payload "hi"
    ];
    let p = Publish {
        dup: false,
        qos_pid: QosPid::AtMostOnce,
        retain: false,
        topic: None,
        payload: Bytes::from_static(b"hi"),
        properties: PublishProperties {
            topic_alias: Some(TopicAlias::new(1).unwrap()),
            ..PublishProperties::default()
        },
    };
    both_ways(&bytes, &Packet::Publish(p));
}

#[rustfmt::skip]
const PUBLISH_PROPERTIES: &[u8] = &[
    0x35, 0x2F,                                     // §3.3.1 PUBLISH, DUP 0, QoS 10, RETAIN 1; remaining length 47
    0x00, 0x03, b'a', b'/', b'b',                   // §3.3.2.1 topic name "a/b"
    0x01, 0x00,                                     // §3.3.2.2 packet identifier 256
    0x25,                                           // §3.3.2.3.1 property length 37
    0x01, 0x01,                                     // §3.3.2.3.2 payload format indicator 1 (UTF-8)
    0x02, 0x00, 0x00, 0x00, 0x3C,                   // §3.3.2.3.3 message expiry interval 60
    0x08, 0x00, 0x05, b'r', b'e', b'p', b'l', b'y', // §3.3.2.3.5 response topic "reply"
    0x09, 0x00, 0x02, 0x01, 0x02,                   // §3.3.2.3.6 correlation data 01 02
    0x03, 0x00, 0x04, b'j', b's', b'o', b'n',       // §3.3.2.3.9 content type "json"
    0x0B, 0x01,                                     // §3.3.2.3.8 subscription identifier 1 (1-byte VBI)
    0x0B, 0x80, 0x01,                               // §3.3.2.3.8 subscription identifier 128 (2-byte VBI)
    0x0B, 0xFF, 0xFF, 0xFF, 0x7F,                   // §3.3.2.3.8 subscription identifier 268,435,455 (4-byte VBI)
    b'{', b'}',                                     // §3.3.3 payload "{}"
];

fn publish_properties_packet() -> Packet {
    let sub_id = |v| SubscriptionId::new(v).unwrap();
    Packet::Publish(Publish {
        dup: false,
        qos_pid: QosPid::ExactlyOnce(pid(256)),
        retain: true,
        topic: Some(topic("a/b")),
        payload: Bytes::from_static(b"{}"),
        properties: PublishProperties {
            payload_format_indicator: Some(PayloadFormat::Utf8),
            message_expiry_interval: Some(60),
            topic_alias: None,
            response_topic: Some(topic("reply")),
            correlation_data: Some(Bytes::from_static(&[1, 2])),
            content_type: Some(s("json")),
            user_properties: vec![],
            subscription_identifiers: vec![sub_id(1), sub_id(128), sub_id(268_435_455)],
        },
    })
}

#[test]
fn publish_with_subscription_identifiers_expiry_content_type_response_topic_correlation() {
    both_ways(PUBLISH_PROPERTIES, &publish_properties_packet());
}

// --- SUBSCRIBE / SUBACK / UNSUBSCRIBE / UNSUBACK (§3.8 to §3.11) -----------------------

#[test]
fn subscribe_with_every_subscription_option() {
    #[rustfmt::skip]
    let bytes = [
        0x82, 0x1C,                               // §3.8.1 SUBSCRIBE, flags 0010; remaining length 28
        0x00, 0x05,                               // §3.8.2 packet identifier 5
        0x09,                                     // §3.8.2.1.1 property length 9
        0x0B, 0x2A,                               // §3.8.2.1.2 subscription identifier 42
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // §3.8.2.1.3 user property k=v
        0x00, 0x03, b'a', b'/', b'+',             // §3.8.3 topic filter "a/+"
        0x00,                                     // §3.8.3.1 options 00_00_0_0_00: QoS 0, defaults
        0x00, 0x03, b'b', b'/', b'#',             // §3.8.3 topic filter "b/#"
        0x15,                                     // §3.8.3.1 options 00_01_0_1_01: retain handling 1,
                                                  //   retain as published 0, no local 1, QoS 1
        0x00, 0x01, b'c',                         // §3.8.3 topic filter "c"
        0x2A,                                     // §3.8.3.1 options 00_10_1_0_10: retain handling 2,
                                                  //   retain as published 1, no local 0, QoS 2
    ];
    let subscribe = Subscribe {
        packet_id: pid(5),
        subscriptions: vec![
            Subscription {
                filter: filter("a/+"),
                options: SubscriptionOptions::qos(QoS::AtMostOnce),
            },
            Subscription {
                filter: filter("b/#"),
                options: SubscriptionOptions {
                    qos: QoS::AtLeastOnce,
                    no_local: true,
                    retain_as_published: false,
                    retain_handling: RetainHandling::SendAtSubscribeIfNew,
                },
            },
            Subscription {
                filter: filter("c"),
                options: SubscriptionOptions {
                    qos: QoS::ExactlyOnce,
                    no_local: false,
                    retain_as_published: true,
                    retain_handling: RetainHandling::DoNotSend,
                },
            },
        ],
        properties: SubscribeProperties {
            subscription_identifier: Some(SubscriptionId::new(42).unwrap()),
            user_properties: vec![up("k", "v")],
        },
    };
    both_ways(&bytes, &Packet::Subscribe(subscribe));
}

#[test]
fn suback_with_mixed_reason_codes() {
    #[rustfmt::skip]
    let bytes = [
        0x90, 0x17,                                     // §3.9.1 SUBACK; remaining length 23
        0x00, 0x05,                                     // §3.9.2 packet identifier 5
        0x08,                                           // §3.9.2.1.1 property length 8
        0x1F, 0x00, 0x05, b'm', b'i', b'x', b'e', b'd', // §3.9.2.1.2 reason string "mixed"
        0x00, 0x01, 0x02,                               // §3.9.3 Granted QoS 0, 1, 2
        0x80, 0x83, 0x87, 0x8F, 0x91,                   //   Unspecified, Implementation specific, Not authorized,
                                                        //   Topic Filter invalid, Packet Identifier in use
        0x97, 0x9E, 0xA1, 0xA2,                         //   Quota exceeded, Shared / Subscription Identifiers /
                                                        //   Wildcard Subscriptions not supported
    ];
    let suback = SubAck {
        packet_id: pid(5),
        codes: [
            0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2,
        ]
        .into_iter()
        .map(|c| ReasonCode::new(c).unwrap())
        .collect(),
        properties: AckProperties {
            reason_string: Some(s("mixed")),
            user_properties: vec![],
        },
    };
    assert_eq!(suback.codes[2], ReasonCode::GrantedQoS2);
    assert_eq!(
        suback.codes[11],
        ReasonCode::WildcardSubscriptionsNotSupported
    );
    both_ways(&bytes, &Packet::SubAck(suback));
}

#[test]
fn unsubscribe_and_unsuback() {
    #[rustfmt::skip]
    let unsubscribe = [
        0xA2, 0x12,                               // §3.10.1 UNSUBSCRIBE, flags 0010; remaining length 18
        0x00, 0x06,                               // §3.10.2 packet identifier 6
        0x07,                                     // §3.10.2.1.1 property length 7
        0x26, 0x00, 0x01, b'k', 0x00, 0x01, b'v', // §3.10.2.1.2 user property k=v
        0x00, 0x03, b'a', b'/', b'+',             // §3.10.3 topic filter "a/+"
        0x00, 0x01, b'c',                         // §3.10.3 topic filter "c"
    ];
    both_ways(
        &unsubscribe,
        &Packet::Unsubscribe(Unsubscribe {
            packet_id: pid(6),
            filters: vec![filter("a/+"), filter("c")],
            properties: UnsubscribeProperties {
                user_properties: vec![up("k", "v")],
            },
        }),
    );

    #[rustfmt::skip]
    let unsuback = [
        0xB0, 0x06,       // §3.11.1 UNSUBACK; remaining length 6
        0x00, 0x06,       // §3.11.2 packet identifier 6
        0x00,             // §3.11.2.1.1 property length 0
        0x00, 0x11, 0x87, // §3.11.3 Success, No subscription existed, Not authorized
    ];
    both_ways(
        &unsuback,
        &Packet::UnsubAck(UnsubAck {
            packet_id: pid(6),
            codes: vec![
                ReasonCode::Success,
                ReasonCode::NoSubscriptionExisted,
                ReasonCode::NotAuthorized,
            ],
            properties: AckProperties::default(),
        }),
    );
}

// --- PUBACK / PUBREC / PUBREL / PUBCOMP (§3.4 to §3.7) ---------------------------------

/// First byte of the fixed header, a failure code the packet allows, the packet variant.
type AckCase = (u8, u8, fn(Ack) -> Packet);

/// The four acknowledgements (PUBREL has flags 0010, §3.6.1).
const ACKS: [AckCase; 4] = [
    (0x40, 0x10, Packet::PubAck),  // §3.4.2.1 0x10 No matching subscribers
    (0x50, 0x91, Packet::PubRec),  // §3.5.2.1 0x91 Packet Identifier in use
    (0x62, 0x92, Packet::PubRel),  // §3.6.2.1 0x92 Packet Identifier not found
    (0x70, 0x92, Packet::PubComp), // §3.7.2.1 0x92 Packet Identifier not found
];

#[test]
fn acks_short_form_without_reason_code() {
    for (first, _, variant) in ACKS {
        // §3.4.2.1: code and property length omitted when Success without properties.
        #[rustfmt::skip]
        let bytes = [
            first, 0x02, // fixed header; remaining length 2
            0x00, 0x07,  // packet identifier 7
        ];
        both_ways(&bytes, &variant(Ack::new(pid(7))));
    }
}

#[test]
fn acks_short_form_with_reason_code_only() {
    for (first, code, variant) in ACKS {
        // §3.4.2.2.1: remaining length below 4 means no property length (0 properties).
        #[rustfmt::skip]
        let bytes = [
            first, 0x03, // fixed header; remaining length 3
            0x00, 0x07,  // packet identifier 7
            code,        // reason code
        ];
        let mut ack = Ack::new(pid(7));
        ack.code = ReasonCode::new(code).unwrap();
        both_ways(&bytes, &variant(ack));
    }
}

#[test]
fn acks_full_form_with_reason_string() {
    for (first, code, variant) in ACKS {
        for code in [code, 0x00] {
            #[rustfmt::skip]
            let bytes = [
                first, 0x0B,                              // fixed header; remaining length 11
                0x00, 0x07,                               // packet identifier 7
                code,                                     // reason code: present, even Success, before properties
                0x07,                                     // property length 7
                0x1F, 0x00, 0x04, b'f', b'u', b'l', b'l', // reason string "full"
            ];
            let ack = Ack {
                packet_id: pid(7),
                code: ReasonCode::new(code).unwrap(),
                properties: AckProperties {
                    reason_string: Some(s("full")),
                    user_properties: vec![],
                },
            };
            both_ways(&bytes, &variant(ack));
        }
    }
}

#[test]
fn acks_with_an_empty_property_block_decode_to_the_short_form() {
    // Remaining length 4: reason code and a property length of 0. Legal, but longer than
    // needed, so the encoder writes the 2- or 3-byte form instead.
    for (first, code, variant) in ACKS {
        for (code, short_len) in [(0x00, 2), (code, 3)] {
            let bytes = [first, 0x04, 0x00, 0x07, code, 0x00];
            let mut ack = Ack::new(pid(7));
            ack.code = ReasonCode::new(code).unwrap();
            let packet = variant(ack);
            assert_eq!(decode(&bytes, false), packet);
            assert_eq!(packet.encoded_len(V5).unwrap(), 2 + short_len);
        }
    }
}

// --- AUTH (§3.15) and DISCONNECT (§3.14) ----------------------------------------------

#[test]
fn auth_continue_with_method_and_data() {
    #[rustfmt::skip]
    let bytes = [
        0xF0, 0x10,                                     // §3.15.1 AUTH; remaining length 16
        0x18,                                           // §3.15.2.1 reason code 0x18 Continue authentication
        0x0E,                                           // §3.15.2.2.1 property length 14
        0x15, 0x00, 0x05, b'S', b'C', b'R', b'A', b'M', // §3.15.2.2.2 authentication method "SCRAM"
        0x16, 0x00, 0x03, 0x01, 0x02, 0x03,             // §3.15.2.2.3 authentication data 01 02 03
    ];
    let auth = Auth {
        code: ReasonCode::ContinueAuthentication,
        properties: AuthProperties {
            authentication_method: Some(s("SCRAM")),
            authentication_data: Some(Bytes::from_static(&[1, 2, 3])),
            ..AuthProperties::default()
        },
    };
    both_ways(&bytes, &Packet::Auth(auth));
}

#[test]
fn auth_reauthenticate() {
    #[rustfmt::skip]
    let bytes = [
        0xF0, 0x0A,                                     // §3.15.1 AUTH; remaining length 10
        0x19,                                           // §3.15.2.1 reason code 0x19 Re-authenticate
        0x08,                                           // §3.15.2.2.1 property length 8
        0x15, 0x00, 0x05, b'S', b'C', b'R', b'A', b'M', // §3.15.2.2.2 authentication method "SCRAM"
    ];
    let auth = Auth {
        code: ReasonCode::ReAuthenticate,
        properties: AuthProperties {
            authentication_method: Some(s("SCRAM")),
            ..AuthProperties::default()
        },
    };
    both_ways(&bytes, &Packet::Auth(auth));
}

#[test]
fn auth_zero_length_form_is_success() {
    // §3.15.2.1: code and property length omitted: Success, remaining length 0.
    let auth = Auth {
        code: ReasonCode::Success,
        properties: AuthProperties::default(),
    };
    both_ways(&[0xF0, 0x00], &Packet::Auth(auth.clone()));
    // The long forms of the same packet decode to it too.
    assert_eq!(
        decode(&[0xF0, 0x01, 0x00], false),
        Packet::Auth(auth.clone())
    );
    assert_eq!(decode(&[0xF0, 0x02, 0x00, 0x00], false), Packet::Auth(auth));
}

#[test]
fn disconnect_with_reason_string() {
    #[rustfmt::skip]
    let bytes = [
        0xE0, 0x08,                         // §3.14.1 DISCONNECT; remaining length 8
        0x8B,                               // §3.14.2.1 reason code 0x8B Server shutting down
        0x06,                               // §3.14.2.2.1 property length 6
        0x1F, 0x00, 0x03, b'b', b'y', b'e', // §3.14.2.2.3 reason string "bye"
    ];
    let disconnect = Disconnect {
        code: ReasonCode::ServerShuttingDown,
        properties: DisconnectProperties {
            reason_string: Some(s("bye")),
            ..DisconnectProperties::default()
        },
    };
    both_ways(&bytes, &Packet::Disconnect(disconnect));
}

#[test]
fn disconnect_with_will_and_session_expiry() {
    #[rustfmt::skip]
    let bytes = [
        0xE0, 0x07,                   // §3.14.1 DISCONNECT; remaining length 7
        0x04,                         // §3.14.2.1 reason code 0x04 Disconnect with Will Message
        0x05,                         // §3.14.2.2.1 property length 5
        0x11, 0x00, 0x00, 0x00, 0x3C, // §3.14.2.2.2 session expiry interval 60
    ];
    let disconnect = Disconnect {
        code: ReasonCode::DisconnectWithWill,
        properties: DisconnectProperties {
            session_expiry_interval: Some(60),
            ..DisconnectProperties::default()
        },
    };
    both_ways(&bytes, &Packet::Disconnect(disconnect));
}

#[test]
fn disconnect_short_forms() {
    // §3.14.2.1: remaining length 0 is Normal disconnection without properties.
    let normal = Packet::Disconnect(Disconnect::new(ReasonCode::NORMAL_DISCONNECTION));
    both_ways(&[0xE0, 0x00], &normal);
    // §3.14.2.2.1: remaining length 1 is a reason code without properties.
    both_ways(
        &[0xE0, 0x01, 0x8E], // 0x8E Session taken over
        &Packet::Disconnect(Disconnect::new(ReasonCode::SessionTakenOver)),
    );
    // Longer forms of the normal disconnection decode to it as well.
    assert_eq!(decode(&[0xE0, 0x01, 0x00], false), normal);
    assert_eq!(decode(&[0xE0, 0x02, 0x00, 0x00], false), normal);
}

// --- Property order ------------------------------------------------------------------

#[test]
fn property_order_on_the_wire_does_not_matter() {
    // The PUBLISH_PROPERTIES vector with its property block reversed field by field
    // (§2.2.2: properties may come in any order). Same length, same packet.
    #[rustfmt::skip]
    let reordered = [
        0x35, 0x2F,
        0x00, 0x03, b'a', b'/', b'b',
        0x01, 0x00,
        0x25,
        0x0B, 0xFF, 0xFF, 0xFF, 0x7F,                   // subscription identifier 268,435,455
        0x0B, 0x80, 0x01,                               // subscription identifier 128
        0x0B, 0x01,                                     // subscription identifier 1
        0x03, 0x00, 0x04, b'j', b's', b'o', b'n',       // content type
        0x09, 0x00, 0x02, 0x01, 0x02,                   // correlation data
        0x08, 0x00, 0x05, b'r', b'e', b'p', b'l', b'y', // response topic
        0x02, 0x00, 0x00, 0x00, 0x3C,                   // message expiry interval
        0x01, 0x01,                                     // payload format indicator
        b'{', b'}',
    ];
    let Packet::Publish(mut expected) = publish_properties_packet() else {
        unreachable!()
    };
    // Repeated properties keep their wire order.
    expected.properties.subscription_identifiers.reverse();
    assert_eq!(decode(&reordered, false), Packet::Publish(expected));

    // CONNECT with the user properties first and the authentication pair before the rest.
    let mut connect = CONNECT.to_vec();
    let block = 13..13 + 48; // after the fixed header (2), name (6), level, flags, keep alive (2), length
    let props = connect[block.clone()].to_vec();
    let (scalars, users) = props.split_at(48 - 14);
    let (early, auth) = scalars.split_at(scalars.len() - 14);
    let mut moved = users.to_vec();
    moved.extend_from_slice(auth);
    moved.extend_from_slice(early);
    connect.splice(block, moved);
    assert_ne!(connect, CONNECT);
    assert_eq!(
        decode(&connect, true),
        Packet::Connect(Box::new(connect_packet()))
    );
}
