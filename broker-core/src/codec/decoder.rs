//! The incremental decoder: bytes in, packets out.

use bytes::{Buf, Bytes, BytesMut};

use super::reader::Reader;
use super::{varint, Connect, DecodeError, FixedHeader, Packet, PacketType, Violation};
use crate::types::ProtocolVersion;

/// The largest packet MQTT can express: a 5-byte fixed header and 268,435,455 bytes.
pub const MAX_PACKET_SIZE: u32 = 1 + 4 + super::varint::MAX_VAR_INT;

/// The most buffer room reserved at once for a packet still arriving. Room for a larger packet
/// grows as its bytes arrive, so a peer's memory cost is what it sends, not what it declares.
const MAX_RESERVE: usize = 64 * 1024;

/// Decodes packets from a byte stream, one at a time, as bytes arrive.
///
/// - [`Decoder::decode`] returns `Ok(None)` and consumes nothing until a whole packet is
///   buffered.
/// - The declared size is checked against the maximum packet size from the fixed header,
///   before the body is buffered: a peer cannot make the decoder hold more than the maximum.
/// - The protocol version is learned from the first CONNECT, or set with
///   [`Decoder::with_version`] by a client that sent one; packets other than CONNECT cannot
///   be decoded before it is known.
#[derive(Debug, Clone)]
pub struct Decoder {
    version: Option<ProtocolVersion>,
    max_packet_size: u32,
}

impl Default for Decoder {
    fn default() -> Self {
        Decoder::new()
    }
}

impl Decoder {
    /// A decoder that expects a CONNECT first, with the largest maximum packet size.
    #[must_use]
    pub fn new() -> Self {
        Decoder {
            version: None,
            max_packet_size: MAX_PACKET_SIZE,
        }
    }

    /// A decoder for a connection known to speak `version` (a client after its CONNECT).
    #[must_use]
    pub fn with_version(version: ProtocolVersion) -> Self {
        Decoder {
            version: Some(version),
            max_packet_size: MAX_PACKET_SIZE,
        }
    }

    /// Sets the maximum packet size, fixed header included (MQTT 5.0 §3.1.2.11.4).
    #[must_use]
    pub fn max_packet_size(mut self, max: u32) -> Self {
        self.max_packet_size = max;
        self
    }

    /// The protocol version in force, if known.
    #[must_use]
    pub fn version(&self) -> Option<ProtocolVersion> {
        self.version
    }

    /// Decodes one packet from the front of `buf`.
    ///
    /// `Ok(None)`: more bytes are needed; `buf` is untouched (but may have reserved room for
    /// up to 64 KiB more of the declared packet). `Ok(Some(packet))`: the packet's bytes were removed from `buf`.
    /// `Err(_)`: the stream is broken; the connection must be closed after the answer that
    /// [`DecodeError::answer`] gives.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        let Some(header) = FixedHeader::parse_for(buf, self.version)? else {
            return Ok(None);
        };
        let size = header.packet_len();
        if size > self.max_packet_size as usize {
            return Err(DecodeError::PacketTooLarge {
                size,
                max: self.max_packet_size,
            });
        }
        if buf.len() < size {
            buf.reserve((size - buf.len()).min(MAX_RESERVE));
            return Ok(None);
        }
        let mut body = buf.split_to(size).freeze();
        body.advance(header.header_len);
        self.decode_body(header, body).map(Some)
    }

    #[inline]
    fn decode_body(&mut self, header: FixedHeader, body: Bytes) -> Result<Packet, DecodeError> {
        if header.packet_type == PacketType::Connect {
            let protocol = Connect::read_version(&mut Reader::new(body.clone()))?;
            // The first CONNECT fixes the version; a second one is the session's to refuse.
            self.version.get_or_insert(protocol);
            // A first CONNECT's header is read before its version is known; 5.0 wants the
            // remaining length in its shortest form ([MQTT-1.5.5-1]).
            if protocol.is_v5() && header.header_len != 1 + varint::len(header.remaining_length) {
                return Err(Violation::VarIntNotMinimal.into());
            }
            return Packet::decode_body(header, body, protocol);
        }
        let version = self.version.ok_or(DecodeError::ExpectedConnect)?;
        Packet::decode_body(header, body, version)
    }
}
