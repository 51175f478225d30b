//! Hand-checked MQTT 3.1 byte vectors (protocol name "MQIsdp", level 3), each checked both
//! ways: the bytes decode to the expected packet on a 3.1 connection, and the packet encodes
//! to exactly the bytes. Also the CONNACK return codes 0 to 5 of 3.1 and 3.1.1 and the
//! reason codes they stand for.
//!
//! Section numbers are those of the MQTT V3.1 Protocol Specification (IBM/Eurotech, 2010)
//! unless marked 3.1.1.

use broker_core::codec::{
    Ack, ConnAck, Connect, Decoder, Disconnect, Packet, Publish, QosPid, SubAck, Subscribe,
    Subscription, SubscriptionOptions, UnsubAck, Unsubscribe, Violation, Will,
};
use broker_core::types::{
    ClientId, MqttString, PacketId, ProtocolVersion, QoS, ReasonCode, TopicFilter, TopicName,
};
use bytes::{Bytes, BytesMut};

use crate::vectors::both_ways_in;

const V3_1: ProtocolVersion = ProtocolVersion::V3_1;

fn pid(value: u16) -> PacketId {
    PacketId::new(value).unwrap()
}

fn filter(value: &str) -> TopicFilter {
    TopicFilter::new(value).unwrap()
}

fn both_ways(bytes: &[u8], packet: &Packet) {
    both_ways_in(V3_1, bytes, packet);
}

#[test]
fn connect_with_username_password_and_will() {
    #[rustfmt::skip]
    let bytes = [
        0x10, 0x2F,                                     // §2 fixed header: CONNECT; remaining length 47
        0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', // §3.1 protocol name "MQIsdp"
        0x03,                                           // §3.1 protocol version 3
        0xCE,                                           // §3.1 connect flags 1100_1110: user name, password,
                                                        //   will retain 0, will QoS 01, will flag, clean session
        0x00, 0x0A,                                     // §3.1 keep alive timer 10
        0x00, 0x04, b'd', b'e', b'v', b'1',             // §3.1 payload: client identifier "dev1"
        0x00, 0x06, b'd', b'e', b'v', b'/', b'l', b'w', // will topic "dev/lw"
        0x00, 0x04, b'd', b'e', b'a', b'd',             // will message "dead"
        0x00, 0x05, b'a', b'l', b'i', b'c', b'e',       // user name "alice"
        0x00, 0x06, b's', b'e', b'c', b'r', b'e', b't', // password "secret"
    ];
    let connect = Connect {
        protocol: V3_1,
        clean_start: true,
        keep_alive: 10,
        client_id: ClientId::new("dev1").unwrap(),
        will: Some(Will {
            topic: TopicName::new("dev/lw").unwrap(),
            payload: Bytes::from_static(b"dead"),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Default::default(),
        }),
        username: Some(MqttString::new("alice").unwrap()),
        password: Some(Bytes::from_static(b"secret")),
        properties: Default::default(),
        bridge: false,
    };
    both_ways(&bytes, &Packet::Connect(Box::new(connect)));
}

#[test]
fn connect_with_client_identifier_only() {
    #[rustfmt::skip]
    let bytes = [
        0x10, 0x12,                                     // CONNECT; remaining length 18
        0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', // protocol name "MQIsdp"
        0x03,                                           // protocol version 3
        0x00,                                           // connect flags: nothing, clean session 0
        0x00, 0x3C,                                     // keep alive timer 60
        0x00, 0x04, b'd', b'e', b'v', b'2',             // client identifier "dev2"
    ];
    let mut connect = Connect::new(V3_1, ClientId::new("dev2").unwrap());
    connect.clean_start = false;
    both_ways(&bytes, &Packet::Connect(Box::new(connect)));
}

/// The return codes of 3.1 §3.2 and 3.1.1 §3.2.2.3 (Table 3.1) and the reason codes
/// the codec stands them for, written out by hand.
const CONNACK_CODES: [(u8, ReasonCode); 6] = [
    (0, ReasonCode::Success),                    // Connection Accepted
    (1, ReasonCode::UnsupportedProtocolVersion), // unacceptable protocol version
    (2, ReasonCode::ClientIdentifierNotValid),   // identifier rejected
    (3, ReasonCode::ServerUnavailable),          // server unavailable
    (4, ReasonCode::BadUserNameOrPassword),      // bad user name or password
    (5, ReasonCode::NotAuthorized),              // not authorized
];

