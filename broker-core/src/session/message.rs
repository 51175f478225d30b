//! The application message the broker routes.

use std::fmt;
use std::time::{Duration, Instant};

use bytes::Bytes;
use bytestring::ByteString;

use super::AliasUse;
use crate::codec::{Publish, PublishProperties, QosPid};
use crate::types::{MqttString, QoS, SubscriptionId, TopicName, UserProperty};

/// Why a [`Message`] could not be built or sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MessageError {
    /// The PUBLISH names its topic by a topic alias alone: resolve it first with
    /// [`InboundAliases::resolve`](super::InboundAliases::resolve).
    #[error("the PUBLISH has no topic name: resolve its topic alias first")]
    UnresolvedTopicAlias,
    /// The Message Expiry Interval has passed: the copy for this subscriber must be deleted,
    /// not sent ([MQTT-3.3.2-5]).
    #[error("the message expired before delivery started [MQTT-3.3.2-5]")]
    Expired,
}

/// How one subscriber receives a [`Message`]: the arguments of [`Message::to_publish`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOptions {
    /// The QoS and packet identifier of the outgoing PUBLISH. The QoS is the message's QoS
    /// downgraded to the subscriber's granted QoS ([`Message::qos_for`]); the packet identifier
    /// comes from the subscriber's session.
    pub qos_pid: QosPid,
    /// The RETAIN flag to send: set for a retained message sent because of a new subscription,
    /// otherwise the message's flag when the subscription has Retain As Published, else clear
    /// ([MQTT-3.3.1-12], [MQTT-3.3.1-13]).
    pub retain: bool,
    /// The Subscription Identifiers of the subscriptions that matched ([MQTT-3.3.4-3]).
    pub subscription_ids: Vec<SubscriptionId>,
    /// Whether the topic goes as a name, a name with a new alias, or an alias alone.
    pub alias: AliasUse,
}

impl SendOptions {
    /// Options for a PUBLISH with the given QoS and packet identifier, RETAIN clear, no
    /// Subscription Identifiers and no topic alias.
    #[must_use]
    pub fn new(qos_pid: QosPid) -> Self {
        SendOptions {
            qos_pid,
            retain: false,
            subscription_ids: Vec::new(),
            alias: AliasUse::NameOnly,
        }
    }
}

/// An application message as the broker routes and stores it.
///
/// It holds what every subscriber's copy shares: the topic, the payload, the QoS and RETAIN
/// flag it was published with, and the PUBLISH properties without the two that belong to one
/// connection or one subscription (Topic Alias, Subscription Identifiers).
///
/// `received_at` is an [`Instant`] of the caller's clock, the same clock the session API takes
/// as `now`; the Message Expiry Interval counts from it. An `Instant` is not meaningful across
/// processes: a store that persists messages records the remaining expiry instead and rebuilds
/// the message with a new `received_at` when it loads it.
///
/// `Debug` shows the payload's length, never its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct Message {
    /// The topic it was published to.
    pub topic: TopicName,
    /// The application message.
    pub payload: Bytes,
    /// The QoS it was published with.
    pub qos: QoS,
    /// The RETAIN flag it was published with.
    pub retain: bool,
    /// The PUBLISH properties, without Topic Alias and Subscription Identifiers.
    pub properties: PublishProperties,
    /// When the server received it, on the caller's clock.
    pub received_at: Instant,
}

impl Message {
    /// A message from its parts; the Topic Alias and Subscription Identifiers are dropped from
    /// `properties`.
    #[must_use]
    pub fn new(
        topic: TopicName,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        mut properties: PublishProperties,
        received_at: Instant,
    ) -> Self {
        properties.topic_alias = None;
        properties.subscription_identifiers.clear();
        Message {
            topic,
            payload,
            qos,
            retain,
            properties,
            received_at,
        }
    }

    /// The message a decoded PUBLISH carries, received at `received_at`.
    ///
    /// The topic alias must already be resolved: a PUBLISH with no topic name is refused with
    /// [`MessageError::UnresolvedTopicAlias`]. The DUP flag and packet identifier belong to the
    /// publisher's exchange and are not kept. Topic and payload keep sharing the receive
    /// buffer; see [`detach`](Self::detach).
    pub fn from_publish(publish: Publish, received_at: Instant) -> Result<Self, MessageError> {
        let topic = publish.topic.ok_or(MessageError::UnresolvedTopicAlias)?;
        Ok(Message::new(
            topic,
            publish.payload,
            publish.qos_pid.qos(),
            publish.retain,
            publish.properties,
            received_at,
        ))
    }

    /// The QoS a subscriber granted `granted` receives this message at: the lower of the two
    /// (MQTT 5.0 §3.8.4).
    #[must_use]
    pub fn qos_for(&self, granted: QoS) -> QoS {
        self.qos.min(granted)
    }

