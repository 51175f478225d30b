//! SUBSCRIBE (MQTT 5.0 §3.8, 3.1.1 §3.8).

use bytes::{BufMut, BytesMut};

use super::property::{block_len, property_set, PropertySet};
use super::reader::Reader;
use super::writer::{field_len, put_field};
use super::{EncodeError, PacketType, PropertyContext, SubscriptionOptions, Violation};
use crate::types::{PacketId, ProtocolVersion, SubscriptionId, TopicFilter, UserProperty};

/// The most entries reserved up front; beyond that the vector grows as entries are read.
pub(crate) const MAX_PREALLOC: usize = 128;

property_set! {
    /// The properties of a SUBSCRIBE (MQTT 5.0 §3.8.2.1).
    SubscribeProperties in PropertyContext::Packet(PacketType::Subscribe);
    once {
        /// Subscription Identifier (at most one).
        subscription_identifier: SubscriptionId = SubscriptionIdentifier,
    }
    many {
        /// User Properties, in order.
        user_properties: UserProperty = UserProperty,
    }
}

/// One topic filter of a SUBSCRIBE with its options.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Subscription {
    /// The topic filter.
    pub filter: TopicFilter,
    /// The subscription options.
    pub options: SubscriptionOptions,
}

/// A SUBSCRIBE packet: at least one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// The subscriptions, in order.
    pub subscriptions: Vec<Subscription>,
    /// MQTT 5 properties (empty for 3.x).
    pub properties: SubscribeProperties,
}

impl Subscribe {
    pub(crate) fn decode(mut r: Reader, version: ProtocolVersion) -> Result<Self, Violation> {
        let packet_id = r.packet_id()?;
        let properties = if version.is_v5() {
            SubscribeProperties::read(&mut r)?
        } else {
            SubscribeProperties::default()
        };
        // An entry takes at least 4 bytes; the guess is capped so that a large packet
        // cannot make the decoder reserve much more than the packet holds.
        let mut subscriptions = Vec::with_capacity((r.remaining() / 4).min(MAX_PREALLOC));
        while !r.is_empty() {
            let filter = r.topic_filter()?;
            let options = SubscriptionOptions::from_byte(r.u8()?, version)?;
            if options.no_local && filter.is_shared() {
                return Err(Violation::NoLocalOnSharedSubscription);
            }
            subscriptions.push(Subscription { filter, options });
        }
        if subscriptions.is_empty() {
            return Err(Violation::NoSubscribeFilters);
        }
        Ok(Subscribe {
            packet_id,
            subscriptions,
            properties,
        })
    }

    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        if self.subscriptions.is_empty() {
            return Err(Violation::NoSubscribeFilters.into());
        }
        let mut len = 2;
        let props = if version.is_v5() {
            let props = self.properties.body_len()?;
            len += block_len(props);
            props
        } else {
            0
        };
        for s in &self.subscriptions {
            len += field_len(s.filter.as_bytes()) + 1;
        }
        Ok((len, props))
    }

    pub(crate) fn put(&self, version: ProtocolVersion, props: usize, buf: &mut BytesMut) {
        buf.put_u16(self.packet_id.get());
        if version.is_v5() {
            self.properties.put(buf, props);
        }
        for s in &self.subscriptions {
            put_field(buf, s.filter.as_bytes());
            buf.put_u8(s.options.to_byte(version));
        }
    }
}
