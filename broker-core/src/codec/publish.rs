//! PUBLISH (MQTT 5.0 §3.3, 3.1.1 §3.3).

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

use super::property::{block_len, property_set, PropertySet};
use super::reader::Reader;
use super::writer::{field_len, put_field};
use super::{EncodeError, PacketType, PropertyContext, Violation};
use crate::types::{
    MqttString, PacketId, PayloadFormat, ProtocolVersion, QoS, SubscriptionId, TopicAlias,
    TopicName, UserProperty,
};

/// The QoS of a PUBLISH together with its packet identifier, which exists exactly when the
/// QoS is above 0 ([MQTT-2.2.1-2]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QosPid {
    /// QoS 0: no packet identifier.
    AtMostOnce,
    /// QoS 1 with its packet identifier.
    AtLeastOnce(PacketId),
    /// QoS 2 with its packet identifier.
    ExactlyOnce(PacketId),
}

impl QosPid {
    /// The QoS level.
    #[must_use]
    pub fn qos(self) -> QoS {
        match self {
            QosPid::AtMostOnce => QoS::AtMostOnce,
            QosPid::AtLeastOnce(_) => QoS::AtLeastOnce,
            QosPid::ExactlyOnce(_) => QoS::ExactlyOnce,
        }
    }

    /// The packet identifier, `None` at QoS 0.
    #[must_use]
    pub fn packet_id(self) -> Option<PacketId> {
        match self {
            QosPid::AtMostOnce => None,
            QosPid::AtLeastOnce(id) | QosPid::ExactlyOnce(id) => Some(id),
        }
    }
}

property_set! {
    /// The properties of a PUBLISH (MQTT 5.0 §3.3.2.3).
    PublishProperties in PropertyContext::Packet(PacketType::Publish);
    once {
        /// Payload Format Indicator.
        payload_format_indicator: PayloadFormat = PayloadFormatIndicator,
        /// Message Expiry Interval in seconds.
        message_expiry_interval: u32 = MessageExpiryInterval,
        /// Topic Alias.
        topic_alias: TopicAlias = TopicAlias,
        /// Response Topic (no wildcards, [MQTT-3.3.2-14]).
        response_topic: TopicName = ResponseTopic,
        /// Correlation Data.
        correlation_data: Bytes = CorrelationData,
        /// Content Type.
        content_type: MqttString = ContentType,
    }
    many {
        /// User Properties, in order.
        user_properties: UserProperty = UserProperty,
        /// Subscription Identifiers of the matching subscriptions (server to client only).
        subscription_identifiers: SubscriptionId = SubscriptionIdentifier,
    }
}

/// A PUBLISH packet.
///
/// `topic` is `None` only for an MQTT 5 PUBLISH that names its topic by a topic alias alone
/// (an empty Topic Name, §3.3.2.1). `Debug` shows the payload's length, never its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Publish {
    /// DUP: this may be a re-delivery.
    pub dup: bool,
    /// QoS and packet identifier.
    pub qos_pid: QosPid,
    /// RETAIN.
    pub retain: bool,
    /// The topic name; `None` when only a topic alias names it.
    pub topic: Option<TopicName>,
    /// The application message, shared with the receive buffer.
    pub payload: Bytes,
    /// MQTT 5 properties (empty for 3.x).
    pub properties: PublishProperties,
}

impl Publish {
    /// A QoS 0 message with no properties.
    #[must_use]
    pub fn new(topic: TopicName, payload: Bytes) -> Self {
        Publish {
            dup: false,
            qos_pid: QosPid::AtMostOnce,
            retain: false,
            topic: Some(topic),
            payload,
            properties: PublishProperties::default(),
        }
    }

    #[inline]
    pub(crate) fn decode(
        flags: u8,
        mut r: Reader,
        version: ProtocolVersion,
    ) -> Result<Self, Violation> {
        let dup = flags & 0b1000 != 0;
        let retain = flags & 0b0001 != 0;
        let qos = QoS::try_from((flags >> 1) & 0b11)?;
        if dup && qos == QoS::AtMostOnce {
            return Err(Violation::DupOnQoS0);
        }
        let topic = r.binary()?;
        let topic = if topic.is_empty() {
            None
        } else {
            Some(TopicName::from_wire(topic)?)
        };
        let qos_pid = match qos {
            QoS::AtMostOnce => QosPid::AtMostOnce,
            QoS::AtLeastOnce => QosPid::AtLeastOnce(r.packet_id()?),
            QoS::ExactlyOnce => QosPid::ExactlyOnce(r.packet_id()?),
        };
        let properties = if version.is_v5() {
            PublishProperties::read(&mut r)?
        } else {
            PublishProperties::default()
        };
        if topic.is_none() && properties.topic_alias.is_none() {
            return Err(if version.is_v5() {
                Violation::MissingTopicName
            } else {
                Violation::EmptyTopic
            });
        }
        Ok(Publish {
            dup,
            qos_pid,
            retain,
            topic,
            payload: r.rest(),
            properties,
        })
    }

    #[inline]
    pub(crate) fn first_byte(&self) -> u8 {
        (PacketType::Publish as u8) << 4
            | u8::from(self.dup) << 3
            | u8::from(self.qos_pid.qos()) << 1
            | u8::from(self.retain)
    }

    /// The remaining length and the property block's body length.
    #[inline]
    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        let topic = self.topic.as_ref().map_or(&[][..], |t| t.as_bytes());
        if topic.is_empty() && !(version.is_v5() && self.properties.topic_alias.is_some()) {
            return Err(EncodeError::MissingTopicName);
        }
        let mut len = field_len(topic) + self.payload.len();
        if self.qos_pid.packet_id().is_some() {
            len += 2;
        }
        let props = if version.is_v5() {
            let props = self.properties.body_len()?;
            len += block_len(props);
            props
        } else {
            0
        };
        Ok((len, props))
    }

    #[inline]
    pub(crate) fn put(&self, version: ProtocolVersion, props: usize, buf: &mut BytesMut) {
        put_field(buf, self.topic.as_ref().map_or(&[][..], |t| t.as_bytes()));
        if let Some(id) = self.qos_pid.packet_id() {
            buf.put_u16(id.get());
        }
        if version.is_v5() {
            self.properties.put(buf, props);
        }
        buf.put_slice(&self.payload);
    }
}

impl fmt::Debug for Publish {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = f.debug_struct("Publish");
        s.field("dup", &self.dup)
            .field("qos_pid", &self.qos_pid)
            .field("retain", &self.retain)
            .field("topic", &self.topic)
            .field("payload", &format_args!("<{} bytes>", self.payload.len()));
        if !self.properties.is_empty() {
            s.field("properties", &self.properties);
        }
        s.finish()
    }
}
