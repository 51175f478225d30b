//! Writes the seed corpus of the `decode` target: valid packets of every type for MQTT 3.1,
//! 3.1.1 and 5.0, built with the codec's own encoder, a few whole sessions (CONNECT first, on a
//! decoder that learns the version), and the captured 3.1.1 packets of
//! `broker-core/tests/data/mqtt311-packets.json`.
//!
//! Run from `broker-core/fuzz`: `cargo run --bin gen_corpus [OUT_DIR]` (default
//! `corpus/decode`). Each file is `[mode, split, packet bytes...]`, the layout the target reads.

use std::error::Error;
use std::num::{NonZeroU16, NonZeroU32};
use std::path::{Path, PathBuf};

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
use bytes::{Bytes, BytesMut};

type Res<T> = Result<T, Box<dyn Error>>;

/// Mode bits 0-1: which decoder the target builds.
const NEW: u8 = 0;
/// Mode bits 2-5: index 11 of the target's size table, a 4096-byte maximum packet size.
const MAX_4096: u8 = 11 << 2;
/// Index 15: 16 MiB.
const MAX_16M: u8 = 15 << 2;

fn mode_for(version: ProtocolVersion) -> u8 {
    match version {
        ProtocolVersion::V3_1 => 1,
        ProtocolVersion::V3_1_1 => 2,
        ProtocolVersion::V5 => 3,
    }
}

fn s(v: &str) -> Res<MqttString> {
    Ok(MqttString::new(v)?)
}

fn pid(v: u16) -> Res<PacketId> {
    Ok(PacketId::new(v)?)
}

fn up(k: &str, v: &str) -> Res<UserProperty> {
    Ok(UserProperty::new(s(k)?, s(v)?))
}

fn connects(v: ProtocolVersion) -> Res<Vec<(&'static str, Packet)>> {
    let mut plain = Connect::new(v, ClientId::new("c1")?);
    plain.keep_alive = 30;
    let mut full = Connect::new(v, ClientId::new("sensor-7")?);
    full.clean_start = false;
    full.username = Some(s("user")?);
    full.password = Some(Bytes::from_static(b"secret"));
    let mut will = Will {
        topic: TopicName::new("status/sensor-7")?,
        payload: Bytes::from_static(b"offline"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: WillProperties::default(),
    };
    if v.is_v5() {
        will.properties = WillProperties {
            will_delay_interval: Some(5),
            payload_format_indicator: Some(PayloadFormat::Utf8),
            message_expiry_interval: Some(3600),
            content_type: Some(s("text/plain")?),
            response_topic: Some(TopicName::new("reply/7")?),
            correlation_data: Some(Bytes::from_static(&[1, 2, 3])),
            user_properties: vec![up("k", "v")?],
        };
        full.properties = ConnectProperties {
            session_expiry_interval: Some(120),
            receive_maximum: NonZeroU16::new(10),
            maximum_packet_size: NonZeroU32::new(4096),
            topic_alias_maximum: Some(8),
            request_response_information: Some(true),
            request_problem_information: Some(false),
            authentication_method: Some(s("SCRAM-SHA-1")?),
            authentication_data: Some(Bytes::from_static(b"client-first")),
            user_properties: vec![up("region", "eu")?, up("region", "us")?],
        };
    }
    full.will = Some(will);
    let mut empty_id = Connect::new(v, ClientId::new("")?);
    empty_id.keep_alive = 0;
    let mut out = vec![("connect", plain), ("connect_full", full)];
    if v != ProtocolVersion::V3_1 {
        out.push(("connect_empty_id", empty_id));
    }
    Ok(out
        .into_iter()
        .map(|(n, c)| (n, Packet::Connect(Box::new(c))))
        .collect())
}

fn server_packets(v: ProtocolVersion) -> Res<Vec<(&'static str, Packet)>> {
    let mut out = vec![(
        "connack",
        Packet::ConnAck(Box::new(ConnAck::new(false, ReasonCode::Success))),
    )];
    let mut refused = ConnAck::new(true, ReasonCode::NotAuthorized);
    if v.is_v5() {
        refused.properties = ConnAckProperties {
            session_expiry_interval: Some(60),
            receive_maximum: NonZeroU16::new(20),
            maximum_qos: Some(QoS::AtLeastOnce),
            retain_available: Some(false),
            maximum_packet_size: NonZeroU32::new(65_536),
            assigned_client_identifier: Some(ClientId::new("auto-1")?),
            topic_alias_maximum: Some(16),
            reason_string: Some(s("no")?),
            wildcard_subscription_available: Some(true),
            subscription_identifiers_available: Some(true),
            shared_subscription_available: Some(false),
            server_keep_alive: Some(45),
            response_information: Some(s("resp/")?),
            server_reference: Some(s("other:1883")?),
            authentication_method: Some(s("SCRAM-SHA-1")?),
            authentication_data: Some(Bytes::from_static(b"server-final")),
            user_properties: vec![up("a", "b")?],
        };
    }
    out.push(("connack_refused", Packet::ConnAck(Box::new(refused))));
    let mut suback = SubAck {
        packet_id: pid(7)?,
        codes: vec![
            ReasonCode::Success,
            ReasonCode::GrantedQoS1,
            ReasonCode::GrantedQoS2,
            ReasonCode::UnspecifiedError,
        ],
        properties: AckProperties::default(),
    };
    if v.is_v5() {
        suback.codes.push(ReasonCode::TopicFilterInvalid);
        suback.properties.reason_string = Some(s("partly")?);
    }
    out.push(("suback", Packet::SubAck(suback)));
    let mut unsuback = UnsubAck {
        packet_id: pid(8)?,
        codes: Vec::new(),
        properties: AckProperties::default(),
    };
    if v.is_v5() {
        unsuback.codes = vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted];
        unsuback.properties.user_properties = vec![up("x", "y")?];
    }
    out.push(("unsuback", Packet::UnsubAck(unsuback)));
    out.push(("pingresp", Packet::PingResp));
    Ok(out)
}

