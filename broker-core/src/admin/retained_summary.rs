//! One retained message as a listing shows it.

use bytes::Bytes;

use crate::codec::PublishProperties;
use crate::types::{QoS, TopicName};

/// A topic's retained message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetainedSummary {
    /// The topic.
    pub topic: TopicName,
    /// The payload.
    pub payload: Bytes,
    /// The QoS it was published with.
    pub qos: QoS,
    /// Its MQTT 5 properties, the Message Expiry Interval being what is left of it.
    pub properties: PublishProperties,
}
