//! Topic filters: what a SUBSCRIBE or UNSUBSCRIBE names.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use bytestring::ByteString;

use super::mqtt_string::check_str;
use crate::codec::Violation;

/// The prefix of a shared subscription's filter (MQTT 5.0 §4.8.2).
const SHARE_PREFIX: &str = "$share/";

/// A topic filter, possibly a shared subscription `$share/{ShareName}/{filter}`.
///
/// - at least one character ([MQTT-4.7.3-1]), at most 65,535 bytes, no U+0000;
/// - `#` only on its own as the last level ([MQTT-4.7.1-1]);
/// - `+` only as a whole level ([MQTT-4.7.1-2]);
/// - a share name of at least one character ([MQTT-4.8.2-1]) without `+` or `#`, followed
///   by `/` and a filter ([MQTT-4.8.2-2]).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicFilter(ByteString);

impl TopicFilter {
    /// Validates a topic filter.
    pub fn new(value: impl Into<ByteString>) -> Result<Self, Violation> {
        let value = value.into();
        check_str(&value)?;
        check_filter(&value)?;
        Ok(TopicFilter(value))
    }

    /// Validates a filter read from the wire without copying it.
    pub(crate) fn from_wire(bytes: Bytes) -> Result<Self, Violation> {
        let value = ByteString::try_from(bytes).map_err(|_| Violation::InvalidUtf8)?;
        check_filter(&value)?;
        Ok(TopicFilter(value))
    }

    /// The filter as written, including any `$share/{ShareName}/` prefix.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the filter holds a control character (U+0001 to U+001F, U+007F to U+009F),
    /// which a string SHOULD NOT hold (MQTT 5.0 §1.5.4, 3.1.1 §1.5.3).
    #[must_use]
    pub fn has_control_characters(&self) -> bool {
        super::has_control_character(self.as_str())
    }

    /// The same filter in an allocation of its own. A filter decoded from the wire shares
    /// the receive buffer of its SUBSCRIBE, which it would keep alive as long as the
    /// subscription lives.
    #[must_use]
    pub fn detached(&self) -> TopicFilter {
        TopicFilter(ByteString::from(self.as_str().to_owned()))
    }

    /// The underlying shared buffer.
    #[must_use]
    pub fn as_byte_string(&self) -> &ByteString {
        &self.0
    }

    /// The share name of a shared subscription, `None` for an ordinary filter.
    #[must_use]
    pub fn share_name(&self) -> Option<&str> {
        split_shared(&self.0).map(|(group, _)| group)
    }

    /// Whether this is a shared subscription.
    #[must_use]
    pub fn is_shared(&self) -> bool {
        self.share_name().is_some()
    }

    /// The filter that topics are matched against: for a shared subscription the part after
    /// `$share/{ShareName}/`, otherwise the whole filter.
    #[must_use]
    pub fn matching_filter(&self) -> &str {
        split_shared(&self.0).map_or(&self.0, |(_, filter)| filter)
    }

    /// Whether the matching filter holds a `+` or `#` wildcard.
    #[must_use]
    pub fn has_wildcards(&self) -> bool {
        self.matching_filter()
            .bytes()
            .any(|b| b == b'+' || b == b'#')
    }
}

/// Splits `$share/group/filter` into `(group, filter)`. Only called on validated filters.
fn split_shared(value: &str) -> Option<(&str, &str)> {
    value.strip_prefix(SHARE_PREFIX)?.split_once('/')
}

fn check_filter(value: &str) -> Result<(), Violation> {
    if value.is_empty() {
        return Err(Violation::EmptyTopic);
    }
    let filter = match value.strip_prefix(SHARE_PREFIX) {
        Some(rest) => {
            let (group, filter) = rest.split_once('/').ok_or(Violation::SharedFilterMissing)?;
            if group.contains('\0') {
                return Err(Violation::NullCharacter);
            }
            if group.is_empty() {
                return Err(Violation::EmptyShareName);
            }
            if group.contains(['+', '#']) {
                return Err(Violation::InvalidShareName);
            }
            if filter.is_empty() {
                return Err(Violation::SharedFilterMissing);
            }
            filter
        }
        None => value,
    };
    check_levels(filter.as_bytes())
}