fn client_packets(v: ProtocolVersion) -> Res<Vec<(&'static str, Packet)>> {
    let topic = TopicName::new("sensors/7/temp")?;
    let q0 = Publish::new(topic.clone(), Bytes::from_static(b"21.5"));
    let mut q1 = Publish::new(topic.clone(), Bytes::from_static(b"{\"t\":21.5}"));
    q1.qos_pid = QosPid::AtLeastOnce(pid(1)?);
    q1.retain = true;
    let mut q2 = Publish::new(topic, Bytes::new());
    q2.qos_pid = QosPid::ExactlyOnce(pid(65_535)?);
    q2.dup = true;
    let mut sub = Subscribe {
        packet_id: pid(2)?,
        subscriptions: vec![
            Subscription {
                filter: TopicFilter::new("sensors/+/temp")?,
                options: SubscriptionOptions::qos(QoS::AtLeastOnce),
            },
            Subscription {
                filter: TopicFilter::new("alerts/#")?,
                options: SubscriptionOptions::qos(QoS::ExactlyOnce),
            },
        ],
        properties: SubscribeProperties::default(),
    };
    let mut unsub = Unsubscribe {
        packet_id: pid(3)?,
        filters: vec![TopicFilter::new("sensors/+/temp")?, TopicFilter::new("#")?],
        properties: UnsubscribeProperties::default(),
    };
    let mut out = Vec::new();
    if v.is_v5() {
        q1.properties = PublishProperties {
            payload_format_indicator: Some(PayloadFormat::Utf8),
            message_expiry_interval: Some(30),
            topic_alias: Some(TopicAlias::new(1)?),
            response_topic: Some(TopicName::new("reply/7")?),
            correlation_data: Some(Bytes::from_static(b"id-1")),
            content_type: Some(s("application/json")?),
            user_properties: vec![up("k", "v")?],
            subscription_identifiers: vec![SubscriptionId::new(1)?, SubscriptionId::new(300)?],
        };
        let mut alias_only = Publish::new(TopicName::new("x")?, Bytes::from_static(b"1"));
        alias_only.topic = None;
        alias_only.properties.topic_alias = Some(TopicAlias::new(1)?);
        out.push(("publish_alias_only", Packet::Publish(alias_only)));
        sub.subscriptions.push(Subscription {
            filter: TopicFilter::new("$share/g/jobs/#")?,
            options: SubscriptionOptions {
                qos: QoS::AtMostOnce,
                no_local: false,
                retain_as_published: true,
                retain_handling: RetainHandling::DoNotSend,
            },
        });
        sub.subscriptions.push(Subscription {
            filter: TopicFilter::new("own/+")?,
            options: SubscriptionOptions {
                qos: QoS::AtLeastOnce,
                no_local: true,
                retain_as_published: false,
                retain_handling: RetainHandling::SendAtSubscribeIfNew,
            },
        });
        sub.properties = SubscribeProperties {
            subscription_identifier: Some(SubscriptionId::new(268_435_455)?),
            user_properties: vec![up("s", "1")?],
        };
        unsub.properties.user_properties = vec![up("u", "2")?];
        let mut dis = Disconnect::new(ReasonCode::SessionTakenOver);
        dis.properties = DisconnectProperties {
            session_expiry_interval: Some(0),
            reason_string: Some(s("bye")?),
            server_reference: Some(s("other:1883")?),
            user_properties: vec![up("d", "e")?],
        };
        out.push(("disconnect_props", Packet::Disconnect(dis)));
        out.push((
            "disconnect_with_will",
            Packet::Disconnect(Disconnect::new(ReasonCode::DisconnectWithWill)),
        ));
        out.push((
            "auth",
            Packet::Auth(Auth {
                code: ReasonCode::ContinueAuthentication,
                properties: AuthProperties {
                    authentication_method: Some(s("SCRAM-SHA-1")?),
                    authentication_data: Some(Bytes::from_static(b"client-final")),
                    reason_string: Some(s("step 2")?),
                    user_properties: vec![up("a", "u")?],
                },
            }),
        ));
        out.push((
            "auth_success",
            Packet::Auth(Auth {
                code: ReasonCode::Success,
                properties: AuthProperties::default(),
            }),
        ));
        let mut ack = Ack::new(pid(9)?);
        ack.code = ReasonCode::NoMatchingSubscribers;
        ack.properties.reason_string = Some(s("none")?);
        out.push(("puback_code_props", Packet::PubAck(ack)));
        let mut rec = Ack::new(pid(10)?);
        rec.code = ReasonCode::QuotaExceeded;
        out.push(("pubrec_code", Packet::PubRec(rec)));
        let mut rel = Ack::new(pid(11)?);
        rel.code = ReasonCode::PacketIdentifierNotFound;
        out.push(("pubrel_code", Packet::PubRel(rel)));
    }
    out.push(("publish_qos0", Packet::Publish(q0)));
    out.push(("publish_qos1", Packet::Publish(q1)));
    out.push(("publish_qos2", Packet::Publish(q2)));
    out.push(("puback", Packet::PubAck(Ack::new(pid(1)?))));
    out.push(("pubrec", Packet::PubRec(Ack::new(pid(4)?))));
    out.push(("pubrel", Packet::PubRel(Ack::new(pid(4)?))));
    out.push(("pubcomp", Packet::PubComp(Ack::new(pid(4)?))));
    out.push(("subscribe", Packet::Subscribe(sub)));
    out.push(("unsubscribe", Packet::Unsubscribe(unsub)));
    out.push(("pingreq", Packet::PingReq));
    out.push((
        "disconnect",
        Packet::Disconnect(Disconnect::new(ReasonCode::Success)),
    ));
    Ok(out)
}

