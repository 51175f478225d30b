//! A byte count in the config file: a plain integer (`1048576`) or a string with a binary unit
//! (`"1MiB"`, `"512 KiB"`, `"16MiB"`, `"2GiB"`, `"100B"`).
//!
//! Only the parsing lives here; the range a given key allows is checked by the resolver.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A number of bytes, as written in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ByteSize(pub(crate) u64);

/// The units a size string may end with, and their multipliers.
const UNITS: [(&str, u64); 4] = [
    ("GiB", 1 << 30),
    ("MiB", 1 << 20),
    ("KiB", 1 << 10),
    ("B", 1),
];

impl ByteSize {
    /// Parses `"<integer>[ ]<unit>"` or a bare `"<integer>"`.
    pub(crate) fn parse(text: &str) -> Result<ByteSize, String> {
        let trimmed = text.trim();
        let (number, multiplier) = UNITS
            .iter()
            .find_map(|(unit, multiplier)| {
                trimmed
                    .strip_suffix(unit)
                    .map(|number| (number.trim_end(), *multiplier))
            })
            .unwrap_or((trimmed, 1));
        let invalid = || {
            format!(
                "invalid size {text:?}: expected a number of bytes, optionally followed by \
                 B, KiB, MiB or GiB (for example \"1MiB\")"
            )
        };
        let number: u64 = number.parse().map_err(|_| invalid())?;
        number
            .checked_mul(multiplier)
            .map(ByteSize)
            .ok_or_else(|| format!("size {text:?} is too large"))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ByteSizeVisitor)
    }
}

/// Accepts an integer or a size string.
struct ByteSizeVisitor;

impl Visitor<'_> for ByteSizeVisitor {
    type Value = ByteSize;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a number of bytes or a size such as \"1MiB\"")
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<ByteSize, E> {
        Ok(ByteSize(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<ByteSize, E> {
        u64::try_from(value)
            .map(ByteSize)
            .map_err(|_| E::custom(format!("a size cannot be negative, got {value}")))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<ByteSize, E> {
        ByteSize::parse(value).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_integers_and_binary_units() {
        assert_eq!(ByteSize::parse("1024"), Ok(ByteSize(1024)));
        assert_eq!(ByteSize::parse("100B"), Ok(ByteSize(100)));
        assert_eq!(ByteSize::parse("1KiB"), Ok(ByteSize(1024)));
        assert_eq!(ByteSize::parse("1MiB"), Ok(ByteSize(1024 * 1024)));
        assert_eq!(ByteSize::parse(" 16 MiB "), Ok(ByteSize(16 * 1024 * 1024)));
        assert_eq!(ByteSize::parse("2GiB"), Ok(ByteSize(2 << 30)));
    }

    #[test]
    fn rejects_unknown_units_and_overflow() {
        assert!(ByteSize::parse("1MB").is_err_and(|e| e.contains("MiB")));
        assert!(ByteSize::parse("-1").is_err());
        assert!(ByteSize::parse("").is_err());
        assert!(ByteSize::parse("1.5MiB").is_err());
        assert!(ByteSize::parse("18446744073709551615GiB").is_err_and(|e| e.contains("too large")));
    }

    #[derive(serde::Deserialize)]
    struct Holder {
        size: ByteSize,
    }

    #[test]
    fn deserializes_from_toml_integers_and_strings() {
        let from_int: Holder = toml::from_str("size = 4096").unwrap();
        assert_eq!(from_int.size, ByteSize(4096));
        let from_str: Holder = toml::from_str("size = \"4KiB\"").unwrap();
        assert_eq!(from_str.size, ByteSize(4096));
        let negative = toml::from_str::<Holder>("size = -4").err().unwrap();
        assert!(negative.to_string().contains("negative"), "{negative}");
        let wrong = toml::from_str::<Holder>("size = true").err().unwrap();
        assert!(wrong.to_string().contains("size such as"), "{wrong}");
    }
}
