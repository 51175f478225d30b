//! One retained message.

use std::fmt;

use bytes::Bytes;

use crate::codec::PublishProperties;
use crate::types::{QoS, TopicName};

/// A retained message: what a PUBLISH with RETAIN set leaves on its topic (MQTT 5.0 §3.3.1.3),
/// with what a v5 PUBLISH to a new subscriber needs.
///
/// `Debug` shows the payload's length, never its bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct RetainedMessage {
    /// The topic it was published to.
    pub topic: TopicName,
    /// The application message; empty payloads are never stored ([MQTT-3.3.1-7]).
    pub payload: Bytes,
    /// The QoS it was published at; each subscriber gets it downgraded to its granted QoS.
    pub qos: QoS,
    /// The PUBLISH properties as received, without Topic Alias or Subscription Identifiers
    /// (they belong to one connection and one subscription). The Message Expiry Interval here
    /// is the one it was published with; see [`remaining_expiry`](Self::remaining_expiry).
    pub properties: PublishProperties,
    /// When it was stored, in seconds of the caller's clock.
    pub stored_at: u64,
}

impl RetainedMessage {
    /// A retained message published at `stored_at` (seconds of the caller's clock). The Topic
    /// Alias and Subscription Identifiers are dropped from `properties`.
    ///
    /// `topic` and `payload` are kept as given. When they come from the decoder they share the
    /// publisher's receive buffer; a caller storing messages for long may prefer to copy them
    /// first (`Bytes::copy_from_slice`) so the store does not keep that buffer alive.
    #[must_use]
    pub fn new(
        topic: TopicName,
        payload: Bytes,
        qos: QoS,
        mut properties: PublishProperties,
        stored_at: u64,
    ) -> Self {
        properties.topic_alias = None;
        properties.subscription_identifiers.clear();
        RetainedMessage {
            topic,
            payload,
            qos,
            properties,
            stored_at,
        }
    }

    /// When the message expires, if it has a Message Expiry Interval (MQTT 5.0 §3.3.2.3.3).
    #[must_use]
    pub fn expires_at(&self) -> Option<u64> {
        self.properties
            .message_expiry_interval
            .map(|interval| self.stored_at.saturating_add(u64::from(interval)))
    }

    /// Whether the message has expired at `now`: its whole interval has elapsed, so no time
    /// would be left to send on ([MQTT-3.3.2-5]).
    #[must_use]
    pub fn is_expired(&self, now: u64) -> bool {
        self.expires_at().is_some_and(|at| now >= at)
    }

    /// The Message Expiry Interval to send at `now`: the received value minus the time the
    /// message has waited ([MQTT-3.3.2-6]); `None` if it does not expire. Zero once expired.
    #[must_use]
    pub fn remaining_expiry(&self, now: u64) -> Option<u32> {
        self.expires_at().map(|at| {
            let left = at.saturating_sub(now.max(self.stored_at));
            u32::try_from(left).unwrap_or(u32::MAX)
        })
    }
}

impl fmt::Debug for RetainedMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetainedMessage")
            .field("topic", &self.topic)
            .field("payload", &format_args!("<{} bytes>", self.payload.len()))
            .field("qos", &self.qos)
            .field("properties", &self.properties)
            .field("stored_at", &self.stored_at)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::{SubscriptionId, TopicAlias};

    fn message(expiry: Option<u32>) -> RetainedMessage {
        let properties = PublishProperties {
            message_expiry_interval: expiry,
            topic_alias: Some(TopicAlias::new(3).unwrap()),
            subscription_identifiers: vec![SubscriptionId::new(9).unwrap()],
            ..PublishProperties::default()
        };
        RetainedMessage::new(
            TopicName::new("a/b").unwrap(),
            Bytes::from_static(b"secret"),
            QoS::AtLeastOnce,
            properties,
            100,
        )
    }

    #[test]
    fn connection_properties_are_dropped() {
        let m = message(None);
        assert_eq!(m.properties.topic_alias, None);
        assert!(m.properties.subscription_identifiers.is_empty());
    }

    #[test]
    fn expiry_mqtt_3_3_2_5_and_6() {
        let m = message(Some(10));
        assert_eq!(m.expires_at(), Some(110));
        assert!(!m.is_expired(109));
        assert_eq!(m.remaining_expiry(104), Some(6));
        assert_eq!(m.remaining_expiry(109), Some(1));
        assert!(m.is_expired(110));
        assert_eq!(m.remaining_expiry(200), Some(0));
        assert_eq!(m.remaining_expiry(50), Some(10));
        let forever = message(None);
        assert!(!forever.is_expired(u64::MAX));
        assert_eq!(forever.remaining_expiry(500), None);
    }

    #[test]
    fn debug_redacts_payload() {
        let shown = format!("{:?}", message(None));
        assert!(shown.contains("<6 bytes>"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
    }
}
