//! The scan for control characters (U+0001 to U+001F, U+007F to U+009F), which MQTT 5.0
//! §1.5.4 and 3.1.1 §1.5.3 say a string SHOULD NOT hold and a receiver MAY refuse.
//!
//! It owns the byte-level test only; whether a string holding one is refused is the
//! session's decision (`SessionConfig::allow_control_characters`), never this module's.

/// Bytes per word of the word-at-a-time scan.
const WORD: usize = 8;
/// Each byte of a word 0x01.
const LO: u64 = u64::from_le_bytes([0x01; WORD]);
/// Each byte of a word 0x80.
const HI: u64 = u64::from_le_bytes([0x80; WORD]);

/// Whether `value` holds a control character: a byte below 0x20 (U+0000 to U+001F), 0x7F
/// (U+007F), or the two-byte sequences C2 80 to C2 9F (U+0080 to U+009F).
///
/// Sixteen bytes at a time, without a branch per byte: a word is a suspect when one of its
/// eight bytes is below 0x20, 0x7F or 0xC2 (the classic "has a byte less than n" and "has a
/// zero byte" word tests); only from a suspect word on does the exact byte test run. The
/// tail is one more word, overlapping what was already scanned, and a string shorter than a
/// word is padded with spaces. Text without control characters and without 0xC2 (all ASCII,
/// most scripts) never leaves the fast path.
pub(crate) fn has_control_character(value: &str) -> bool {
    let bytes = value.as_bytes();
    let len = bytes.len();
    if len < WORD {
        let mut padded = [b' '; WORD];
        for (slot, byte) in padded.iter_mut().zip(bytes) {
            *slot = *byte;
        }
        return suspects(u64::from_le_bytes(padded)) != 0 && exact(bytes);
    }
    let mut at = 0;
    while at + 2 * WORD <= len {
        if suspects(word(bytes, at)) | suspects(word(bytes, at + WORD)) != 0 {
            return exact(bytes.get(at..).unwrap_or_default());
        }
        at += 2 * WORD;
    }
    if at + WORD <= len {
        if suspects(word(bytes, at)) != 0 {
            return exact(bytes.get(at..).unwrap_or_default());
        }
        at += WORD;
    }
    if at < len {
        // The last word overlaps bytes already scanned; a 0xC2 just before it would have
        // made its own word a suspect, so the exact test may start here.
        let last = len - WORD;
        if suspects(word(bytes, last)) != 0 {
            return exact(bytes.get(last..).unwrap_or_default());
        }
    }
    false
}

/// The eight bytes at `at` as a little-endian word (all zero, a suspect, if out of range).
fn word(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..at + WORD)
        .and_then(|eight| <[u8; WORD]>::try_from(eight).ok())
        .map_or(0, u64::from_le_bytes)
}

/// Non-zero when one of the eight bytes of `word` is below 0x20, 0x7F or 0xC2. Exact as a yes
/// or no (the tests may flag the wrong byte after a hit, never a word without one).
fn suspects(word: u64) -> u64 {
    let below_space = word.wrapping_sub(LO * 0x20) & !word;
    let del = word ^ (LO * 0x7F);
    let c2 = word ^ (LO * 0xC2);
    (below_space | (del.wrapping_sub(LO) & !del) | (c2.wrapping_sub(LO) & !c2)) & HI
}

/// The byte-by-byte test, on well-formed UTF-8: 0xC2 is always a lead byte there.
fn exact(bytes: &[u8]) -> bool {
    let mut rest = bytes.iter();
    while let Some(&byte) = rest.next() {
        if byte < 0x20 || byte == 0x7F {
            return true;
        }
        if byte == 0xC2 && rest.as_slice().first().is_some_and(|next| *next <= 0x9F) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plain byte-by-character definition the fast scan must agree with.
    fn reference(value: &str) -> bool {
        value
            .chars()
            .any(|c| matches!(c, '\u{0}'..='\u{1F}' | '\u{7F}'..='\u{9F}'))
    }

    #[test]
    fn every_control_character_is_found_at_every_position() {
        let controls = (0x01..=0x1F_u32)
            .chain(0x7F..=0x9F)
            .filter_map(char::from_u32);
        for control in controls {
            for at in 0..40 {
                let mut value = "a".repeat(at);
                value.push(control);
                value.push_str("bcdefghijk");
                assert!(has_control_character(&value), "{control:?} at {at}");
            }
        }
    }

    #[test]
    fn neighbours_of_the_ranges_are_not_control_characters() {
        for ok in [
            "sport/tennis/player1",
            " ~",
            "\u{A0}\u{A0}\u{A0}\u{A0}\u{A0}",
            "°£§ temperature/°C/£/§ in a long enough topic",
            "\u{100}\u{7FF}\u{800}\u{FFFF}\u{10FFFF}",
            "Ā€日本語/トピック/😀",
            "",
        ] {
            assert!(!has_control_character(ok), "{ok:?}");
        }
    }

    #[test]
    fn agrees_with_the_reference_on_every_two_character_string_around_the_ranges() {
        let around: Vec<char> = (0x00..=0x22_u32)
            .chain(0x7D..=0xA2)
            .chain([0xFF, 0x100, 0x142, 0x2022, 0xFEFF])
            .filter_map(char::from_u32)
            .collect();
        for &a in &around {
            for &b in &around {
                for pad in [0, 1, 5, 6, 7, 8, 9, 13, 14, 15, 16, 17, 22, 23] {
                    let value = format!("{}{a}{b}", "x".repeat(pad));
                    assert_eq!(
                        has_control_character(&value),
                        reference(&value),
                        "{value:?}"
                    );
                }
            }
        }
    }
}
