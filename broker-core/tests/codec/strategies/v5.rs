//! Strategies for the MQTT 5.0 property sets: every property of each set, each present or
//! absent, User Properties repeated (the same name more than once included).

use std::num::{NonZeroU16, NonZeroU32};

use broker_core::codec::{
    AckProperties, AuthProperties, ConnAckProperties, ConnectProperties, DisconnectProperties,
    PublishProperties, SubscribeProperties, UnsubscribeProperties, WillProperties,
};
use broker_core::types::{MqttString, PayloadFormat, QoS, UserProperty};
use bytes::Bytes;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use proptest::sample::select;

use super::{binary, client_id, mqtt_string, subscription_id, topic_alias, topic_name};

/// User Properties: 0 to 4 pairs; names come from a small pool so that a name often
/// repeats, which the specification allows ([MQTT-3.3.2-18] keeps their order).
pub(crate) fn user_properties() -> BoxedStrategy<Vec<UserProperty>> {
    let key = prop_oneof![
        2 => select(&["k", "dup", "ключ"][..]).prop_map(|k| MqttString::new(k).unwrap()),
        1 => mqtt_string(),
    ];
    vec(
        (key, mqtt_string()).prop_map(|(k, v)| UserProperty::new(k, v)),
        0..=4,
    )
    .boxed()
}

fn non_zero_u16() -> BoxedStrategy<NonZeroU16> {
    (1..=u16::MAX)
        .prop_map(|v| NonZeroU16::new(v).unwrap())
        .boxed()
}

fn non_zero_u32() -> BoxedStrategy<NonZeroU32> {
    (1..=u32::MAX)
        .prop_map(|v| NonZeroU32::new(v).unwrap())
        .boxed()
}

fn payload_format() -> BoxedStrategy<PayloadFormat> {
    select(&[PayloadFormat::Unspecified, PayloadFormat::Utf8][..]).boxed()
}

/// Authentication Method and Data: Data only with a Method (§3.1.2.11.10, §3.15.2.2.3).
fn authentication() -> BoxedStrategy<(Option<MqttString>, Option<Bytes>)> {
    of((mqtt_string(), of(binary(32))))
        .prop_map(|auth| match auth {
            Some((method, data)) => (Some(method), data),
            None => (None, None),
        })
        .boxed()
}

/// CONNECT properties.
pub(crate) fn connect_properties() -> BoxedStrategy<ConnectProperties> {
    (
        of(any::<u32>()),
        of(non_zero_u16()),
        of(non_zero_u32()),
        of(any::<u16>()),
        of(any::<bool>()),
        of(any::<bool>()),
        authentication(),
        user_properties(),
    )
        .prop_map(
            |(expiry, rx_max, max_size, alias_max, rri, rpi, auth, user)| ConnectProperties {
                session_expiry_interval: expiry,
                receive_maximum: rx_max,
                maximum_packet_size: max_size,
                topic_alias_maximum: alias_max,
                request_response_information: rri,
                request_problem_information: rpi,
                authentication_method: auth.0,
                authentication_data: auth.1,
                user_properties: user,
            },
        )
        .boxed()
}

/// Will Properties.
pub(crate) fn will_properties() -> BoxedStrategy<WillProperties> {
    (
        of(any::<u32>()),
        of(payload_format()),
        of(any::<u32>()),
        of(mqtt_string()),
        of(topic_name()),
        of(binary(16)),
        user_properties(),
    )
        .prop_map(
            |(delay, format, expiry, content_type, response_topic, correlation, user)| {
                WillProperties {
                    will_delay_interval: delay,
                    payload_format_indicator: format,
                    message_expiry_interval: expiry,
                    content_type,
                    response_topic,
                    correlation_data: correlation,
                    user_properties: user,
                }
            },
        )
        .boxed()
}