    /// When the message expires, if it has a Message Expiry Interval (and the instant is
    /// within the clock's range).
    #[must_use]
    pub fn expires_at(&self) -> Option<Instant> {
        // An instant beyond the clock's range is as good as never: `None`.
        self.properties
            .message_expiry_interval
            .and_then(|interval| {
                self.received_at
                    .checked_add(Duration::from_secs(u64::from(interval)))
            })
    }

    /// Whether the whole Message Expiry Interval has passed at `now` ([MQTT-3.3.2-5]).
    #[must_use]
    pub fn is_expired(&self, now: Instant) -> bool {
        self.expires_at().is_some_and(|at| now >= at)
    }

    /// The Message Expiry Interval to send at `now`: the received value minus the whole
    /// seconds the message has waited ([MQTT-3.3.2-6]). `None` if the message does not expire,
    /// `Err(Expired)` once it has. A message that has not expired is never sent with 0.
    pub fn remaining_expiry(&self, now: Instant) -> Result<Option<u32>, MessageError> {
        let Some(interval) = self.properties.message_expiry_interval else {
            return Ok(None);
        };
        if self.is_expired(now) {
            return Err(MessageError::Expired);
        }
        let waited = now.saturating_duration_since(self.received_at).as_secs();
        let waited = u32::try_from(waited).unwrap_or(u32::MAX);
        Ok(Some(interval.saturating_sub(waited).max(1)))
    }

    /// The PUBLISH a subscriber receives of this message at `now`.
    ///
    /// DUP is clear (a first delivery, [MQTT-4.3.2-2], [MQTT-4.3.3-2]); the Message Expiry
    /// Interval is the remaining one ([MQTT-3.3.2-6]); the Subscription Identifiers and topic
    /// alias are the ones in `options`. A message whose expiry has passed is not sent:
    /// `Err(Expired)` ([MQTT-3.3.2-5]).
    pub fn to_publish(&self, options: SendOptions, now: Instant) -> Result<Publish, MessageError> {
        let mut properties = self.properties.clone();
        properties.message_expiry_interval = self.remaining_expiry(now)?;
        properties.subscription_identifiers = options.subscription_ids;
        let mut publish = Publish {
            dup: false,
            qos_pid: options.qos_pid,
            retain: options.retain,
            topic: Some(self.topic.clone()),
            payload: self.payload.clone(),
            properties,
        };
        options.alias.apply(&mut publish);
        Ok(publish)
    }

    /// The same message with its topic, payload and properties copied into allocations of
    /// their own.
    ///
    /// A message decoded from the wire shares the publisher's receive buffer: while any part
    /// of it is alive, the whole buffer is. Detach a message before keeping it for long
    /// (retained store, offline queues) so that it holds only its own bytes.
    #[must_use]
    pub fn detach(&self) -> Message {
        let mut properties = self.properties.clone();
        properties.response_topic = properties.response_topic.as_ref().map(detach_topic);
        properties.correlation_data = properties
            .correlation_data
            .as_ref()
            .map(|data| Bytes::copy_from_slice(data));
        properties.content_type = properties.content_type.as_ref().map(detach_string);
        for property in &mut properties.user_properties {
            *property =
                UserProperty::new(detach_string(&property.key), detach_string(&property.value));
        }
        Message {
            topic: detach_topic(&self.topic),
            payload: Bytes::copy_from_slice(&self.payload),
            qos: self.qos,
            retain: self.retain,
            properties,
            received_at: self.received_at,
        }
    }
}

/// A copy of `topic` in its own allocation.
pub(crate) fn detach_topic(topic: &TopicName) -> TopicName {
    // The copy holds the same valid text, so it cannot fail; keep the original if it did.
    TopicName::new(ByteString::from(topic.as_str().to_owned())).unwrap_or_else(|_| topic.clone())
}

