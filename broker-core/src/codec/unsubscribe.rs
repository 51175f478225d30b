//! UNSUBSCRIBE (MQTT 5.0 §3.10, 3.1.1 §3.10).

use bytes::{BufMut, BytesMut};

use super::property::{block_len, property_set, PropertySet};
use super::reader::Reader;
use super::subscribe::MAX_PREALLOC;
use super::writer::{field_len, put_field};
use super::{EncodeError, PacketType, PropertyContext, Violation};
use crate::types::{PacketId, ProtocolVersion, TopicFilter, UserProperty};

property_set! {
    /// The properties of an UNSUBSCRIBE (MQTT 5.0 §3.10.2.1).
    UnsubscribeProperties in PropertyContext::Packet(PacketType::Unsubscribe);
    once {
    }
    many {
        /// User Properties, in order.
        user_properties: UserProperty = UserProperty,
    }
}

/// An UNSUBSCRIBE packet: at least one topic filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Packet identifier.
    pub packet_id: PacketId,
    /// The filters to remove, in order.
    pub filters: Vec<TopicFilter>,
    /// MQTT 5 properties (empty for 3.x).
    pub properties: UnsubscribeProperties,
}

impl Unsubscribe {
    pub(crate) fn decode(mut r: Reader, version: ProtocolVersion) -> Result<Self, Violation> {
        let packet_id = r.packet_id()?;
        let properties = if version.is_v5() {
            UnsubscribeProperties::read(&mut r)?
        } else {
            UnsubscribeProperties::default()
        };
        let mut filters = Vec::with_capacity((r.remaining() / 3).min(MAX_PREALLOC));
        while !r.is_empty() {
            filters.push(r.topic_filter()?);
        }
        if filters.is_empty() {
            return Err(Violation::NoUnsubscribeFilters);
        }
        Ok(Unsubscribe {
            packet_id,
            filters,
            properties,
        })
    }

    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        if self.filters.is_empty() {
            return Err(Violation::NoUnsubscribeFilters.into());
        }
        let mut len = 2;
        let props = if version.is_v5() {
            let props = self.properties.body_len()?;
            len += block_len(props);
            props
        } else {
            0
        };
        for f in &self.filters {
            len += field_len(f.as_bytes());
        }
        Ok((len, props))
    }

    pub(crate) fn put(&self, version: ProtocolVersion, props: usize, buf: &mut BytesMut) {
        buf.put_u16(self.packet_id.get());
        if version.is_v5() {
            self.properties.put(buf, props);
        }
        for f in &self.filters {
            put_field(buf, f.as_bytes());
        }
    }
}
