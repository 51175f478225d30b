//! The session building blocks composed with the codec, the way the session state machine
//! will use them: bytes in, blocks, bytes out, with a virtual clock (`t0 + n` seconds).

use std::num::NonZeroU16;
use std::time::{Duration, Instant};

use broker_core::codec::{Ack, Decoder, Packet, Publish, QosPid};
use broker_core::session::{
    AliasUse, InboundAliases, InboundQos2, InboundQos2Publish, KeepAlive, Message, OutboundAliases,
    OutboundInflight, PubRecOutcome, Retransmission, SendOptions,
};
use broker_core::types::{
    PacketId, ProtocolVersion, QoS, ReasonCode, SubscriptionId, TopicAlias, TopicName,
};
use bytes::{Bytes, BytesMut};

const V5: ProtocolVersion = ProtocolVersion::V5;

fn encode(packet: &Packet, version: ProtocolVersion) -> BytesMut {
    let mut buf = BytesMut::new();
    packet.encode(version, &mut buf).unwrap();
    buf
}

fn decode(mut buf: BytesMut, version: ProtocolVersion) -> Packet {
    let packet = Decoder::with_version(version)
        .decode(&mut buf)
        .unwrap()
        .unwrap();
    assert!(buf.is_empty());
    packet
}

fn roundtrip(packet: Packet, version: ProtocolVersion) -> Packet {
    decode(encode(&packet, version), version)
}

fn id(value: u16) -> PacketId {
    PacketId::new(value).unwrap()
}

fn topic(name: &str) -> TopicName {
    TopicName::new(name).unwrap()
}

/// What a client publishes: QoS 2, topic `sensors/1` set with alias 1, expiry 30 s.
fn client_publish(pid: u16, with_name: bool) -> BytesMut {
    let mut p = Publish::new(topic("sensors/1"), Bytes::from_static(b"21.5"));
    p.qos_pid = QosPid::ExactlyOnce(id(pid));
    p.properties.topic_alias = Some(TopicAlias::new(1).unwrap());
    p.properties.message_expiry_interval = Some(30);
    if !with_name {
        p.topic = None;
        p.dup = true;
    }
    encode(&Packet::Publish(p), V5)
}

fn server_publish(packet: Packet) -> Publish {
    match packet {
        Packet::Publish(p) => p,
        other => panic!("expected a PUBLISH, got {other:?}"),
    }
}

#[test]
fn qos2_in_alias_resolved_fanned_out_with_expiry_and_alias() {
    let t0 = Instant::now();
    let mut inbound_aliases = InboundAliases::new(10);
    let mut qos2 = InboundQos2::new(NonZeroU16::new(20).unwrap());

    // Publisher side: first PUBLISH is new and delivered once.
    let mut p = server_publish(decode(client_publish(7, true), V5));
    assert_eq!(
        qos2.handle_publish(p.qos_pid.packet_id().unwrap()),
        Ok(InboundQos2Publish::New)
    );
    inbound_aliases.resolve(&mut p).unwrap();
    let message = Message::from_publish(p, t0).unwrap().detach();
    assert_eq!(message.topic.as_str(), "sensors/1");

    // A repeat by alias alone, before PUBREL: PUBREC again, no second delivery
    // ([MQTT-4.3.3-10]); the alias still resolves.
    let mut again = server_publish(decode(client_publish(7, false), V5));
    assert_eq!(
        qos2.handle_publish(again.qos_pid.packet_id().unwrap()),
        Ok(InboundQos2Publish::Duplicate)
    );
    inbound_aliases.resolve(&mut again).unwrap();
    assert_eq!(again.topic, Some(topic("sensors/1")));
    let comp = roundtrip(Packet::PubComp(qos2.handle_pubrel(&Ack::new(id(7)))), V5);
    assert_eq!(comp, Packet::PubComp(Ack::new(id(7))));

    // Subscriber side, 10 s later, granted QoS 1, one subscription id.
    let now = t0 + Duration::from_secs(10);
    let mut aliases = OutboundAliases::new(4);
    let mut window = OutboundInflight::new(NonZeroU16::new(8).unwrap());
    let send = |window: &mut OutboundInflight, aliases: &mut OutboundAliases| {
        let qos = message.qos_for(QoS::AtLeastOnce);
        assert_eq!(qos, QoS::AtLeastOnce);
        let mut out = window
            .insert(|pid| {
                let options = SendOptions {
                    subscription_ids: vec![SubscriptionId::new(3).unwrap()],
                    ..SendOptions::new(QosPid::AtLeastOnce(pid))
                };
                message.to_publish(options, now)
            })
            .unwrap();
        aliases.choose(&message.topic).apply(&mut out);
        server_publish(roundtrip(Packet::Publish(out), V5))
    };
    let first = send(&mut window, &mut aliases);
    assert_eq!(first.topic, Some(topic("sensors/1")));
    assert_eq!(
        first.properties.topic_alias,
        Some(TopicAlias::new(1).unwrap())
    );
    // [MQTT-3.3.2-6]: 30 s minus the 10 s waited.
    assert_eq!(first.properties.message_expiry_interval, Some(20));
    assert_eq!(first.properties.subscription_identifiers.len(), 1);
    assert_eq!(first.qos_pid, QosPid::AtLeastOnce(id(1)));
    assert!(!first.dup);

    let second = send(&mut window, &mut aliases);
    assert_eq!(second.topic, None);
    assert_eq!(
        second.properties.topic_alias,
        Some(TopicAlias::new(1).unwrap())
    );
    assert_eq!(second.qos_pid, QosPid::AtLeastOnce(id(2)));
    assert_eq!(window.len(), 2);

    // Past the expiry the copy is not sent ([MQTT-3.3.2-5]).
    assert!(message.is_expired(t0 + Duration::from_secs(30)));
}