#[test]
fn connack_return_codes_0_to_5() {
    for (rc, code) in CONNACK_CODES {
        #[rustfmt::skip]
        let bytes = [
            0x20, 0x02, // CONNACK; remaining length 2
            0x00,       // §3.2 topic name compression response: reserved, 0
            rc,         // §3.2 return code
        ];
        both_ways(
            &bytes,
            &Packet::ConnAck(Box::new(ConnAck::new(false, code))),
        );
        assert_eq!(code.to_v3_connack(), rc);
        assert_eq!(ReasonCode::from_v3_connack(rc), Ok(code));
    }
}

#[test]
fn connack_3_1_1_return_codes_0_to_5_map_to_reason_codes() {
    for (rc, code) in CONNACK_CODES {
        #[rustfmt::skip]
        let bytes = [
            0x20, 0x02, // CONNACK; remaining length 2
            0x00,       // 3.1.1 §3.2.2.1 connect acknowledge flags: session present 0
            rc,         // 3.1.1 §3.2.2.3 connect return code
        ];
        let packet = Packet::ConnAck(Box::new(ConnAck::new(false, code)));
        both_ways_in(ProtocolVersion::V3_1_1, &bytes, &packet);
        assert_eq!(code.is_error(), rc != 0);
    }
    // Session present is only set with return code 0 (3.1.1 [MQTT-3.2.2-4]).
    both_ways_in(
        ProtocolVersion::V3_1_1,
        &[0x20, 0x02, 0x01, 0x00],
        &Packet::ConnAck(Box::new(ConnAck::new(true, ReasonCode::Success))),
    );
}

#[test]
fn connack_return_code_6_is_rejected() {
    for version in [V3_1, ProtocolVersion::V3_1_1] {
        let mut buf = BytesMut::from(&[0x20, 0x02, 0x00, 0x06][..]);
        let result = Decoder::with_version(version).decode(&mut buf);
        assert_eq!(
            result,
            Err(Violation::UnknownReasonCode(6).into()),
            "{version}"
        );
    }
}

#[test]
fn subscribe_and_suback() {
    #[rustfmt::skip]
    let subscribe = [
        0x82, 0x14,                   // §3.8 SUBSCRIBE, QoS 1 in the header (flags 0010); remaining length 20
        0x00, 0x0B,                   // message identifier 11
        0x00, 0x03, b'a', b'/', b'b', // topic name "a/b"
        0x00,                         //   requested QoS 0
        0x00, 0x03, b'c', b'/', b'#', // topic name "c/#"
        0x01,                         //   requested QoS 1
        0x00, 0x03, b'd', b'/', b'+', // topic name "d/+"
        0x02,                         //   requested QoS 2
    ];
    let subscription = |f, qos| Subscription {
        filter: filter(f),
        options: SubscriptionOptions::qos(qos),
    };
    both_ways(
        &subscribe,
        &Packet::Subscribe(Subscribe {
            packet_id: pid(11),
            subscriptions: vec![
                subscription("a/b", QoS::AtMostOnce),
                subscription("c/#", QoS::AtLeastOnce),
                subscription("d/+", QoS::ExactlyOnce),
            ],
            properties: Default::default(),
        }),
    );

    #[rustfmt::skip]
    let suback = [
        0x90, 0x05,       // §3.9 SUBACK; remaining length 5
        0x00, 0x0B,       // message identifier 11
        0x00, 0x01, 0x02, // granted QoS 0, 1, 2
    ];
    both_ways(
        &suback,
        &Packet::SubAck(SubAck {
            packet_id: pid(11),
            codes: vec![
                ReasonCode::GRANTED_QOS_0,
                ReasonCode::GrantedQoS1,
                ReasonCode::GrantedQoS2,
            ],
            properties: Default::default(),
        }),
    );
}