fn detach_string(value: &MqttString) -> MqttString {
    MqttString::new(ByteString::from(value.as_str().to_owned())).unwrap_or_else(|_| value.clone())
}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("topic", &self.topic)
            .field("payload", &format_args!("<{} bytes>", self.payload.len()))
            .field("qos", &self.qos)
            .field("retain", &self.retain)
            .field("properties", &self.properties)
            .field("received_at", &self.received_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{PacketId, TopicAlias};

    fn topic(name: &str) -> TopicName {
        TopicName::new(name).unwrap()
    }

    fn publish(expiry: Option<u32>) -> Publish {
        let mut p = Publish::new(topic("a/b"), Bytes::from_static(b"secret"));
        p.qos_pid = QosPid::ExactlyOnce(PacketId::new(7).unwrap());
        p.dup = true;
        p.retain = true;
        p.properties.message_expiry_interval = expiry;
        p.properties.topic_alias = Some(TopicAlias::new(3).unwrap());
        p.properties.subscription_identifiers = vec![SubscriptionId::new(9).unwrap()];
        p
    }

    #[test]
    fn from_publish_drops_connection_properties() {
        let t0 = Instant::now();
        let m = Message::from_publish(publish(None), t0).unwrap();
        assert_eq!(m.topic.as_str(), "a/b");
        assert_eq!(m.qos, QoS::ExactlyOnce);
        assert!(m.retain);
        assert_eq!(m.properties.topic_alias, None);
        assert!(m.properties.subscription_identifiers.is_empty());
        assert_eq!(m.received_at, t0);
    }

    #[test]
    fn alias_only_publish_is_refused() {
        let mut p = publish(None);
        p.topic = None;
        assert_eq!(
            Message::from_publish(p, Instant::now()),
            Err(MessageError::UnresolvedTopicAlias)
        );
    }

    #[test]
    fn qos_is_downgraded_to_the_granted_qos() {
        let m = Message::from_publish(publish(None), Instant::now()).unwrap();
        assert_eq!(m.qos_for(QoS::AtLeastOnce), QoS::AtLeastOnce);
        assert_eq!(m.qos_for(QoS::ExactlyOnce), QoS::ExactlyOnce);
    }

    #[test]
    fn remaining_expiry_mqtt_3_3_2_6() {
        // [MQTT-3.3.2-6]: received value minus the time waited.
        let t0 = Instant::now();
        let m = Message::from_publish(publish(Some(10)), t0).unwrap();
        assert_eq!(m.remaining_expiry(t0), Ok(Some(10)));
        assert_eq!(m.remaining_expiry(t0 + Duration::from_secs(4)), Ok(Some(6)));
        assert_eq!(
            m.remaining_expiry(t0 + Duration::from_millis(9_999)),
            Ok(Some(1))
        );
        let forever = Message::from_publish(publish(None), t0).unwrap();
        assert_eq!(
            forever.remaining_expiry(t0 + Duration::from_secs(1 << 30)),
            Ok(None)
        );
    }

    #[test]
    fn expired_messages_are_not_sent_mqtt_3_3_2_5() {
        // [MQTT-3.3.2-5]: once the interval has passed the copy is deleted, not sent.
        let t0 = Instant::now();
        let m = Message::from_publish(publish(Some(10)), t0).unwrap();
        let later = t0 + Duration::from_secs(10);
        assert!(!m.is_expired(t0 + Duration::from_millis(9_999)));
        assert!(m.is_expired(later));
        let options = SendOptions::new(QosPid::AtMostOnce);
        assert_eq!(m.to_publish(options, later), Err(MessageError::Expired));
    }

    #[test]
    fn to_publish_builds_the_subscriber_copy() {
        let t0 = Instant::now();
        let m = Message::from_publish(publish(Some(60)), t0).unwrap();
        let id = PacketId::new(42).unwrap();
        let options = SendOptions {
            qos_pid: QosPid::AtLeastOnce(id),
            retain: false,
            subscription_ids: vec![SubscriptionId::new(5).unwrap()],
            alias: AliasUse::NameAndAlias(TopicAlias::new(2).unwrap()),
        };
        let p = m.to_publish(options, t0 + Duration::from_secs(20)).unwrap();
        // [MQTT-4.3.2-2]: a first delivery has DUP clear.
        assert!(!p.dup);
        assert_eq!(p.qos_pid, QosPid::AtLeastOnce(id));
        assert!(!p.retain);
        assert_eq!(p.topic, Some(topic("a/b")));
        assert_eq!(p.payload, Bytes::from_static(b"secret"));
        assert_eq!(p.properties.message_expiry_interval, Some(40));
        assert_eq!(p.properties.subscription_identifiers.len(), 1);
        assert_eq!(p.properties.topic_alias, Some(TopicAlias::new(2).unwrap()));

        let alias_only = SendOptions {
            alias: AliasUse::AliasOnly(TopicAlias::new(2).unwrap()),
            ..SendOptions::new(QosPid::AtMostOnce)
        };
        let p = m.to_publish(alias_only, t0).unwrap();
        assert_eq!(p.topic, None);
        assert_eq!(p.properties.topic_alias, Some(TopicAlias::new(2).unwrap()));
    }

    #[test]
    fn detach_copies_out_of_the_receive_buffer() {
        let buffer = Bytes::from_static(b"a/bsecretcorr");
        let mut p = publish(None);
        p.payload = buffer.slice(3..9);
        p.properties.correlation_data = Some(buffer.slice(9..));
        p.properties.user_properties = vec![UserProperty::new(
            MqttString::new("k").unwrap(),
            MqttString::new("v").unwrap(),
        )];
        let m = Message::from_publish(p, Instant::now()).unwrap();
        let d = m.detach();
        assert_eq!(d, m);
        assert_ne!(d.payload.as_ptr(), m.payload.as_ptr());
        assert_ne!(d.topic.as_ptr(), m.topic.as_ptr());
        let (Some(a), Some(b)) = (
            &d.properties.correlation_data,
            &m.properties.correlation_data,
        ) else {
            panic!("correlation data lost");
        };
        assert_ne!(a.as_ptr(), b.as_ptr());
    }

    #[test]
    fn debug_redacts_payload() {
        let m = Message::from_publish(publish(None), Instant::now()).unwrap();
        let shown = format!("{m:?}");
        assert!(shown.contains("<6 bytes>"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
