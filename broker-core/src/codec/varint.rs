//! Variable Byte Integers (MQTT 5.0 §1.5.5, 3.1.1 §2.2.3 for the remaining length).

use bytes::BufMut;

use super::Violation;

/// The largest value four bytes can carry: 268,435,455.
pub const MAX_VAR_INT: u32 = 268_435_455;

/// Decodes a Variable Byte Integer from the start of `buf`, as MQTT 5.0 requires it.
///
/// Returns `Ok(None)` when `buf` ends before the integer does (more bytes are needed),
/// `Ok(Some((value, length)))` otherwise. A fifth continuation byte is
/// [`Violation::VarIntTooLong`]; a longer form than needed (`0x80 0x00` for 0) is
/// [`Violation::VarIntNotMinimal`] ([MQTT-1.5.5-1]).
pub fn decode(buf: &[u8]) -> Result<Option<(u32, usize)>, Violation> {
    decode_inner(buf, true)
}

/// Decodes a remaining length as MQTT 3.1 and 3.1.1 allow it: at most four bytes, but not
/// necessarily in the shortest form (3.1.1 §2.2.3 has no such rule).
pub fn decode_v3(buf: &[u8]) -> Result<Option<(u32, usize)>, Violation> {
    decode_inner(buf, false)
}

fn decode_inner(buf: &[u8], minimal: bool) -> Result<Option<(u32, usize)>, Violation> {
    let mut value: u32 = 0;
    for (i, &byte) in buf.iter().enumerate().take(4) {
        value |= u32::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            if minimal && i > 0 && byte == 0 {
                return Err(Violation::VarIntNotMinimal);
            }
            return Ok(Some((value, i + 1)));
        }
    }
    if buf.len() >= 4 {
        Err(Violation::VarIntTooLong)
    } else {
        Ok(None)
    }
}

/// The number of bytes `value` takes as a Variable Byte Integer.
#[must_use]
pub fn len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes `value` (at most [`MAX_VAR_INT`]; callers check) as a Variable Byte Integer.
pub fn put(buf: &mut impl BufMut, mut value: u32) {
    debug_assert!(value <= MAX_VAR_INT);
    loop {
        // Truncation is intended: the low seven bits.
        let mut byte = (value & 0x7F) as u8;
        value >>= 7;
        if value > 0 {
            byte |= 0x80;
        }
        buf.put_u8(byte);
        if value == 0 {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boundaries() {
        for (value, bytes) in [
            (0u32, &[0x00][..]),
            (127, &[0x7F]),
            (128, &[0x80, 0x01]),
            (16_383, &[0xFF, 0x7F]),
            (16_384, &[0x80, 0x80, 0x01]),
            (2_097_151, &[0xFF, 0xFF, 0x7F]),
            (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
            (MAX_VAR_INT, &[0xFF, 0xFF, 0xFF, 0x7F]),
        ] {
            let mut out = Vec::new();
            put(&mut out, value);
            assert_eq!(out, bytes);
            assert_eq!(len(value), bytes.len());
            assert_eq!(decode(bytes), Ok(Some((value, bytes.len()))));
        }
    }

    #[test]
    fn partial_needs_more() {
        assert_eq!(decode(&[]), Ok(None));
        assert_eq!(decode(&[0x80]), Ok(None));
        assert_eq!(decode(&[0xFF, 0xFF, 0xFF]), Ok(None));
    }

    #[test]
    fn five_bytes_are_rejected() {
        assert_eq!(
            decode(&[0xFF, 0xFF, 0xFF, 0xFF]),
            Err(Violation::VarIntTooLong)
        );
        assert_eq!(
            decode(&[0x80, 0x80, 0x80, 0x80, 0x01]),
            Err(Violation::VarIntTooLong)
        );
    }

    #[test]
    fn non_minimal_is_rejected_mqtt_1_5_5_1() {
        assert_eq!(decode(&[0x80, 0x00]), Err(Violation::VarIntNotMinimal));
        assert_eq!(
            decode(&[0xFF, 0x80, 0x00]),
            Err(Violation::VarIntNotMinimal)
        );
    }

    #[test]
    fn v3_accepts_non_minimal_forms_but_not_five_bytes() {
        assert_eq!(decode_v3(&[0x80, 0x00]), Ok(Some((0, 2))));
        assert_eq!(decode_v3(&[0x85, 0x80, 0x00]), Ok(Some((5, 3))));
        assert_eq!(
            decode_v3(&[0x80, 0x80, 0x80, 0x80]),
            Err(Violation::VarIntTooLong)
        );
    }
}