#[test]
fn publish_qos2_and_its_pubrec_pubrel_pubcomp() {
    #[rustfmt::skip]
    let publish = [
        0x34, 0x0B,                   // §3.3 PUBLISH, DUP 0, QoS 10, RETAIN 0; remaining length 11
        0x00, 0x03, b'a', b'/', b'b', // topic name "a/b"
        0x00, 0x0C,                   // message identifier 12
        b'd', b'a', b't', b'a',       // payload "data"
    ];
    let mut p = Publish::new(TopicName::new("a/b").unwrap(), Bytes::from_static(b"data"));
    p.qos_pid = QosPid::ExactlyOnce(pid(12));
    both_ways(&publish, &Packet::Publish(p.clone()));

    // The same message sent again, DUP 1 and RETAIN 1: first byte 0011_1101.
    let mut again = publish;
    again[0] = 0x3D;
    p.dup = true;
    p.retain = true;
    both_ways(&again, &Packet::Publish(p));

    // §3.5 PUBREC, §3.6 PUBREL (QoS 1 in the header: flags 0010), §3.7 PUBCOMP:
    // remaining length 2, the message identifier 12.
    both_ways(
        &[0x50, 0x02, 0x00, 0x0C],
        &Packet::PubRec(Ack::new(pid(12))),
    );
    both_ways(
        &[0x62, 0x02, 0x00, 0x0C],
        &Packet::PubRel(Ack::new(pid(12))),
    );
    both_ways(
        &[0x70, 0x02, 0x00, 0x0C],
        &Packet::PubComp(Ack::new(pid(12))),
    );
}

#[test]
fn unsubscribe_and_unsuback() {
    #[rustfmt::skip]
    let unsubscribe = [
        0xA2, 0x0C,                   // §3.10 UNSUBSCRIBE, QoS 1 in the header; remaining length 12
        0x00, 0x0D,                   // message identifier 13
        0x00, 0x03, b'a', b'/', b'b', // topic name "a/b"
        0x00, 0x03, b'c', b'/', b'#', // topic name "c/#"
    ];
    both_ways(
        &unsubscribe,
        &Packet::Unsubscribe(Unsubscribe {
            packet_id: pid(13),
            filters: vec![filter("a/b"), filter("c/#")],
            properties: Default::default(),
        }),
    );
    // §3.11 UNSUBACK: remaining length 2, message identifier 13; no codes before 5.0.
    both_ways(
        &[0xB0, 0x02, 0x00, 0x0D],
        &Packet::UnsubAck(UnsubAck {
            packet_id: pid(13),
            codes: vec![],
            properties: Default::default(),
        }),
    );
}

#[test]
fn pingreq_pingresp_and_disconnect() {
    both_ways(&[0xC0, 0x00], &Packet::PingReq); // §3.12 PINGREQ
    both_ways(&[0xD0, 0x00], &Packet::PingResp); // §3.13 PINGRESP
    both_ways(
        &[0xE0, 0x00], // §3.14 DISCONNECT
        &Packet::Disconnect(Disconnect::new(ReasonCode::NORMAL_DISCONNECTION)),
    );
}

#[test]
fn a_3_1_session_decodes_back_to_back() {
    // CONNECT (client identifier only), SUBSCRIBE, PINGREQ, DISCONNECT in one buffer: the
    // decoder learns 3.1 from the CONNECT and decodes the rest with it.
    #[rustfmt::skip]
    let stream = [
        0x10, 0x12, 0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 0x03, 0x02, 0x00, 0x3C,
        0x00, 0x04, b'd', b'e', b'v', b'3',
        0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'x', 0x01,
        0xC0, 0x00,
        0xE0, 0x00,
    ];
    let mut decoder = Decoder::new();
    let mut buf = BytesMut::from(&stream[..]);
    let mut types = Vec::new();
    while let Some(packet) = decoder.decode(&mut buf).unwrap() {
        if let Packet::Connect(c) = &packet {
            assert_eq!(c.protocol, V3_1);
            assert_eq!(c.client_id.as_str(), "dev3");
        }
        types.push(packet.packet_type().name());
    }
    assert_eq!(decoder.version(), Some(V3_1));
    assert_eq!(types, ["CONNECT", "SUBSCRIBE", "PINGREQ", "DISCONNECT"]);
    assert!(buf.is_empty());
}
