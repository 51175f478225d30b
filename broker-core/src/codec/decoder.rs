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
///   [`Decoder::with_version`] by a client that sent one. Before it is known, the first
///   packet must be a CONNECT ([MQTT-3.1.0-1]): any other is refused from its first byte,
///   before anything is buffered, and a CONNECT is held to [`Decoder::max_connect_size`],
///   checked from its fixed header.
#[derive(Debug, Clone)]
pub struct Decoder {
    version: Option<ProtocolVersion>,
    max_packet_size: u32,
    /// The limit of the first packet, a CONNECT, while the version is unknown.
    max_connect_size: u32,
    /// Whether the peer is a client: packets only a server sends are refused.
    from_clients: bool,
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
            max_connect_size: MAX_PACKET_SIZE,
            from_clients: false,
        }
    }

    /// A decoder for a connection known to speak `version` (a client after its CONNECT).
    #[must_use]
    pub fn with_version(version: ProtocolVersion) -> Self {
        Decoder {
            version: Some(version),
            max_packet_size: MAX_PACKET_SIZE,
            max_connect_size: MAX_PACKET_SIZE,
            from_clients: false,
        }
    }

    /// Sets the maximum packet size, fixed header included (MQTT 5.0 §3.1.2.11.4).
    #[must_use]
    pub fn max_packet_size(mut self, max: u32) -> Self {
        self.max_packet_size = max;
        self
    }

    /// Sets the limit of a first CONNECT, fixed header included: a server's defence against
    /// peers that have not authenticated (the packet limit still applies when it is lower).
    /// Checked from the CONNECT's fixed header, before its body is buffered; a larger one is
    /// [`DecodeError::PacketTooLarge`] with this limit. Default: no limit beyond the packet's.
    #[must_use]
    pub fn max_connect_size(mut self, max: u32) -> Self {
        self.max_connect_size = max;
        self
    }

    /// A decoder for what a client sends, as a server reads it: CONNACK, SUBACK, UNSUBACK and
    /// PINGRESP, which only a server sends (MQTT 5.0 §2.1.2, Table 2-1), are refused from
    /// their fixed header, before their body is buffered, as
    /// [`Violation::ServerToClientOnly`]: a Protocol Error (0x82), since the packet type is
    /// read and found not allowed, not a packet that cannot be parsed (MQTT 5.0 §1.2).
    #[must_use]
    pub fn from_clients(mut self) -> Self {
        self.from_clients = true;
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
    /// up to 64 KiB more of the declared packet). `Ok(Some(packet))`: the packet's bytes were
    /// removed from `buf`. `Err(_)`: the stream is broken; the connection must be closed
    /// after the answer that [`DecodeError::answer`] gives.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        let Some(version) = self.version else {
            return self.decode_first(buf);
        };
        let Some(header) = FixedHeader::parse_for(buf, Some(version))? else {
            return Ok(None);
        };
        if self.from_clients && header.packet_type.is_server_to_client() {
            return Err(Violation::ServerToClientOnly(header.packet_type).into());
        }
        let Some(mut body) = take_packet(buf, &header, self.max_packet_size)? else {
            return Ok(None);
        };
        body.advance(header.header_len);
        if header.packet_type == PacketType::Connect {
            // A second CONNECT: decoded, for the session to refuse ([MQTT-3.1.0-2]).
            return self.decode_connect(header, body);
        }
        Packet::decode_body(header, body, version).map(Some)
    }

    /// The declared size, fixed header included, of the packet at the front of `buf`, once
    /// its fixed header is there and valid: what a caller holding an incomplete packet is
    /// waiting for.
    #[must_use]
    pub fn declared_len(&self, buf: &[u8]) -> Option<usize> {
        match FixedHeader::parse_for(buf, self.version) {
            Ok(Some(header)) => Some(header.packet_len()),
            _ => None,
        }
    }

    /// The first packet, before the version is known: a CONNECT within
    /// [`Decoder::max_connect_size`], or the stream is refused ([MQTT-3.1.0-1]) from its
    /// first byte, before any of it is buffered or room is reserved for it.
    #[cold]
    fn decode_first(&mut self, buf: &mut BytesMut) -> Result<Option<Packet>, DecodeError> {
        let Some(&first) = buf.first() else {
            return Ok(None);
        };
        if PacketType::from_nibble(first >> 4)? != PacketType::Connect {
            return Err(DecodeError::ExpectedConnect);
        }
        let Some(header) = FixedHeader::parse_for(buf, None)? else {
            return Ok(None);
        };
        let max = self.max_connect_size.min(self.max_packet_size);
        let Some(mut body) = take_packet(buf, &header, max)? else {
            return Ok(None);
        };
        body.advance(header.header_len);
        self.decode_connect(header, body)
    }

    /// A CONNECT's body: its protocol level fixes the version, if it is the first.
    fn decode_connect(
        &mut self,
        header: FixedHeader,
        body: Bytes,
    ) -> Result<Option<Packet>, DecodeError> {
        let (protocol, _) = Connect::read_version(&mut Reader::new(body.clone()))?;
        // The first CONNECT fixes the version; a second one is the session's to refuse.
        self.version.get_or_insert(protocol);
        // A first CONNECT's header is read before its version is known; 5.0 wants the
        // remaining length in its shortest form ([MQTT-1.5.5-1]).
        if protocol.is_v5() && header.header_len != 1 + varint::len(header.remaining_length) {
            return Err(Violation::VarIntNotMinimal.into());
        }
        Packet::decode_body(header, body, protocol).map(Some)
    }
}

