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
/// Eight bytes at a time, without a branch per byte: a word is a suspect when one of its
/// bytes is below 0x20, 0x7F or 0xC2 (the classic "has a byte less than n" and "has a zero
/// byte" word tests); only from a suspect word on does the exact byte test run. Text without
/// control characters and without 0xC2 (all ASCII, most scripts) never leaves the fast loop.
pub(crate) fn has_control_character(value: &str) -> bool {
    let bytes = value.as_bytes();
    let mut words = bytes.chunks_exact(WORD);
    let mut offset = 0;
    for word in words.by_ref() {
        let mut le = [0u8; WORD];
        le.copy_from_slice(word);
        if is_suspect(u64::from_le_bytes(le)) {
            // From this word on: a C2 at its end pairs with the next word's first byte.
            return exact(bytes.get(offset..).unwrap_or_default());
        }
        offset += WORD;
    }
    // A C2 ending the last whole word made that word a suspect, so the tail starts afresh.
    exact(words.remainder())
}

/// Whether one of the eight bytes of `word` is below 0x20, 0x7F or 0xC2. Exact as a yes or
/// no (the tests may flag the wrong byte after a hit, never a word without one).
fn is_suspect(word: u64) -> bool {
    let below_space = word.wrapping_sub(LO * 0x20) & !word & HI;
    has_zero_byte(word ^ (LO * 0x7F)) || has_zero_byte(word ^ (LO * 0xC2)) || below_space != 0
}

fn has_zero_byte(word: u64) -> bool {
    word.wrapping_sub(LO) & !word & HI != 0
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
            for at in 0..20 {
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
                for pad in [0, 6, 7, 8, 15] {
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
