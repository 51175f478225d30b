//! Helpers shared by the hand-checked byte-vector tests (`codec/vectors_v5.rs`, `codec/vectors_v31.rs`).

use broker_core::codec::{Decoder, Packet};
use broker_core::types::ProtocolVersion;
use bytes::BytesMut;

/// Bytes as spaced hex, for readable assertion messages.
pub(crate) fn spaced(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Decodes one packet: a CONNECT on a fresh decoder (which must learn `version` from it),
/// anything else on a connection known to speak `version`.
pub(crate) fn decode(bytes: &[u8], version: ProtocolVersion, connect: bool) -> Packet {
    let mut decoder = if connect {
        Decoder::new()
    } else {
        Decoder::with_version(version)
    };
    let mut buf = BytesMut::from(bytes);
    let packet = decoder
        .decode(&mut buf)
        .unwrap_or_else(|e| panic!("decoding {}: {e}", spaced(bytes)))
        .unwrap_or_else(|| panic!("decoding {}: wants more bytes", spaced(bytes)));
    assert!(buf.is_empty(), "{} bytes left over", buf.len());
    assert_eq!(decoder.version(), Some(version));
    packet
}

/// The vector both ways for `version`.
pub(crate) fn both_ways_in(version: ProtocolVersion, bytes: &[u8], packet: &Packet) {
    assert!(bytes[1] < 0x80, "remaining length is one byte");
    assert_eq!(
        usize::from(bytes[1]),
        bytes.len() - 2,
        "hand-computed remaining length"
    );

    let decoded = decode(bytes, version, matches!(packet, Packet::Connect(_)));
    assert_eq!(&decoded, packet, "decoded {}", spaced(bytes));

    let mut out = BytesMut::new();
    let written = packet.encode(version, &mut out).unwrap();
    assert_eq!(spaced(&out), spaced(bytes), "encoded {packet:?}");
    assert_eq!(written, bytes.len());
    assert_eq!(packet.encoded_len(version).unwrap(), bytes.len());
}
