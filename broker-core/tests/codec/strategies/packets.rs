//! Strategies for whole packets of one protocol version.
//!
//! For 3.x every MQTT 5-only field is at its empty value (no properties, reason codes that
//! stand for a 3.x return code, Success where 3.x has no code) and AUTH is never produced,
//! because that is what a 3.x packet decodes to. For 5.0 every field is exercised.

use broker_core::codec::{
    Ack, Auth, ConnAck, Connect, Disconnect, Packet, PacketType, Publish, QosPid, RetainHandling,
    SubAck, Subscribe, Subscription, SubscriptionOptions, UnsubAck, Unsubscribe, Will,
};
use broker_core::types::{ProtocolVersion, ReasonCode};
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::strategy::Union;

use super::v5::{
    ack_properties, auth_properties, connack_properties, connect_properties, disconnect_properties,
    publish_properties, subscribe_properties, unsubscribe_properties, will_properties,
};
use super::{
    binary, client_id, code_in, mqtt_string, packet_id, payload, qos, topic_alias, topic_filter,
    topic_name, v3_connack_code, v3_suback_code,
};

/// `properties` for MQTT 5.0; the empty set for 3.x, which has none.
fn props<T>(version: ProtocolVersion, properties: BoxedStrategy<T>) -> BoxedStrategy<T>
where
    T: Default + Clone + std::fmt::Debug + 'static,
{
    if version.is_v5() {
        properties
    } else {
        Just(T::default()).boxed()
    }
}

/// A reason code allowed in `packet` for MQTT 5.0; Success for 3.x, which has no code there.
fn code(version: ProtocolVersion, packet: PacketType) -> BoxedStrategy<ReasonCode> {
    if version.is_v5() {
        code_in(packet)
    } else {
        Just(ReasonCode::Success).boxed()
    }
}

/// A will: any topic, payload and QoS, Will Properties for 5.0.
fn will(version: ProtocolVersion) -> BoxedStrategy<Will> {
    (
        topic_name(),
        binary(64),
        qos(),
        any::<bool>(),
        props(version, will_properties()),
    )
        .prop_map(|(topic, payload, qos, retain, properties)| Will {
            topic,
            payload,
            qos,
            retain,
            properties,
        })
        .boxed()
}

/// A CONNECT of `version`, with or without will, user name and password. In 3.x a password
/// needs a user name ([MQTT-3.1.2-22]); 5.0 allows a password alone.
pub(crate) fn connect(version: ProtocolVersion) -> BoxedStrategy<Connect> {
    let credentials = if version.is_v5() {
        (of(mqtt_string()), of(binary(32))).boxed()
    } else {
        of((mqtt_string(), of(binary(32))))
            .prop_map(|c| match c {
                Some((username, password)) => (Some(username), password),
                None => (None, None),
            })
            .boxed()
    };
    (
        any::<bool>(),
        any::<u16>(),
        client_id(),
        of(will(version)),
        credentials,
        props(version, connect_properties()),
        any::<bool>(),
    )
        .prop_map(
            move |(
                clean_start,
                keep_alive,
                client_id,
                will,
                (username, password),
                properties,
                bridge,
            )| {
                Connect {
                    protocol: version,
                    clean_start,
                    keep_alive,
                    client_id,
                    will,
                    username,
                    password,
                    properties,
                    // Only MQTT 3.x levels carry a bridge's mark.
                    bridge: bridge && !version.is_v5(),
                }
            },
        )
        .boxed()
}

/// A CONNACK. Session Present only with Success ([MQTT-3.2.2-6]; 3.1.1 [MQTT-3.2.2-4]).
fn connack(version: ProtocolVersion) -> BoxedStrategy<ConnAck> {
    let code = if version.is_v5() {
        code_in(PacketType::ConnAck)
    } else {
        v3_connack_code()
    };
    (any::<bool>(), code, props(version, connack_properties()))
        .prop_map(|(session_present, code, properties)| ConnAck {
            session_present: session_present && code == ReasonCode::Success,
            code,
            properties,
        })
        .boxed()
}

/// Every QosPid variant.
fn qos_pid() -> BoxedStrategy<QosPid> {
    prop_oneof![
        Just(QosPid::AtMostOnce),
        packet_id().prop_map(QosPid::AtLeastOnce),
        packet_id().prop_map(QosPid::ExactlyOnce),
    ]
    .boxed()
}

