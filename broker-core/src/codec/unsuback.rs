//! UNSUBACK (MQTT 5.0 §3.11, 3.1.1 §3.11).

use bytes::{BufMut, BytesMut};

use super::ack::{read_ack_properties, AckProperties};
use super::property::{block_len, PropertySet};
use super::reader::Reader;
use super::subscribe::MAX_PREALLOC;
use super::{EncodeError, PacketType, Violation};
use crate::types::{PacketId, ProtocolVersion, ReasonCode};

/// An UNSUBACK packet. 5.0 carries one reason code per filter of the UNSUBSCRIBE; 3.x
/// carries none, and `codes` is empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    /// Packet identifier of the UNSUBSCRIBE.
    pub packet_id: PacketId,
    /// One code per filter (5.0 only).
    pub codes: Vec<ReasonCode>,
    /// MQTT 5 properties (empty for 3.x).
    pub properties: AckProperties,
}

impl UnsubAck {
    pub(crate) fn decode(mut r: Reader, version: ProtocolVersion) -> Result<Self, Violation> {
        let packet_id = r.packet_id()?;
        if !version.is_v5() {
            r.finish()?;
            return Ok(UnsubAck {
                packet_id,
                codes: Vec::new(),
                properties: AckProperties::default(),
            });
        }
        let properties = read_ack_properties(&mut r, PacketType::UnsubAck)?;
        let mut codes = Vec::with_capacity(r.remaining().min(MAX_PREALLOC));
        while !r.is_empty() {
            let code = ReasonCode::new(r.u8()?)?;
            if !code.allowed_in(PacketType::UnsubAck) {
                return Err(Violation::ReasonCodeNotAllowed {
                    packet: PacketType::UnsubAck,
                    code,
                });
            }
            codes.push(code);
        }
        if codes.is_empty() {
            return Err(Violation::NoReasonCodes);
        }
        Ok(UnsubAck {
            packet_id,
            codes,
            properties,
        })
    }

    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        if !version.is_v5() {
            return Ok((2, 0));
        }
        if self.codes.is_empty() {
            return Err(Violation::NoReasonCodes.into());
        }
        let props = self.properties.body_len()?;
        Ok((2 + block_len(props) + self.codes.len(), props))
    }

    pub(crate) fn put(&self, version: ProtocolVersion, props: usize, buf: &mut BytesMut) {
        buf.put_u16(self.packet_id.get());
        if version.is_v5() {
            self.properties.put(buf, props);
            for code in &self.codes {
                buf.put_u8(code.get());
            }
        }
    }
}
