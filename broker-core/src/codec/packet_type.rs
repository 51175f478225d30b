//! Control packet types and the fixed header (MQTT 5.0 §2.1, 3.1.1 §2.2).

use std::fmt;

use super::{varint, Violation};
use crate::types::ProtocolVersion;

/// The type of an MQTT control packet: the high nibble of the first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PacketType {
    /// 1: connection request.
    Connect = 1,
    /// 2: connect acknowledgement.
    ConnAck = 2,
    /// 3: publish message.
    Publish = 3,
    /// 4: publish acknowledgement (QoS 1).
    PubAck = 4,
    /// 5: publish received (QoS 2, part 1).
    PubRec = 5,
    /// 6: publish release (QoS 2, part 2).
    PubRel = 6,
    /// 7: publish complete (QoS 2, part 3).
    PubComp = 7,
    /// 8: subscribe request.
    Subscribe = 8,
    /// 9: subscribe acknowledgement.
    SubAck = 9,
    /// 10: unsubscribe request.
    Unsubscribe = 10,
    /// 11: unsubscribe acknowledgement.
    UnsubAck = 11,
    /// 12: ping request.
    PingReq = 12,
    /// 13: ping response.
    PingResp = 13,
    /// 14: disconnect notification.
    Disconnect = 14,
    /// 15: authentication exchange (MQTT 5.0 only).
    Auth = 15,
}

impl PacketType {
    /// Parses the high nibble of the first byte. 0 is reserved.
    pub fn from_nibble(nibble: u8) -> Result<Self, Violation> {
        use PacketType as T;
        Ok(match nibble {
            1 => T::Connect,
            2 => T::ConnAck,
            3 => T::Publish,
            4 => T::PubAck,
            5 => T::PubRec,
            6 => T::PubRel,
            7 => T::PubComp,
            8 => T::Subscribe,
            9 => T::SubAck,
            10 => T::Unsubscribe,
            11 => T::UnsubAck,
            12 => T::PingReq,
            13 => T::PingResp,
            14 => T::Disconnect,
            15 => T::Auth,
            other => return Err(Violation::ReservedPacketType(other)),
        })
    }

    /// The flags the specification fixes for this type; `None` for PUBLISH, whose flags
    /// carry DUP, QoS and RETAIN (MQTT 5.0 §2.1.3, Table 2-2).
    #[must_use]
    pub fn fixed_flags(self) -> Option<u8> {
        match self {
            PacketType::Publish => None,
            PacketType::PubRel | PacketType::Subscribe | PacketType::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }

    /// Whether only a server sends this packet: CONNACK, SUBACK, UNSUBACK and PINGRESP
    /// (the "Direction of flow" column of MQTT 5.0 §2.1.2 Table 2-1; 3.1.1 §2.2.1 Table 2.1).
    #[must_use]
    pub fn is_server_to_client(self) -> bool {
        matches!(
            self,
            PacketType::ConnAck | PacketType::SubAck | PacketType::UnsubAck | PacketType::PingResp
        )
    }

    /// The first byte of a packet of this type with its fixed flags.
    #[must_use]
    pub fn first_byte(self) -> u8 {
        ((self as u8) << 4) | self.fixed_flags().unwrap_or(0)
    }

    /// The specification's name of the packet, e.g. `"PUBACK"`.
    #[must_use]
    pub fn name(self) -> &'static str {
        use PacketType as T;
        match self {
            T::Connect => "CONNECT",
            T::ConnAck => "CONNACK",
            T::Publish => "PUBLISH",
            T::PubAck => "PUBACK",
            T::PubRec => "PUBREC",
            T::PubRel => "PUBREL",
            T::PubComp => "PUBCOMP",
            T::Subscribe => "SUBSCRIBE",
            T::SubAck => "SUBACK",
            T::Unsubscribe => "UNSUBSCRIBE",
            T::UnsubAck => "UNSUBACK",
            T::PingReq => "PINGREQ",
            T::PingResp => "PINGRESP",
            T::Disconnect => "DISCONNECT",
            T::Auth => "AUTH",
        }
    }
}

