//! Helpers shared by the rejection tests (`tests/rejections*.rs`): hand-written hex, and the
//! checks every rejection makes.

use broker_core::codec::{DecodeError, Decoder, ErrorAnswer, Packet};
use broker_core::types::{ProtocolVersion, ReasonCode};
use bytes::BytesMut;

pub(crate) const V5: ProtocolVersion = ProtocolVersion::V5;
pub(crate) const V311: ProtocolVersion = ProtocolVersion::V3_1_1;
pub(crate) const V31: ProtocolVersion = ProtocolVersion::V3_1;

/// Bytes from hex written one field a line: everything after `//` on a line is a comment,
/// whitespace is ignored.
pub(crate) fn wire(text: &str) -> Vec<u8> {
    let digits: String = text
        .lines()
        .map(|line| line.split("//").next().unwrap_or(""))
        .flat_map(|line| line.chars().filter(|c| !c.is_whitespace()))
        .collect();
    hex::decode(&digits).unwrap_or_else(|e| panic!("bad hex {digits:?}: {e}"))
}

/// `bytes` as spaced hex, for failure messages.
pub(crate) fn spaced(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A decoder for a connection that speaks `version` (its CONNECT already decoded), or a
/// fresh one that expects a CONNECT first when `version` is `None`.
pub(crate) fn decoder(version: Option<ProtocolVersion>) -> Decoder {
    version.map_or_else(Decoder::new, Decoder::with_version)
}

/// Feeds `bytes` one at a time and returns the error and how many bytes had been fed when it
/// came. Every shorter prefix must be `Ok(None)` and leave the buffer untouched.
pub(crate) fn first_error(mut decoder: Decoder, bytes: &[u8]) -> (DecodeError, usize) {
    let mut buf = BytesMut::new();
    for (i, byte) in bytes.iter().enumerate() {
        buf.extend_from_slice(&[*byte]);
        match decoder.decode(&mut buf) {
            Ok(None) => assert_eq!(buf.len(), i + 1, "Ok(None) consumed bytes"),
            Ok(Some(p)) => panic!("accepted {p:?} after {} of: {}", i + 1, spaced(bytes)),
            Err(e) => return (e, i + 1),
        }
    }
    panic!("no error after all of: {}", spaced(bytes));
}

/// Decodes `bytes` in one piece with `decoder` and returns the error it must give.
pub(crate) fn reject_with(decoder: &mut Decoder, bytes: &[u8]) -> DecodeError {
    match decoder.decode(&mut BytesMut::from(bytes)) {
        Err(e) => e,
        Ok(other) => panic!("expected a rejection of {}, got {other:?}", spaced(bytes)),
    }
}

/// Checks that `bytes`, on a connection speaking `version` (`None`: a fresh connection
/// expecting CONNECT), are rejected with `expected`, named by reason `code` in MQTT 5.0:
///
/// - fed whole and fed byte by byte, the decoder gives the same error;
/// - `Display` starts with the statement id in brackets;
/// - after CONNACK, MQTT 5.0 answers DISCONNECT with `code` and MQTT 3 just closes.
///
/// Returns the error and the version the decoder knows afterwards (learned from a CONNECT).
pub(crate) fn rejects_on(
    version: Option<ProtocolVersion>,
    bytes: &[u8],
    expected: impl Into<DecodeError>,
    code: ReasonCode,
) -> (DecodeError, Option<ProtocolVersion>) {
    let expected = expected.into();
    let mut whole = decoder(version);
    let err = reject_with(&mut whole, bytes);
    assert_eq!(err, expected, "{}", spaced(bytes));
    let (stepwise, _) = first_error(decoder(version), bytes);
    assert_eq!(stepwise, expected, "byte by byte: {}", spaced(bytes));
    assert_eq!(err.reason_code(), code, "{err}");
    let text = err.to_string();
    assert!(text.starts_with("[MQTT-"), "no statement id: {text}");
    if let DecodeError::Violation(v) = &err {
        assert!(text.starts_with(&format!("[{}] ", v.statement())), "{text}");
    }
    if let Some(v) = version {
        let after_connack = if v.is_v5() {
            ErrorAnswer::Disconnect(code)
        } else {
            ErrorAnswer::Close
        };
        assert_eq!(err.answer(Some(v), true), after_connack, "{err}");
    }
    (err, whole.version())
}

/// [`rejects_on`] for a connection that speaks `version`.
pub(crate) fn rejects(
    version: ProtocolVersion,
    bytes: &[u8],
    expected: impl Into<DecodeError>,
    code: ReasonCode,
) -> DecodeError {
    rejects_on(Some(version), bytes, expected, code).0
}

/// Decodes `bytes` (one whole packet) on a connection speaking `version` (`None`: a fresh one)
/// and returns the packet.
pub(crate) fn accepts(version: Option<ProtocolVersion>, bytes: &[u8]) -> Packet {
    let mut buf = BytesMut::from(bytes);
    match decoder(version).decode(&mut buf) {
        Ok(Some(packet)) => {
            assert!(buf.is_empty(), "bytes left over: {}", spaced(bytes));
            packet
        }
        other => panic!("expected {} to decode, got {other:?}", spaced(bytes)),
    }
}
