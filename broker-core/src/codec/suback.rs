//! SUBACK (MQTT 5.0 §3.9, 3.1.1 §3.9).

use bytes::{BufMut, BytesMut};

use super::ack::{read_ack_properties, AckProperties};
use super::property::{block_len, PropertySet};
use super::reader::Reader;
use super::subscribe::MAX_PREALLOC;
use super::{EncodeError, PacketType, Violation};
use crate::types::{PacketId, ProtocolVersion, ReasonCode};

/// A SUBACK packet: one reason code per subscription of the SUBSCRIBE, in order. For 3.x the
/// codes are Granted QoS 0/1/2 or Unspecified error (return code 0x80).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    /// Packet identifier of the SUBSCRIBE.
    pub packet_id: PacketId,
    /// One code per subscription.
    pub codes: Vec<ReasonCode>,
    /// MQTT 5 properties (empty for 3.x).
    pub properties: AckProperties,
}

impl SubAck {
    pub(crate) fn decode(mut r: Reader, version: ProtocolVersion) -> Result<Self, Violation> {
        let packet_id = r.packet_id()?;
        let properties = if version.is_v5() {
            read_ack_properties(&mut r, PacketType::SubAck)?
        } else {
            AckProperties::default()
        };
        let mut codes = Vec::with_capacity(r.remaining().min(MAX_PREALLOC));
        while !r.is_empty() {
            let byte = r.u8()?;
            codes.push(if version.is_v5() {
                let code = ReasonCode::new(byte)?;
                if !code.allowed_in(PacketType::SubAck) {
                    return Err(Violation::ReasonCodeNotAllowed {
                        packet: PacketType::SubAck,
                        code,
                    });
                }
                code
            } else {
                ReasonCode::from_v3_suback(byte)?
            });
        }
        if codes.is_empty() {
            return Err(Violation::NoReasonCodes);
        }
        Ok(SubAck {
            packet_id,
            codes,
            properties,
        })
    }

    pub(crate) fn sizes(&self, version: ProtocolVersion) -> Result<(usize, usize), EncodeError> {
        if self.codes.is_empty() {
            return Err(Violation::NoReasonCodes.into());
        }
        if version.is_v5() {
            let props = self.properties.body_len()?;
            Ok((2 + block_len(props) + self.codes.len(), props))
        } else {
            Ok((2 + self.codes.len(), 0))
        }
    }

    pub(crate) fn put(&self, version: ProtocolVersion, props: usize, buf: &mut BytesMut) {
        buf.put_u16(self.packet_id.get());
        if version.is_v5() {
            self.properties.put(buf, props);
            for code in &self.codes {
                buf.put_u8(code.get());
            }
        } else {
            for code in &self.codes {
                buf.put_u8(code.to_v3_suback());
            }
        }
    }
}
