//! A routed [`Message`] to and from its wire form ([`Forwarded`]). Everything from the network
//! is checked as a client's PUBLISH would be: a message that fails is dropped, not trusted.

use std::time::Instant;

use broker_core::codec::PublishProperties;
use broker_core::session::Message;
use broker_core::types::{MqttString, PayloadFormat, QoS, TopicFilter, TopicName, UserProperty};
use thiserror::Error;

use crate::proto::{self, Forwarded};

/// A forwarded message this node cannot deliver.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub(crate) enum WireError {
    /// The named field breaks MQTT's rules.
    #[error("invalid {0} in a forwarded message")]
    Invalid(&'static str),
}

/// `message`'s wire form, or `None` once its Message Expiry Interval has passed. The expiry
/// sent is what remains at `now`.
pub(crate) fn to_wire(message: &Message, now: Instant) -> Option<Forwarded> {
    let message_expiry = message.remaining_expiry(now).ok()?;
    let props = &message.properties;
    Some(Forwarded {
        topic: message.topic.as_str().to_owned(),
        payload: message.payload.clone(),
        qos: u32::from(message.qos as u8),
        retain: message.retain,
        payload_format: props.payload_format_indicator.map(|f| u32::from(f as u8)),
        message_expiry,
        content_type: props.content_type.as_ref().map(|s| s.as_str().to_owned()),
        response_topic: props.response_topic.as_ref().map(|t| t.as_str().to_owned()),
        correlation_data: props.correlation_data.clone(),
        user_properties: props
            .user_properties
            .iter()
            .map(|p| proto::UserProperty {
                key: p.key.as_str().to_owned(),
                value: p.value.as_str().to_owned(),
            })
            .collect(),
        shared_group: None,
    })
}

/// The shared subscription a forwarded message is for, if any: a `$share/...` filter, or the
/// message is refused.
pub(crate) fn shared_group_from_wire(
    group: Option<String>,
) -> Result<Option<TopicFilter>, WireError> {
    group
        .map(|group| {
            TopicFilter::new(group)
                .ok()
                .filter(TopicFilter::is_shared)
                .ok_or(WireError::Invalid("shared group"))
        })
        .transpose()
}

/// The message `wire` carries, received at `now`.
pub(crate) fn from_wire(wire: Forwarded, now: Instant) -> Result<Message, WireError> {
    let topic = TopicName::new(wire.topic).map_err(|_| WireError::Invalid("topic"))?;
    let qos = u8::try_from(wire.qos)
        .ok()
        .and_then(|q| QoS::try_from(q).ok())
        .ok_or(WireError::Invalid("QoS"))?;
    let payload_format_indicator = wire
        .payload_format
        .map(|f| {
            u8::try_from(f)
                .ok()
                .and_then(|f| PayloadFormat::try_from(f).ok())
                .ok_or(WireError::Invalid("payload format"))
        })
        .transpose()?;
    let content_type = wire
        .content_type
        .map(|s| MqttString::new(s).map_err(|_| WireError::Invalid("content type")))
        .transpose()?;
    let response_topic = wire
        .response_topic
        .map(|t| TopicName::new(t).map_err(|_| WireError::Invalid("response topic")))
        .transpose()?;
    let user_properties = wire
        .user_properties
        .into_iter()
        .map(|p| {
            let key = MqttString::new(p.key).map_err(|_| WireError::Invalid("user property"))?;
            let value =
                MqttString::new(p.value).map_err(|_| WireError::Invalid("user property"))?;
            Ok(UserProperty::new(key, value))
        })
        .collect::<Result<_, WireError>>()?;
    let props = PublishProperties {
        payload_format_indicator,
        message_expiry_interval: wire.message_expiry,
        response_topic,
        correlation_data: wire.correlation_data,
        content_type,
        user_properties,
        ..PublishProperties::default()
    };
    Ok(Message::new(
        topic,
        wire.payload,
        qos,
        wire.retain,
        props,
        now,
    ))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use bytes::Bytes;

    use super::*;

    fn message(expiry: Option<u32>, now: Instant) -> Message {
        let props = PublishProperties {
            message_expiry_interval: expiry,
            payload_format_indicator: Some(PayloadFormat::Utf8),
            content_type: Some(MqttString::new("text/plain").unwrap()),
            response_topic: Some(TopicName::new("reply/here").unwrap()),
            correlation_data: Some(Bytes::from_static(b"id-1")),
            user_properties: vec![UserProperty::new(
                MqttString::new("k").unwrap(),
                MqttString::new("v").unwrap(),
            )],
            ..PublishProperties::default()
        };
        Message::new(
            TopicName::new("a/b").unwrap(),
            Bytes::from_static(b"hello"),
            QoS::AtLeastOnce,
            true,
            props,
            now,
        )
    }

    #[test]
    fn a_message_crosses_unchanged_with_its_remaining_expiry() {
        let t0 = Instant::now();
        let sent = message(Some(10), t0);
        let wire = to_wire(&sent, t0 + Duration::from_secs(4)).unwrap();
        assert_eq!(wire.message_expiry, Some(6));
        let t1 = t0 + Duration::from_secs(100);
        let received = from_wire(wire, t1).unwrap();
        assert_eq!(received.topic, sent.topic);
        assert_eq!(received.payload, sent.payload);
        assert_eq!((received.qos, received.retain), (QoS::AtLeastOnce, true));
        assert_eq!(received.properties.message_expiry_interval, Some(6));
        let mut props = sent.properties.clone();
        props.message_expiry_interval = Some(6);
        assert_eq!(received.properties, props);
        assert_eq!(received.received_at, t1);
    }

    #[test]
    fn an_expired_message_is_not_sent() {
        let t0 = Instant::now();
        assert!(to_wire(&message(Some(1), t0), t0 + Duration::from_secs(1)).is_none());
        assert!(to_wire(&message(None, t0), t0 + Duration::from_secs(1 << 20)).is_some());
    }

    #[test]
    fn an_invalid_message_is_refused() {
        let t0 = Instant::now();
        let good = to_wire(&message(None, t0), t0).unwrap();
        let mut bad = good.clone();
        bad.topic = "a/#".into();
        assert_eq!(from_wire(bad, t0), Err(WireError::Invalid("topic")));
        let mut bad = good.clone();
        bad.qos = 3;
        assert_eq!(from_wire(bad, t0), Err(WireError::Invalid("QoS")));
        let mut bad = good;
        bad.payload_format = Some(7);
        assert!(from_wire(bad, t0).is_err());
    }

    #[test]
    fn a_shared_group_must_be_a_shared_filter() {
        let group = shared_group_from_wire(Some("$share/g/a/#".into())).unwrap();
        assert_eq!(
            group.map(|g| g.as_str().to_owned()),
            Some("$share/g/a/#".into())
        );
        assert_eq!(shared_group_from_wire(None), Ok(None));
        for bad in ["a/#", "$share/g", "$share//a", "a/#/b"] {
            assert_eq!(
                shared_group_from_wire(Some(bad.into())),
                Err(WireError::Invalid("shared group")),
                "{bad}"
            );
        }
    }
}
