//! The envelope of every stored value: a CRC-32 of the record before it, so that a torn or
//! damaged value is found when it is read, not decoded into something else.
//!
//! ```text
//! crc32   u32 big-endian, of the record
//! record  the byte form of a session, a queued message or a retained message
//! ```

use bytes::Bytes;

/// Bytes before the record.
const HEADER: usize = 4;

/// `record` in its envelope.
pub(crate) fn seal(record: &[u8]) -> Vec<u8> {
    let mut value = Vec::with_capacity(HEADER + record.len());
    value.extend_from_slice(&crc32fast::hash(record).to_be_bytes());
    value.extend_from_slice(record);
    value
}

/// The record inside `value`, if its checksum holds.
pub(crate) fn verify(value: &[u8]) -> Result<&[u8], String> {
    let (crc, record) = value
        .split_first_chunk::<HEADER>()
        .ok_or_else(|| format!("a value of {} bytes has no checksum", value.len()))?;
    let want = u32::from_be_bytes(*crc);
    let got = crc32fast::hash(record);
    if want != got {
        return Err(format!(
            "checksum mismatch (stored {want:08x}, computed {got:08x})"
        ));
    }
    Ok(record)
}

/// [`verify`], as bytes of its own.
pub(crate) fn open(value: &[u8]) -> Result<Bytes, String> {
    verify(value).map(Bytes::copy_from_slice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_record_opens_and_any_flipped_bit_or_cut_is_found() {
        let record = b"a record of some length";
        let value = seal(record);
        assert_eq!(open(&value).unwrap().as_ref(), record);
        for byte in 0..value.len() {
            for bit in 0..8 {
                let mut damaged = value.clone();
                damaged[byte] ^= 1 << bit;
                assert!(open(&damaged).is_err(), "flip of bit {bit} of byte {byte}");
            }
        }
        for len in 0..value.len() {
            assert!(open(&value[..len]).is_err(), "cut to {len} bytes");
        }
    }
}