fn encode(packets: &[&Packet], v: ProtocolVersion) -> Res<Vec<u8>> {
    let mut buf = BytesMut::new();
    for p in packets {
        p.encode(v, &mut buf)?;
    }
    Ok(buf.to_vec())
}

fn write(dir: &Path, name: &str, mode: u8, split: u8, bytes: &[u8]) -> Res<()> {
    let mut data = vec![mode, split];
    data.extend_from_slice(bytes);
    std::fs::write(dir.join(name), data)?;
    Ok(())
}

fn json_packets(dir: &Path) -> Res<usize> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/data/mqtt311-packets.json");
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let packets = json["packets"].as_array().ok_or("no `packets` array")?;
    for p in packets {
        let name = p["name"].as_str().ok_or("packet without name")?;
        let bytes = hex::decode(p["hex"].as_str().ok_or("packet without hex")?)?;
        let mode = if bytes.first() == Some(&0x10) {
            NEW
        } else {
            mode_for(ProtocolVersion::V3_1_1)
        };
        write(
            dir,
            &format!("json311_{name}"),
            mode | MAX_4096,
            128,
            &bytes,
        )?;
    }
    Ok(packets.len())
}

fn main() -> Res<()> {
    let dir = std::env::args_os()
        .nth(1)
        .map_or_else(|| PathBuf::from("corpus/decode"), PathBuf::from);
    std::fs::create_dir_all(&dir)?;
    let mut count = 0;
    for v in [
        ProtocolVersion::V3_1,
        ProtocolVersion::V3_1_1,
        ProtocolVersion::V5,
    ] {
        let tag = match v {
            ProtocolVersion::V3_1 => "v31",
            ProtocolVersion::V3_1_1 => "v311",
            ProtocolVersion::V5 => "v5",
        };
        let connects = connects(v)?;
        let client = client_packets(v)?;
        let server = server_packets(v)?;
        // One file per packet, on a decoder that already knows the version.
        for (i, (name, p)) in connects.iter().chain(&client).chain(&server).enumerate() {
            let mode = if matches!(p, Packet::Connect(_)) {
                NEW
            } else {
                mode_for(v)
            };
            // Vary the split point so the two-chunk run cuts headers and bodies alike.
            let split = u8::try_from((i * 37) % 256)?;
            write(
                &dir,
                &format!("{tag}_{name}"),
                mode | MAX_4096,
                split,
                &encode(&[p], v)?,
            )?;
            count += 1;
        }
        // A whole client session on a fresh decoder: CONNECT teaches it the version.
        let session: Vec<&Packet> = connects
            .iter()
            .take(1)
            .chain(&client)
            .map(|(_, p)| p)
            .collect();
        write(
            &dir,
            &format!("{tag}_session"),
            NEW | MAX_16M,
            100,
            &encode(&session, v)?,
        )?;
        count += 1;
    }
    count += json_packets(&dir)?;
    println!("wrote {count} seeds to {}", dir.display());
    Ok(())
}
