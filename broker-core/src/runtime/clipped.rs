//! [`Clipped`]: a string a client chose (client identifier, user name, topic, filter) as a log
//! line shows it. It owns how such a string is written into a line, and never allocates.

use std::fmt::{self, Write as _};

use crate::types::has_control_character;

/// The most bytes of one client-chosen string a log line shows.
pub(crate) const MAX_LOGGED: usize = 128;

/// Writes a client-chosen string for a log line: at most [`MAX_LOGGED`] bytes, cut on a
/// character boundary and followed by `…(+N bytes)` when longer, and with control characters
/// (U+0000 to U+001F, U+007F to U+009F) escaped as `\u{1b}`, so that a 65,535-byte client
/// identifier costs the log 128 bytes and no client can start a line of its own or send the
/// terminal an escape sequence.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clipped<'a>(pub(crate) &'a str);

impl fmt::Display for Clipped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        let mut cut = text.len().min(MAX_LOGGED);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let (shown, rest) = text.split_at(cut);
        if has_control_character(shown) {
            for c in shown.chars() {
                if c.is_control() {
                    write!(f, "{}", c.escape_unicode())?;
                } else {
                    f.write_char(c)?;
                }
            }
        } else {
            f.write_str(shown)?;
        }
        if !rest.is_empty() {
            write!(f, "…(+{} bytes)", rest.len())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_are_written_as_they_are() {
        assert_eq!(Clipped("sensor-1").to_string(), "sensor-1");
        assert_eq!(Clipped("").to_string(), "");
        let exactly = "a".repeat(MAX_LOGGED);
        assert_eq!(Clipped(&exactly).to_string(), exactly);
    }

    #[test]
    fn long_strings_are_cut_with_the_count_of_what_is_left_out() {
        let id = "x".repeat(65_000);
        let shown = Clipped(&id).to_string();
        assert_eq!(
            shown,
            format!(
                "{}…(+{} bytes)",
                "x".repeat(MAX_LOGGED),
                65_000 - MAX_LOGGED
            )
        );
    }

    #[test]
    fn the_cut_falls_on_a_character_boundary() {
        // 127 ASCII bytes, then a three-byte character across the 128-byte mark.
        let text = format!("{}€€", "a".repeat(MAX_LOGGED - 1));
        assert_eq!(
            Clipped(&text).to_string(),
            format!("{}…(+6 bytes)", "a".repeat(MAX_LOGGED - 1))
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(
            Clipped("dev\u{1b}[31mice\n1700000000: fake").to_string(),
            r"dev\u{1b}[31mice\u{a}1700000000: fake"
        );
        assert_eq!(Clipped("a\u{85}b\u{7f}").to_string(), r"a\u{85}b\u{7f}");
        assert_eq!(Clipped("°C/€/日本").to_string(), "°C/€/日本");
    }
}
