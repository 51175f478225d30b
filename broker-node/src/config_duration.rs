//! A duration in the config file: a plain integer in the unit the key's name says
//! (`queue_full_wait_ms = 1000`, `connect_timeout = 10` in seconds) or a string with units
//! (`"500ms"`, `"10s"`, `"2m"`, `"1h"`, `"7d"`, or several together: `"1m30s"`).
//!
//! The value is kept in the key's unit ([`Millis`] or [`Seconds`]), so the resolver checks
//! ranges as before; a string that is not a whole number of that unit (`"1500ms"` for a key in
//! seconds) is refused rather than rounded.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, Visitor};

/// A duration counted in units of `UNIT_MS` milliseconds, as written in the config file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DurationIn<const UNIT_MS: u64>(pub(crate) u64);

/// A duration whose bare integers are milliseconds (keys ending in `_ms`).
pub(crate) type Millis = DurationIn<1>;

/// A duration whose bare integers are seconds.
pub(crate) type Seconds = DurationIn<1000>;

/// The units a duration string may use, with their length in milliseconds. `ms` comes
/// before `m` so that it is matched first.
const UNITS: [(&str, u64); 5] = [
    ("ms", 1),
    ("s", 1000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
];

/// The hint every refused value ends with.
const HINT: &str = "use 500ms, 10s, 2m";

/// Parses a duration string with units into milliseconds: one or more `<integer><unit>`
/// parts, spaces allowed between them (`"1m 30s"`). `None` when `text` is a bare integer
/// (its unit is the key's).
///
/// # Errors
///
/// A message naming `text` when it is neither a bare integer nor a duration, or too long.
pub(crate) fn parse_millis(text: &str) -> Result<Option<u64>, String> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(None);
    }
    let invalid = || format!("{text:?} is not a duration ({HINT})");
    let mut rest = trimmed;
    let mut total: u64 = 0;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (number, after) = rest.split_at(digits);
        let number: u64 = number.parse().map_err(|_| invalid())?;
        let after = after.trim_start();
        let (unit, ms) = UNITS
            .iter()
            .find(|(unit, _)| {
                after
                    .strip_prefix(unit)
                    .is_some_and(|next| !next.starts_with(|c: char| c.is_ascii_alphabetic()))
            })
            .ok_or_else(invalid)?;
        total = number
            .checked_mul(*ms)
            .and_then(|part| total.checked_add(part))
            .ok_or_else(|| format!("{text:?} is too long a duration"))?;
        rest = after.get(unit.len()..).unwrap_or_default().trim_start();
    }
    Ok(Some(total))
}

impl<const UNIT_MS: u64> DurationIn<UNIT_MS> {
    /// The unit's name in messages.
    fn unit_name() -> String {
        match UNIT_MS {
            1 => "milliseconds".to_owned(),
            1000 => "seconds".to_owned(),
            n => format!("units of {n} ms"),
        }
    }

    /// Parses a bare integer (in this unit) or a duration string.
    ///
    /// # Errors
    ///
    /// Not a duration, too long, or not a whole number of this unit.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        match parse_millis(text)? {
            None => text
                .trim()
                .parse()
                .map(DurationIn)
                .map_err(|_| format!("{text:?} is too long a duration")),
            Some(ms) if ms % UNIT_MS == 0 => Ok(DurationIn(ms / UNIT_MS)),
            Some(_) => Err(format!(
                "{text:?} is not a whole number of {} ({HINT})",
                Self::unit_name()
            )),
        }
    }
}

impl<'de, const UNIT_MS: u64> Deserialize<'de> for DurationIn<UNIT_MS> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DurationVisitor::<UNIT_MS>)
    }
}

/// Accepts an integer or a duration string.
struct DurationVisitor<const UNIT_MS: u64>;

