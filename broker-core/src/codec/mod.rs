//! The MQTT 3.1 / 3.1.1 / 5.0 codec: bytes to [`Packet`] and back.
//!
//! Owns the wire format and nothing else: no I/O, no clock, no session rules beyond what a
//! single packet can break. Decoding is incremental ([`Decoder`]), strict (each rejection is
//! a [`Violation`] naming its normative statement) and zero-copy (payloads, strings and
//! binary fields share the receive buffer). Encoding ([`Packet::encode`]) writes the
//! shortest form the specification allows for the chosen version.
//!
//! ```
//! use broker_core::codec::{Decoder, Packet, Publish};
//! use broker_core::types::{ProtocolVersion, TopicName};
//! use bytes::{Bytes, BytesMut};
//!
//! let publish = Publish::new(TopicName::new("a/b").unwrap(), Bytes::from_static(b"hi"));
//! let mut buf = BytesMut::new();
//! Packet::Publish(publish.clone()).encode(ProtocolVersion::V5, &mut buf).unwrap();
//!
//! let mut decoder = Decoder::with_version(ProtocolVersion::V5);
//! assert_eq!(decoder.decode(&mut buf).unwrap(), Some(Packet::Publish(publish)));
//! ```

mod ack;
mod auth;
mod connack;
mod connect;
mod decoder;
mod disconnect;
mod error;
mod packet;
mod packet_type;
pub(crate) mod property;
mod publish;
mod reader;
mod suback;
mod subscribe;
mod subscription_options;
mod unsuback;
mod unsubscribe;
pub mod varint;
mod violation;
mod writer;

pub use ack::{Ack, AckProperties};
pub use auth::{Auth, AuthProperties};
pub use connack::{ConnAck, ConnAckProperties};
pub use connect::{Connect, ConnectProperties, Will, WillProperties};
pub use decoder::{Decoder, MAX_PACKET_SIZE};
pub use disconnect::{Disconnect, DisconnectProperties};
pub use error::{DecodeError, EncodeError, ErrorAnswer};
pub use packet::Packet;
pub use packet_type::{FixedHeader, PacketType};
pub use property::{DataType, PropertyContext, PropertyId};
pub use publish::{Publish, PublishProperties, QosPid};
pub(crate) use reader::Reader;
pub use suback::SubAck;
pub use subscribe::{Subscribe, SubscribeProperties, Subscription};
pub use subscription_options::{RetainHandling, SubscriptionOptions};
pub use unsuback::UnsubAck;
pub use unsubscribe::{Unsubscribe, UnsubscribeProperties};
pub use violation::{Violation, ViolationKind};
pub(crate) use writer::put_field;