/// A PUBLISH. DUP only above QoS 0 ([MQTT-3.3.1-2]). In 5.0 the topic name may be left
/// empty when a topic alias names the topic (§3.3.2.1).
pub(crate) fn publish(version: ProtocolVersion) -> BoxedStrategy<Publish> {
    let topic = if version.is_v5() {
        prop_oneof![4 => topic_name().prop_map(Some), 1 => Just(None)].boxed()
    } else {
        topic_name().prop_map(Some).boxed()
    };
    (
        qos_pid(),
        any::<bool>(),
        any::<bool>(),
        topic,
        payload(),
        props(version, publish_properties()),
        topic_alias(),
    )
        .prop_map(
            |(qos_pid, dup, retain, topic, payload, mut properties, alias)| {
                if topic.is_none() && properties.topic_alias.is_none() {
                    properties.topic_alias = Some(alias);
                }
                Publish {
                    dup: dup && qos_pid != QosPid::AtMostOnce,
                    qos_pid,
                    retain,
                    topic,
                    payload,
                    properties,
                }
            },
        )
        .boxed()
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP (`packet`) with a code allowed in it.
fn ack(version: ProtocolVersion, packet: PacketType) -> BoxedStrategy<Ack> {
    (
        packet_id(),
        code(version, packet),
        props(version, ack_properties()),
    )
        .prop_map(|(packet_id, code, properties)| Ack {
            packet_id,
            code,
            properties,
        })
        .boxed()
}

/// One subscription: 3.x has the QoS only; 5.0 all options, but never No Local on a
/// shared subscription ([MQTT-3.8.3-4]).
fn subscription(version: ProtocolVersion) -> BoxedStrategy<Subscription> {
    let retain_handling = select(
        &[
            RetainHandling::SendAtSubscribe,
            RetainHandling::SendAtSubscribeIfNew,
            RetainHandling::DoNotSend,
        ][..],
    );
    (
        topic_filter(),
        qos(),
        any::<bool>(),
        any::<bool>(),
        retain_handling,
    )
        .prop_map(move |(filter, qos, no_local, rap, retain_handling)| {
            let options = if version.is_v5() {
                SubscriptionOptions {
                    qos,
                    no_local: no_local && !filter.is_shared(),
                    retain_as_published: rap,
                    retain_handling,
                }
            } else {
                SubscriptionOptions::qos(qos)
            };
            Subscription { filter, options }
        })
        .boxed()
}

/// A SUBSCRIBE with 1 to 20 subscriptions.
fn subscribe(version: ProtocolVersion) -> BoxedStrategy<Subscribe> {
    (
        packet_id(),
        vec(subscription(version), 1..=20),
        props(version, subscribe_properties()),
    )
        .prop_map(|(packet_id, subscriptions, properties)| Subscribe {
            packet_id,
            subscriptions,
            properties,
        })
        .boxed()
}

/// A SUBACK with 1 to 20 codes: any SUBACK code for 5.0, the four return codes for 3.x.
fn suback(version: ProtocolVersion) -> BoxedStrategy<SubAck> {
    let code = if version.is_v5() {
        code_in(PacketType::SubAck)
    } else {
        v3_suback_code()
    };
    (
        packet_id(),
        vec(code, 1..=20),
        props(version, ack_properties()),
    )
        .prop_map(|(packet_id, codes, properties)| SubAck {
            packet_id,
            codes,
            properties,
        })
        .boxed()
}

/// An UNSUBSCRIBE with 1 to 20 filters.
fn unsubscribe(version: ProtocolVersion) -> BoxedStrategy<Unsubscribe> {
    (
        packet_id(),
        vec(topic_filter(), 1..=20),
        props(version, unsubscribe_properties()),
    )
        .prop_map(|(packet_id, filters, properties)| Unsubscribe {
            packet_id,
            filters,
            properties,
        })
        .boxed()
}

/// An UNSUBACK: 1 to 20 codes for 5.0, none for 3.x.
fn unsuback(version: ProtocolVersion) -> BoxedStrategy<UnsubAck> {
    let codes = if version.is_v5() {
        vec(code_in(PacketType::UnsubAck), 1..=20).boxed()
    } else {
        Just(Vec::new()).boxed()
    };
    (packet_id(), codes, props(version, ack_properties()))
        .prop_map(|(packet_id, codes, properties)| UnsubAck {
            packet_id,
            codes,
            properties,
        })
        .boxed()
}

/// A DISCONNECT: any DISCONNECT code and properties for 5.0; Success and nothing for 3.x.
fn disconnect(version: ProtocolVersion) -> BoxedStrategy<Disconnect> {
    (
        code(version, PacketType::Disconnect),
        props(version, disconnect_properties()),
    )
        .prop_map(|(code, properties)| Disconnect { code, properties })
        .boxed()
}

/// An AUTH (5.0 only).
fn auth() -> BoxedStrategy<Auth> {
    (code_in(PacketType::Auth), auth_properties())
        .prop_map(|(code, properties)| Auth { code, properties })
        .boxed()
}

/// Any packet the encoder can produce for `version`: every packet type of the version,
/// PUBLISH more often than the others.
pub(crate) fn packet(version: ProtocolVersion) -> BoxedStrategy<Packet> {
    let mut choices: Vec<(u32, BoxedStrategy<Packet>)> = vec![
        (
            2,
            connect(version)
                .prop_map(|c| Packet::Connect(Box::new(c)))
                .boxed(),
        ),
        (
            1,
            connack(version)
                .prop_map(|c| Packet::ConnAck(Box::new(c)))
                .boxed(),
        ),
        (4, publish(version).prop_map(Packet::Publish).boxed()),
        (
            1,
            ack(version, PacketType::PubAck)
                .prop_map(Packet::PubAck)
                .boxed(),
        ),
        (
            1,
            ack(version, PacketType::PubRec)
                .prop_map(Packet::PubRec)
                .boxed(),
        ),
        (
            1,
            ack(version, PacketType::PubRel)
                .prop_map(Packet::PubRel)
                .boxed(),
        ),
        (
            1,
            ack(version, PacketType::PubComp)
                .prop_map(Packet::PubComp)
                .boxed(),
        ),
        (2, subscribe(version).prop_map(Packet::Subscribe).boxed()),
        (1, suback(version).prop_map(Packet::SubAck).boxed()),
        (
            1,
            unsubscribe(version).prop_map(Packet::Unsubscribe).boxed(),
        ),
        (1, unsuback(version).prop_map(Packet::UnsubAck).boxed()),
        (1, Just(Packet::PingReq).boxed()),
        (1, Just(Packet::PingResp).boxed()),
        (1, disconnect(version).prop_map(Packet::Disconnect).boxed()),
    ];
    if version.is_v5() {
        choices.push((1, auth().prop_map(Packet::Auth).boxed()));
    }
    Union::new_weighted(choices).boxed()
}
