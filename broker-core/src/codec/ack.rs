//! PUBACK, PUBREC, PUBREL and PUBCOMP (MQTT 5.0 §3.4 to §3.7): one shape, four packets.

use bytes::{BufMut, BytesMut};

use super::property::{block_len, property_set, PropertySet};
use super::reader::Reader;
use super::{EncodeError, PacketType, PropertyContext, Violation};
use crate::types::{MqttString, PacketId, ProtocolVersion, ReasonCode, UserProperty};

property_set! {
    /// The properties of an acknowledgement: PUBACK, PUBREC, PUBREL, PUBCOMP, SUBACK and
    /// UNSUBACK all allow exactly these two (MQTT 5.0 §3.4.2.2 and siblings).
    AckProperties in PropertyContext::Packet(PacketType::PubAck);
    once {
        /// Reason String.
        reason_string: MqttString = ReasonString,
    }
    many {
        /// User Properties, in order.
        user_properties: UserProperty = UserProperty,
    }
}

/// The body of a PUBACK, PUBREC, PUBREL or PUBCOMP; which one is told by the
/// [`Packet`](super::Packet) variant that holds it.
///
/// In 5.0 the reason code and properties may be left out when they are Success and empty
/// (§3.4.2.1); the encoder uses the shortest form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    /// The packet identifier being acknowledged.
    pub packet_id: PacketId,
    /// Reason code (always Success for 3.x).
    pub code: ReasonCode,
    /// MQTT 5 properties (empty for 3.x).
    pub properties: AckProperties,
}

impl Ack {
    /// A successful acknowledgement.
    #[must_use]
    pub fn new(packet_id: PacketId) -> Self {
        Ack {
            packet_id,
            code: ReasonCode::Success,
            properties: AckProperties::default(),
        }
    }

    pub(crate) fn decode(
        packet: PacketType,
        mut r: Reader,
        version: ProtocolVersion,
    ) -> Result<Self, Violation> {
        let packet_id = r.packet_id()?;
        let mut ack = Ack::new(packet_id);
        if version.is_v5() && !r.is_empty() {
            let code = ReasonCode::new(r.u8()?)?;
            if !code.allowed_in(packet) {
                return Err(Violation::ReasonCodeNotAllowed { packet, code });
            }
            ack.code = code;
            if !r.is_empty() {
                ack.properties = read_ack_properties(&mut r, packet)?;
            }
        }
        r.finish()?;
        Ok(ack)
    }

    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        if !version.is_v5() {
            return Ok((2, 0));
        }
        if self.properties.is_empty() {
            let len = if self.code == ReasonCode::Success {
                2
            } else {
                3
            };
            return Ok((len, 0));
        }
        let props = self.properties.body_len()?;
        Ok((3 + block_len(props), props))
    }

    pub(crate) fn put(&self, version: ProtocolVersion, props: usize, buf: &mut BytesMut) {
        buf.put_u16(self.packet_id.get());
        if !version.is_v5() {
            return;
        }
        if !self.properties.is_empty() {
            buf.put_u8(self.code.get());
            self.properties.put(buf, props);
        } else if self.code != ReasonCode::Success {
            buf.put_u8(self.code.get());
        }
    }
}

/// Reads [`AckProperties`] for any of the acknowledgement packets, naming the real packet in
/// errors. All six allow the same two properties.
pub(crate) fn read_ack_properties(
    r: &mut Reader,
    packet: PacketType,
) -> Result<AckProperties, Violation> {
    AckProperties::read(r).map_err(|e| match e {
        Violation::PropertyNotAllowed { property, .. } => Violation::PropertyNotAllowed {
            property,
            packet: packet.name(),
        },
        other => other,
    })
}
