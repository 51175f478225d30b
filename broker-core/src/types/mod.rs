//! Domain values of MQTT as newtypes that parse on construction.
//!
//! A value of one of these types is valid by construction: a [`TopicName`] never holds a
//! wildcard, a [`PacketId`] is never zero, a [`TopicFilter`] has `#` only as its last level.
//! The codec builds them while decoding, so code after the codec never re-validates.
//! Constructors return [`Violation`](crate::codec::Violation), which names the normative
//! statement that the rejected value breaks.

mod client_id;
mod control_chars;
mod mqtt_string;
mod packet_id;
mod payload_format;
mod protocol_version;
mod qos;
mod reason_code;
mod store_seq;
mod subscription_id;
mod topic_alias;
mod topic_filter;
mod topic_name;
mod user_property;

pub use client_id::ClientId;
pub(crate) use control_chars::has_control_character;
pub use mqtt_string::MqttString;
pub use packet_id::PacketId;
pub use payload_format::PayloadFormat;
pub use protocol_version::ProtocolVersion;
pub use qos::QoS;
pub use reason_code::ReasonCode;
pub use store_seq::StoreSeq;
pub use subscription_id::SubscriptionId;
pub use topic_alias::TopicAlias;
pub use topic_filter::TopicFilter;
pub use topic_name::TopicName;
pub use user_property::UserProperty;