#[test]
fn v311_subscriber_gets_no_properties() {
    let t0 = Instant::now();
    let mut p = server_publish(decode(client_publish(7, true), V5));
    InboundAliases::new(10).resolve(&mut p).unwrap();
    let message = Message::from_publish(p, t0).unwrap();
    // A 3.1.1 client takes no aliases: its map has maximum 0.
    let alias = OutboundAliases::new(0).choose(&message.topic);
    assert_eq!(alias, AliasUse::NameOnly);
    let options = SendOptions {
        alias,
        ..SendOptions::new(QosPid::ExactlyOnce(id(9)))
    };
    let out = message.to_publish(options, t0).unwrap();
    let got = server_publish(roundtrip(Packet::Publish(out), ProtocolVersion::V3_1_1));
    assert_eq!(got.topic, Some(topic("sensors/1")));
    assert!(got.properties.is_empty());
    assert_eq!(got.payload, Bytes::from_static(b"21.5"));
}

#[test]
fn reconnect_retransmits_publish_with_dup_and_pubrel_mqtt_4_4_0_1() {
    let t0 = Instant::now();
    let message = Message::new(
        topic("a/very/long/topic"),
        Bytes::from_static(b"payload"),
        QoS::ExactlyOnce,
        false,
        Default::default(),
        t0,
    );
    let mut window = OutboundInflight::new(NonZeroU16::new(8).unwrap());
    let mut aliases = OutboundAliases::new(2);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let mut out = window
            .insert(|pid| message.to_publish(SendOptions::new(QosPid::ExactlyOnce(pid)), t0))
            .unwrap();
        ids.push(out.qos_pid.packet_id().unwrap());
        aliases.choose(&message.topic).apply(&mut out);
    }
    // The first exchange reaches PUBREC; its PUBREL goes out.
    let rec = roundtrip(Packet::PubRec(Ack::new(ids[0])), V5);
    let Packet::PubRec(rec) = rec else {
        panic!("expected PUBREC")
    };
    assert_eq!(
        window.handle_pubrec(&rec),
        PubRecOutcome::Release(Ack::new(ids[0]))
    );

    // New connection: the second PUBLISH again with DUP=1, its topic name and no alias
    // ([MQTT-3.3.2-7]); then the PUBREL of the first ([MQTT-4.3.3-6]: not its PUBLISH).
    window.set_receive_maximum(NonZeroU16::new(1).unwrap());
    let resent: Vec<_> = window
        .retransmissions()
        .map(|r| match r {
            Retransmission::Publish(p) => roundtrip(Packet::Publish(*p), V5),
            Retransmission::PubRel(a) => roundtrip(Packet::PubRel(a), V5),
        })
        .collect();
    assert_eq!(resent.len(), 2);
    let Packet::Publish(p) = &resent[0] else {
        panic!("expected PUBLISH first, got {resent:?}")
    };
    assert!(p.dup);
    assert_eq!(p.qos_pid, QosPid::ExactlyOnce(ids[1]));
    assert_eq!(p.topic, Some(topic("a/very/long/topic")));
    assert_eq!(p.properties.topic_alias, None);
    assert_eq!(resent[1], Packet::PubRel(Ack::new(ids[0])));
    // Over the new Receive Maximum of 1: nothing new until the window drains.
    assert!(!window.has_quota());
}

#[test]
fn packet_identifier_not_found_encodes_per_version() {
    let mut qos2 = InboundQos2::new(NonZeroU16::MAX);
    let comp = Packet::PubComp(qos2.handle_pubrel(&Ack::new(id(4))));
    // v5: id + reason code 0x92.
    assert_eq!(&encode(&comp, V5)[..], &[0x70, 3, 0, 4, 0x92]);
    // 3.1.1 has no reason codes: a plain PUBCOMP.
    assert_eq!(
        &encode(&comp, ProtocolVersion::V3_1_1)[..],
        &[0x70, 2, 0, 4]
    );
    let mut window = OutboundInflight::new(NonZeroU16::MAX);
    let PubRecOutcome::Unknown(rel) = window.handle_pubrec(&Ack::new(id(4))) else {
        panic!("expected an unknown id");
    };
    assert_eq!(rel.code, ReasonCode::PacketIdentifierNotFound);
    assert_eq!(
        &encode(&Packet::PubRel(rel), V5)[..],
        &[0x62, 3, 0, 4, 0x92]
    );
}

#[test]
fn keep_alive_deadline_moves_with_each_packet_mqtt_3_1_2_22() {
    let t0 = Instant::now();
    let keep_alive = KeepAlive::new(4, None);
    let mut last = t0;
    for step in 1..=5u64 {
        // A packet every 5 s: within 1.5 x 4 = 6 s each time.
        let now = t0 + Duration::from_secs(5 * step);
        assert!(!keep_alive.is_expired(last, now));
        last = now;
    }
    assert_eq!(
        keep_alive.deadline(last),
        Some(last + Duration::from_secs(6))
    );
    assert!(keep_alive.is_expired(last, last + Duration::from_secs(6)));
}