/// The whole packet `header` starts, taken from the front of `buf`, if it is all there and
/// within `max`; otherwise room for up to [`MAX_RESERVE`] more of it is reserved.
#[inline]
fn take_packet(
    buf: &mut BytesMut,
    header: &FixedHeader,
    max: u32,
) -> Result<Option<Bytes>, DecodeError> {
    let size = header.packet_len();
    if size > max as usize {
        return Err(DecodeError::PacketTooLarge { size, max });
    }
    if buf.len() < size {
        buf.reserve((size - buf.len()).min(MAX_RESERVE));
        return Ok(None);
    }
    Ok(Some(buf.split_to(size).freeze()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::ErrorAnswer;
    use crate::types::ReasonCode;

    /// CONNACK, SUBACK, UNSUBACK and PINGRESP from a client, each with a body a server's
    /// packet of that type could not even have on 5.0 (the 3.1.1 layouts, no property length).
    const SERVER_ONLY: [&[u8]; 4] = [
        &[0x20, 0x02, 0x00, 0x00],
        &[0x90, 0x03, 0x00, 0x01, 0x00],
        &[0xB0, 0x02, 0x00, 0x01],
        &[0xD0, 0x00],
    ];

    #[test]
    fn packets_only_a_server_sends_are_protocol_errors_from_clients_mqtt_5_0_sec_2_1_2() {
        for bytes in SERVER_ONLY {
            // Only the fixed header is there: refused before the body arrives.
            let mut buf = BytesMut::from(&bytes[..2]);
            let mut decoder = Decoder::with_version(ProtocolVersion::V5).from_clients();
            let error = decoder.decode(&mut buf).unwrap_err();
            assert!(matches!(
                error,
                DecodeError::Violation(Violation::ServerToClientOnly(_))
            ));
            assert_eq!(error.reason_code(), ReasonCode::ProtocolError);
            assert!(error.to_string().starts_with("[MQTT-5.0 §2.1.2]"));
            assert_eq!(
                error.answer(Some(ProtocolVersion::V5), true),
                ErrorAnswer::Disconnect(ReasonCode::ProtocolError)
            );
            // 3.1.1: closed ([MQTT-4.8.0-1]).
            let mut decoder = Decoder::with_version(ProtocolVersion::V3_1_1).from_clients();
            let error = decoder.decode(&mut BytesMut::from(bytes)).unwrap_err();
            assert_eq!(
                error.answer(Some(ProtocolVersion::V3_1_1), true),
                ErrorAnswer::Close
            );
        }
    }

    #[test]
    fn a_decoder_for_either_side_still_reads_them() {
        // A client reads these: without `from_clients` the body decides.
        let mut decoder = Decoder::with_version(ProtocolVersion::V3_1_1);
        for bytes in SERVER_ONLY {
            assert!(decoder
                .decode(&mut BytesMut::from(bytes))
                .unwrap()
                .is_some());
        }
        // Packets both sides send are not refused by `from_clients`.
        let mut decoder = Decoder::with_version(ProtocolVersion::V5).from_clients();
        let mut buf = BytesMut::from(&[0xC0, 0x00, 0xE0, 0x00][..]);
        assert_eq!(decoder.decode(&mut buf), Ok(Some(Packet::PingReq)));
        assert!(matches!(
            decoder.decode(&mut buf),
            Ok(Some(Packet::Disconnect(_)))
        ));
    }
}
