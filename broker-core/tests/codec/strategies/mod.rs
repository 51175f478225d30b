//! proptest strategies for the codec's values and packets.
//!
//! Every strategy yields values that are valid per the specification of the version asked
//! for, so a failed round trip is the codec's fault, not the generator's:
//!
//! - this module: strings, topic names, topic filters, identifiers and reason codes;
//! - [`v5`]: the MQTT 5.0 property sets;
//! - [`packets`]: whole packets for one protocol version.

pub(crate) mod packets;
pub(crate) mod v5;

use broker_core::codec::PacketType;
use broker_core::types::{
    ClientId, MqttString, PacketId, ProtocolVersion, QoS, ReasonCode, SubscriptionId, TopicAlias,
    TopicFilter, TopicName,
};
use bytes::Bytes;
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::sample::select;

/// The three protocol versions the codec speaks.
pub(crate) const VERSIONS: [ProtocolVersion; 3] = [
    ProtocolVersion::V3_1,
    ProtocolVersion::V3_1_1,
    ProtocolVersion::V5,
];

/// Characters with a UTF-8 encoding of 2, 3 and 4 bytes, the byte order mark, and the edges
/// of the one-byte and two-byte ranges.
const MULTI_BYTE: &[char] = &[
    'é',
    'ß',
    'Ω',
    '€',
    '中',
    'ア',
    '😀',
    '𝄞',
    '\u{FEFF}',
    '\u{7F}',
    '\u{80}',
    '\u{7FF}',
    '\u{800}',
    '\u{FFFD}',
    '\u{10000}',
    '\u{10FFFF}',
];

/// A character allowed in a UTF-8 Encoded String: anything but U+0000 ([MQTT-1.5.4-2]).
/// Rust `char`s are never surrogates, so [MQTT-1.5.4-1] holds by construction.
pub(crate) fn mqtt_char() -> BoxedStrategy<char> {
    prop_oneof![
        6 => proptest::char::range('a', 'z'),
        3 => proptest::char::range(' ', '~'),
        2 => select(MULTI_BYTE),
        1 => any::<char>(),
    ]
    .prop_filter("U+0000 is not allowed", |c| *c != '\0')
    .boxed()
}

/// A UTF-8 Encoded String of at most `max_chars` characters, possibly empty.
pub(crate) fn string(max_chars: usize) -> BoxedStrategy<String> {
    vec(mqtt_char(), 0..=max_chars)
        .prop_map(|chars| chars.into_iter().collect())
        .boxed()
}

/// A short [`MqttString`], possibly empty.
pub(crate) fn mqtt_string() -> BoxedStrategy<MqttString> {
    string(12).prop_map(|s| MqttString::new(s).unwrap()).boxed()
}

/// A client identifier: any string, the empty one included (the broker decides what it
/// accepts, not the codec).
pub(crate) fn client_id() -> BoxedStrategy<ClientId> {
    prop_oneof![
        1 => Just(ClientId::default()),
        3 => "[0-9a-zA-Z]{1,23}".prop_map(|s| ClientId::new(&s).unwrap()),
        2 => string(30).prop_map(|s| ClientId::new(&s).unwrap()),
    ]
    .boxed()
}

/// Binary Data of at most `max` bytes.
pub(crate) fn binary(max: usize) -> BoxedStrategy<Bytes> {
    vec(any::<u8>(), 0..=max).prop_map(Bytes::from).boxed()
}

/// A PUBLISH payload, 0 to 2 KiB, mostly short.
pub(crate) fn payload() -> BoxedStrategy<Bytes> {
    prop_oneof![4 => binary(32), 1 => binary(2048)].boxed()
}

/// One character of a topic level: no `/` (the separator), `+` or `#` (wildcards).
fn level_char() -> BoxedStrategy<char> {
    mqtt_char()
        .prop_filter("not a separator or wildcard", |c| {
            !matches!(c, '/' | '+' | '#')
        })
        .boxed()
}

/// One level of a topic name, possibly empty (`a//b` has an empty level).
fn topic_level() -> BoxedStrategy<String> {
    vec(level_char(), 0..8)
        .prop_map(|chars| chars.into_iter().collect())
        .boxed()
}

/// A topic name: 1 to 5 levels joined by `/`, never empty, sometimes starting with `$`.
pub(crate) fn topic_name() -> BoxedStrategy<TopicName> {
    (any::<bool>(), vec(topic_level(), 1..=5))
        .prop_map(|(dollar, levels)| {
            let joined = levels.join("/");
            if dollar {
                format!("${joined}")
            } else {
                joined
            }
        })
        .prop_filter("a topic name is never empty", |s| !s.is_empty())
        .prop_map(|s| TopicName::new(s).unwrap())
        .boxed()
}