/// CONNACK properties. Maximum QoS is 0 or 1: QoS 2 is said by leaving it out (§3.2.2.3.4).
pub(crate) fn connack_properties() -> BoxedStrategy<ConnAckProperties> {
    let limits = (
        of(any::<u32>()),
        of(non_zero_u16()),
        of(select(&[QoS::AtMostOnce, QoS::AtLeastOnce][..])),
        of(any::<bool>()),
        of(non_zero_u32()),
        of(client_id()),
        of(any::<u16>()),
        of(any::<u16>()),
    );
    let info = (
        of(mqtt_string()),
        of(any::<bool>()),
        of(any::<bool>()),
        of(any::<bool>()),
        of(mqtt_string()),
        of(mqtt_string()),
        authentication(),
        user_properties(),
    );
    (limits, info)
        .prop_map(
            |(
                (expiry, rx_max, max_qos, retain, max_size, assigned, alias_max, keep_alive),
                (reason, wildcard, sub_ids, shared, response, reference, auth, user),
            )| ConnAckProperties {
                session_expiry_interval: expiry,
                receive_maximum: rx_max,
                maximum_qos: max_qos,
                retain_available: retain,
                maximum_packet_size: max_size,
                assigned_client_identifier: assigned,
                topic_alias_maximum: alias_max,
                reason_string: reason,
                wildcard_subscription_available: wildcard,
                subscription_identifiers_available: sub_ids,
                shared_subscription_available: shared,
                server_keep_alive: keep_alive,
                response_information: response,
                server_reference: reference,
                authentication_method: auth.0,
                authentication_data: auth.1,
                user_properties: user,
            },
        )
        .boxed()
}

/// PUBLISH properties, with 0 to 3 Subscription Identifiers (one per matching subscription,
/// §3.3.2.3.8). The topic alias is set by the PUBLISH strategy, which needs it when the
/// topic name is empty.
pub(crate) fn publish_properties() -> BoxedStrategy<PublishProperties> {
    (
        of(payload_format()),
        of(any::<u32>()),
        of(topic_alias()),
        of(topic_name()),
        of(binary(16)),
        of(mqtt_string()),
        user_properties(),
        vec(subscription_id(), 0..=3),
    )
        .prop_map(
            |(format, expiry, alias, response_topic, correlation, content_type, user, sub_ids)| {
                PublishProperties {
                    payload_format_indicator: format,
                    message_expiry_interval: expiry,
                    topic_alias: alias,
                    response_topic,
                    correlation_data: correlation,
                    content_type,
                    user_properties: user,
                    subscription_identifiers: sub_ids,
                }
            },
        )
        .boxed()
}

/// PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and UNSUBACK properties.
pub(crate) fn ack_properties() -> BoxedStrategy<AckProperties> {
    (of(mqtt_string()), user_properties())
        .prop_map(|(reason, user)| AckProperties {
            reason_string: reason,
            user_properties: user,
        })
        .boxed()
}

/// SUBSCRIBE properties: at most one Subscription Identifier.
pub(crate) fn subscribe_properties() -> BoxedStrategy<SubscribeProperties> {
    (of(subscription_id()), user_properties())
        .prop_map(|(id, user)| SubscribeProperties {
            subscription_identifier: id,
            user_properties: user,
        })
        .boxed()
}

/// UNSUBSCRIBE properties.
pub(crate) fn unsubscribe_properties() -> BoxedStrategy<UnsubscribeProperties> {
    user_properties()
        .prop_map(|user| UnsubscribeProperties {
            user_properties: user,
        })
        .boxed()
}

/// DISCONNECT properties.
pub(crate) fn disconnect_properties() -> BoxedStrategy<DisconnectProperties> {
    (
        of(any::<u32>()),
        of(mqtt_string()),
        of(mqtt_string()),
        user_properties(),
    )
        .prop_map(|(expiry, reason, reference, user)| DisconnectProperties {
            session_expiry_interval: expiry,
            reason_string: reason,
            server_reference: reference,
            user_properties: user,
        })
        .boxed()
}

/// AUTH properties: Authentication Data only with a Method.
pub(crate) fn auth_properties() -> BoxedStrategy<AuthProperties> {
    (authentication(), of(mqtt_string()), user_properties())
        .prop_map(|(auth, reason, user)| AuthProperties {
            authentication_method: auth.0,
            authentication_data: auth.1,
            reason_string: reason,
            user_properties: user,
        })
        .boxed()
}