/// One pass over the filter: a wildcard must start its level, `+` must end it, `#` must end
/// the filter, and no byte may be U+0000.
fn check_levels(filter: &[u8]) -> Result<(), Violation> {
    let mut level_start = 0;
    for (i, &byte) in filter.iter().enumerate() {
        match byte {
            b'/' => level_start = i + 1,
            b'+' if i != level_start || filter.get(i + 1).is_some_and(|&next| next != b'/') => {
                return Err(Violation::SingleLevelWildcardNotWholeLevel);
            }
            b'#' if i != level_start || i + 1 != filter.len() => {
                return Err(Violation::MultiLevelWildcardNotLast);
            }
            0 => return Err(Violation::NullCharacter),
            _ => {}
        }
    }
    Ok(())
}

impl TryFrom<&str> for TopicFilter {
    type Error = Violation;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        TopicFilter::new(value)
    }
}

impl Deref for TopicFilter {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TopicFilter({:?})", self.as_str())
    }
}

impl fmt::Display for TopicFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_detached_filter_no_longer_shares_the_receive_buffer() {
        let buffer = Bytes::from_static(b"\x00\x05a/b/#rest of the packet");
        let wire = TopicFilter::from_wire(buffer.slice(2..7)).unwrap();
        let detached = wire.detached();
        assert_eq!(detached, wire);
        assert_eq!(detached.as_str(), "a/b/#");
        let inside = buffer.as_ptr_range();
        assert!(inside.contains(&wire.as_str().as_ptr()));
        assert!(!inside.contains(&detached.as_str().as_ptr()));
    }

    #[test]
    fn valid_filters() {
        for ok in [
            "#",
            "+",
            "sport/#",
            "sport/+/player1",
            "+/+",
            "/+",
            "sport/tennis/#",
            "$SYS/#",
            "a//b",
            "+/tennis/#",
        ] {
            assert!(TopicFilter::new(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn hash_not_last_is_rejected_mqtt_4_7_1_1() {
        for bad in [
            "sport/tennis#",
            "sport/tennis/#/ranking",
            "#/a",
            "a/#b",
            "##",
        ] {
            assert_eq!(
                TopicFilter::new(bad),
                Err(Violation::MultiLevelWildcardNotLast),
                "{bad}"
            );
        }
    }

    #[test]
    fn plus_not_whole_level_is_rejected_mqtt_4_7_1_2() {
        for bad in ["sport+", "sport/+tennis", "a/b+/c", "++"] {
            assert_eq!(
                TopicFilter::new(bad),
                Err(Violation::SingleLevelWildcardNotWholeLevel),
                "{bad}"
            );
        }
    }

    #[test]
    fn empty_is_rejected_mqtt_4_7_3_1() {
        assert_eq!(TopicFilter::new(""), Err(Violation::EmptyTopic));
    }

    #[test]
    fn null_is_rejected_anywhere_mqtt_4_7_3_2() {
        for bad in ["a\0", "\0/#", "$share/g\0/a", "$share/g/a\0"] {
            let wire = Bytes::copy_from_slice(bad.as_bytes());
            assert_eq!(
                TopicFilter::from_wire(wire),
                Err(Violation::NullCharacter),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn shared_subscriptions_mqtt_4_8_2() {
        let f = TopicFilter::new("$share/group/sensors/+/temp").unwrap();
        assert_eq!(f.share_name(), Some("group"));
        assert_eq!(f.matching_filter(), "sensors/+/temp");
        assert!(f.has_wildcards());
        let f = TopicFilter::new("$share/g/#").unwrap();
        assert_eq!(f.matching_filter(), "#");
        // [MQTT-4.8.2-1]: the share name is not empty.
        assert_eq!(
            TopicFilter::new("$share//a"),
            Err(Violation::EmptyShareName)
        );
        // [MQTT-4.8.2-2]: the share name holds no `+` or `#`.
        for bad in ["$share/+/a", "$share/#/a", "$share/g+/a"] {
            assert_eq!(
                TopicFilter::new(bad),
                Err(Violation::InvalidShareName),
                "{bad}"
            );
        }
        // [MQTT-4.8.2-2]: the share name is followed by `/` and a filter.
        for bad in ["$share/group", "$share/group/"] {
            assert_eq!(
                TopicFilter::new(bad),
                Err(Violation::SharedFilterMissing),
                "{bad}"
            );
        }
        // The matching filter follows the ordinary rules.
        assert_eq!(
            TopicFilter::new("$share/g/a/#/b"),
            Err(Violation::MultiLevelWildcardNotLast)
        );
    }

    #[test]
    fn dollar_topics_and_plain_share_word_are_ordinary_filters() {
        let f = TopicFilter::new("$share").unwrap();
        assert!(!f.is_shared());
        assert_eq!(
            TopicFilter::new("$SYS/broker/#").unwrap().share_name(),
            None
        );
    }
}