impl fmt::Display for PacketType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A parsed fixed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHeader {
    /// The packet type.
    pub packet_type: PacketType,
    /// The low nibble of the first byte.
    pub flags: u8,
    /// The number of bytes after the fixed header.
    pub remaining_length: u32,
    /// The size of the fixed header itself: 2 to 5 bytes.
    pub header_len: usize,
}

impl FixedHeader {
    /// Parses a fixed header by the rules of MQTT 5.0 and 3.1.1, without consuming anything.
    ///
    /// `Ok(None)` means more bytes are needed. The type and flags are checked from the first
    /// byte alone, so garbage is rejected as early as possible (a PUBLISH with QoS 3 too,
    /// [MQTT-3.3.1-4]).
    pub fn parse(buf: &[u8]) -> Result<Option<FixedHeader>, Violation> {
        Self::parse_for(buf, Some(ProtocolVersion::V5))
    }

    /// Parses a fixed header by the rules of `version` (`None` before a CONNECT told it).
    ///
    /// - MQTT 3.1 sends PUBREL, SUBSCRIBE and UNSUBSCRIBE at QoS 1 and sets DUP when it
    ///   retries them (3.1 §3.6, §3.8, §3.10), so `1010` is accepted there too.
    /// - Only MQTT 5.0 requires the remaining length in its shortest form ([MQTT-1.5.5-1]);
    ///   3.x and a first packet of unknown version are read without that rule.
    pub fn parse_for(
        buf: &[u8],
        version: Option<ProtocolVersion>,
    ) -> Result<Option<FixedHeader>, Violation> {
        let Some((&first, rest)) = buf.split_first() else {
            return Ok(None);
        };
        let packet_type = PacketType::from_nibble(first >> 4)?;
        let flags = first & 0x0F;
        match packet_type.fixed_flags() {
            Some(0b0010) if version == Some(ProtocolVersion::V3_1) && flags == 0b1010 => {}
            Some(expected) if flags != expected => {
                return Err(Violation::ReservedFlags {
                    packet: packet_type,
                    flags,
                });
            }
            None if flags & 0b0110 == 0b0110 => return Err(Violation::InvalidQoS),
            _ => {}
        }
        let remaining = if version == Some(ProtocolVersion::V5) {
            varint::decode(rest)?
        } else {
            varint::decode_v3(rest)?
        };
        Ok(remaining.map(|(remaining_length, len)| FixedHeader {
            packet_type,
            flags,
            remaining_length,
            header_len: 1 + len,
        }))
    }

    /// The whole packet's size: fixed header plus remaining length.
    #[must_use]
    pub fn packet_len(&self) -> usize {
        self.header_len + self.remaining_length as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mqtt_3_1_allows_dup_on_qos_1_control_packets() {
        for first in [0x6A, 0x8A, 0xAA] {
            assert!(FixedHeader::parse_for(&[first, 0], Some(ProtocolVersion::V3_1)).is_ok());
            assert!(matches!(
                FixedHeader::parse_for(&[first, 0], Some(ProtocolVersion::V3_1_1)),
                Err(Violation::ReservedFlags { .. })
            ));
        }
    }

    #[test]
    fn shortest_form_is_required_in_v5_only() {
        let non_minimal = [0xC0, 0x80, 0x00];
        assert_eq!(
            FixedHeader::parse_for(&non_minimal, Some(ProtocolVersion::V5)),
            Err(Violation::VarIntNotMinimal)
        );
        let header = FixedHeader::parse_for(&non_minimal, Some(ProtocolVersion::V3_1_1))
            .unwrap()
            .unwrap();
        assert_eq!((header.remaining_length, header.header_len), (0, 3));
    }
}
