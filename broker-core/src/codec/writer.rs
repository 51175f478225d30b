//! Encoding helpers for the data types of MQTT 5.0 §1.5.

use bytes::{BufMut, BytesMut};

/// Length of a UTF-8 string or binary field on the wire: two length bytes and the data.
pub(crate) fn field_len(data: &[u8]) -> usize {
    2 + data.len()
}

/// Writes a two-byte length and the data. Callers guarantee `data.len() <= 65535`: every
/// string type checks it on construction, and binary fields are checked by
/// [`check_binary`].
pub(crate) fn put_field(buf: &mut BytesMut, data: &[u8]) {
    // Lengths were checked when the packet was sized; truncation cannot happen here.
    buf.put_u16(u16::try_from(data.len()).unwrap_or(u16::MAX));
    buf.put_slice(data);
}

/// Checks that a binary field fits its two-byte length prefix.
pub(crate) fn check_binary(data: &[u8]) -> Result<(), super::EncodeError> {
    if data.len() > usize::from(u16::MAX) {
        Err(super::EncodeError::TooLarge(data.len()))
    } else {
        Ok(())
    }
}