impl<const UNIT_MS: u64> Visitor<'_> for DurationVisitor<UNIT_MS> {
    type Value = DurationIn<UNIT_MS>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            formatter,
            "a number of {} or a duration such as \"500ms\", \"10s\" or \"2m\"",
            DurationIn::<UNIT_MS>::unit_name()
        )
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(DurationIn(value))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        u64::try_from(value)
            .map(DurationIn)
            .map_err(|_| E::custom(format!("a duration cannot be negative, got {value}")))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        DurationIn::parse(value).map_err(E::custom)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn parses_each_unit_and_combinations() {
        assert_eq!(parse_millis("500ms"), Ok(Some(500)));
        assert_eq!(parse_millis("10s"), Ok(Some(10_000)));
        assert_eq!(parse_millis("2m"), Ok(Some(120_000)));
        assert_eq!(parse_millis("1h"), Ok(Some(3_600_000)));
        assert_eq!(parse_millis("7d"), Ok(Some(604_800_000)));
        assert_eq!(parse_millis(" 1m 30s "), Ok(Some(90_000)));
        assert_eq!(parse_millis("1h2m3s4ms"), Ok(Some(3_723_004)));
        assert_eq!(parse_millis("10 s"), Ok(Some(10_000)));
        assert_eq!(parse_millis("0s"), Ok(Some(0)));
        assert_eq!(parse_millis("42"), Ok(None));
    }

    #[test]
    fn refuses_what_is_not_a_duration() {
        for bad in [
            "",
            " ",
            "10 parsecs",
            "s",
            "1.5s",
            "-1s",
            "10sec",
            "1mss",
            "1x",
            "ms5",
        ] {
            let error = parse_millis(bad).err();
            assert_eq!(
                error,
                Some(format!("{bad:?} is not a duration (use 500ms, 10s, 2m)")),
                "{bad:?}"
            );
        }
        assert!(parse_millis("18446744073709551615d").is_err_and(|e| e.contains("too long")));
    }

    #[test]
    fn bare_integers_are_in_the_keys_unit_and_strings_convert_to_it() {
        assert_eq!(Millis::parse("250"), Ok(DurationIn(250)));
        assert_eq!(Millis::parse("2s"), Ok(DurationIn(2000)));
        assert_eq!(Seconds::parse("10"), Ok(DurationIn(10)));
        assert_eq!(Seconds::parse("2m"), Ok(DurationIn(120)));
        assert_eq!(Seconds::parse("7d"), Ok(DurationIn(604_800)));
        assert_eq!(
            Seconds::parse("1500ms"),
            Err("\"1500ms\" is not a whole number of seconds (use 500ms, 10s, 2m)".to_owned())
        );
        assert!(Seconds::parse("99999999999999999999").is_err_and(|e| e.contains("too long")));
    }

    #[derive(serde::Deserialize)]
    struct Holder {
        wait_ms: Millis,
        interval: Seconds,
    }

    #[test]
    fn deserializes_from_toml_integers_and_strings() -> Result<(), toml::de::Error> {
        let from_int: Holder = toml::from_str("wait_ms = 1000\ninterval = 10")?;
        assert_eq!(
            (from_int.wait_ms, from_int.interval),
            (DurationIn(1000), DurationIn(10))
        );
        let from_str: Holder = toml::from_str("wait_ms = \"1s\"\ninterval = \"1m\"")?;
        assert_eq!(
            (from_str.wait_ms, from_str.interval),
            (DurationIn(1000), DurationIn(60))
        );
        let negative = toml::from_str::<Holder>("wait_ms = -4\ninterval = 1")
            .err()
            .map(|e| e.to_string());
        assert!(negative.is_some_and(|e| e.contains("negative")));
        let wrong = toml::from_str::<Holder>("wait_ms = true\ninterval = 1")
            .err()
            .map(|e| e.to_string());
        assert!(wrong.is_some_and(|e| e.contains("number of milliseconds or a duration")));
        Ok(())
    }

    proptest! {
        #[test]
        fn any_sum_of_parts_parses_to_its_milliseconds(
            parts in proptest::collection::vec((0u64..100_000, 0usize..UNITS.len()), 1..5),
            spaced in any::<bool>(),
        ) {
            let mut text = String::new();
            let mut expected = 0u64;
            for (number, unit) in &parts {
                let (name, ms) = UNITS[*unit];
                text.push_str(&number.to_string());
                if spaced {
                    text.push(' ');
                }
                text.push_str(name);
                if spaced {
                    text.push(' ');
                }
                expected += number * ms;
            }
            prop_assert_eq!(parse_millis(&text), Ok(Some(expected)));
        }

        #[test]
        fn whole_seconds_round_trip_through_every_unit(seconds in 0u64..10_000_000) {
            prop_assert_eq!(Seconds::parse(&seconds.to_string()), Ok(DurationIn(seconds)));
            prop_assert_eq!(Seconds::parse(&format!("{seconds}s")), Ok(DurationIn(seconds)));
            prop_assert_eq!(
                Seconds::parse(&format!("{}ms", seconds * 1000)),
                Ok(DurationIn(seconds))
            );
            prop_assert_eq!(Millis::parse(&format!("{seconds}s")), Ok(DurationIn(seconds * 1000)));
        }

        #[test]
        fn never_panics(text in ".{0,20}") {
            let _ = Millis::parse(&text);
            let _ = Seconds::parse(&text);
        }
    }
}