/// A filter without the `$share/` prefix: levels that are `+` or plain, then maybe `#`.
fn plain_filter() -> BoxedStrategy<String> {
    let level = prop_oneof![2 => Just("+".to_owned()), 5 => topic_level()];
    (any::<bool>(), vec(level, 0..=4), any::<bool>())
        .prop_map(|(dollar, mut levels, hash)| {
            if hash || levels.is_empty() {
                levels.push("#".to_owned());
            }
            let joined = levels.join("/");
            // A leading `$` only on a plain first level: `$+` is not a whole-level wildcard.
            if dollar && !joined.starts_with(['+', '#']) {
                format!("${joined}")
            } else {
                joined
            }
        })
        .prop_filter("a filter is never empty", |s| !s.is_empty())
        .prop_filter("not a shared subscription", |s| !s.starts_with("$share/"))
        .boxed()
}

/// A share name: at least one character, no `/`, `+` or `#` ([MQTT-4.8.2-1]).
fn share_name() -> BoxedStrategy<String> {
    vec(level_char(), 1..6)
        .prop_map(|chars| chars.into_iter().collect())
        .boxed()
}

/// A topic filter: plain (with `+` and `#` wildcards) or shared (`$share/{group}/{filter}`).
pub(crate) fn topic_filter() -> BoxedStrategy<TopicFilter> {
    prop_oneof![
        4 => plain_filter(),
        1 => (share_name(), plain_filter()).prop_map(|(g, f)| format!("$share/{g}/{f}")),
    ]
    .prop_map(|s| TopicFilter::new(s).unwrap())
    .boxed()
}

/// A packet identifier, 1 to 65,535, with the edges more likely.
pub(crate) fn packet_id() -> BoxedStrategy<PacketId> {
    prop_oneof![
        1 => Just(1u16),
        1 => Just(u16::MAX),
        6 => 1..=u16::MAX,
    ]
    .prop_map(|id| PacketId::new(id).unwrap())
    .boxed()
}

/// Any QoS level.
pub(crate) fn qos() -> BoxedStrategy<QoS> {
    select(&[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce][..]).boxed()
}

/// A subscription identifier, 1 to 268,435,455, covering every Variable Byte Integer length.
pub(crate) fn subscription_id() -> BoxedStrategy<SubscriptionId> {
    prop_oneof![
        Just(1),
        1u32..=127,
        128u32..=16_383,
        16_384u32..=2_097_151,
        2_097_152u32..=SubscriptionId::MAX,
        Just(SubscriptionId::MAX),
    ]
    .prop_map(|id| SubscriptionId::new(id).unwrap())
    .boxed()
}

/// A topic alias, 1 to 65,535.
pub(crate) fn topic_alias() -> BoxedStrategy<TopicAlias> {
    (1..=u16::MAX)
        .prop_map(|a| TopicAlias::new(a).unwrap())
        .boxed()
}

/// A reason code that MQTT 5.0 allows in `packet`.
pub(crate) fn code_in(packet: PacketType) -> BoxedStrategy<ReasonCode> {
    let codes: Vec<ReasonCode> = ReasonCode::ALL
        .iter()
        .copied()
        .filter(|c| c.allowed_in(packet))
        .collect();
    assert!(!codes.is_empty(), "{packet:?} allows no reason code");
    select(codes).boxed()
}

/// A reason code that stands for an MQTT 3 CONNACK return code 0 to 5.
pub(crate) fn v3_connack_code() -> BoxedStrategy<ReasonCode> {
    select(
        &[
            ReasonCode::Success,
            ReasonCode::UnsupportedProtocolVersion,
            ReasonCode::ClientIdentifierNotValid,
            ReasonCode::ServerUnavailable,
            ReasonCode::BadUserNameOrPassword,
            ReasonCode::NotAuthorized,
        ][..],
    )
    .boxed()
}

/// A reason code that stands for an MQTT 3 SUBACK return code 0, 1, 2 or 0x80.
pub(crate) fn v3_suback_code() -> BoxedStrategy<ReasonCode> {
    select(
        &[
            ReasonCode::GRANTED_QOS_0,
            ReasonCode::GrantedQoS1,
            ReasonCode::GrantedQoS2,
            ReasonCode::UnspecifiedError,
        ][..],
    )
    .boxed()
}
