//! Topic names: the topic of a PUBLISH.

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use bytestring::ByteString;

use super::mqtt_string::check_str;
use super::MqttString;
use crate::codec::Violation;

/// A topic name: a non-empty UTF-8 Encoded String without wildcards.
///
/// - at least one character ([MQTT-4.7.3-1]), at most 65,535 bytes ([MQTT-4.7.3-3]);
/// - no `+` or `#` ([MQTT-3.3.2-2], [MQTT-4.7.0-1]);
/// - no U+0000 ([MQTT-4.7.3-2]).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicName(ByteString);

impl TopicName {
    /// Validates a topic name.
    pub fn new(value: impl Into<ByteString>) -> Result<Self, Violation> {
        let value = value.into();
        check_str(&value)?;
        check_name(value.as_bytes())?;
        Ok(TopicName(value))
    }

    /// Validates a topic name read from the wire without copying it.
    pub(crate) fn from_wire(bytes: Bytes) -> Result<Self, Violation> {
        // One pass for the topic rules (which also rejects U+0000), one for UTF-8.
        check_name(&bytes)?;
        ByteString::try_from(bytes)
            .map(TopicName)
            .map_err(|_| Violation::InvalidUtf8)
    }

    /// The topic name.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the topic name holds a control character (U+0001 to U+001F, U+007F to U+009F),
    /// which a string SHOULD NOT hold (MQTT 5.0 §1.5.4, 3.1.1 §1.5.3).
    #[must_use]
    pub fn has_control_characters(&self) -> bool {
        super::has_control_character(self.as_str())
    }

    /// The underlying shared buffer.
    #[must_use]
    pub fn as_byte_string(&self) -> &ByteString {
        &self.0
    }

    /// Whether the topic starts with `$`: such topics are not matched by filters that start
    /// with a wildcard ([MQTT-4.7.2-1]).
    #[must_use]
    pub fn is_dollar(&self) -> bool {
        self.0.starts_with('$')
    }

    /// The topic levels, split on `/`.
    pub fn levels(&self) -> std::str::Split<'_, char> {
        self.0.split('/')
    }
}

fn check_name(bytes: &[u8]) -> Result<(), Violation> {
    if bytes.is_empty() {
        return Err(Violation::EmptyTopic);
    }
    // The hot path of every PUBLISH: one vectorised scan for the three forbidden bytes.
    match memchr::memchr3(b'+', b'#', 0, bytes).and_then(|i| bytes.get(i)) {
        Some(0) => Err(Violation::NullCharacter),
        Some(_) => Err(Violation::WildcardInTopicName),
        None => Ok(()),
    }
}

impl TryFrom<&str> for TopicName {
    type Error = Violation;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        TopicName::new(value)
    }
}

impl TryFrom<MqttString> for TopicName {
    type Error = Violation;

    fn try_from(value: MqttString) -> Result<Self, Self::Error> {
        TopicName::new(value.into_byte_string())
    }
}

impl Deref for TopicName {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TopicName({:?})", self.as_str())
    }
}

impl fmt::Display for TopicName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_are_rejected_mqtt_3_3_2_2() {
        for bad in ["a/+", "#", "a/b#", "+"] {
            assert_eq!(
                TopicName::new(bad),
                Err(Violation::WildcardInTopicName),
                "{bad}"
            );
        }
    }

    #[test]
    fn empty_is_rejected_mqtt_4_7_3_1() {
        assert_eq!(TopicName::new(""), Err(Violation::EmptyTopic));
    }

    #[test]
    fn null_is_rejected_mqtt_4_7_3_2() {
        assert_eq!(TopicName::new("a\0"), Err(Violation::NullCharacter));
        assert_eq!(
            TopicName::from_wire(Bytes::from_static(b"a\0")),
            Err(Violation::NullCharacter)
        );
    }

    #[test]
    fn ordinary_names_are_accepted() {
        for ok in [
            "/",
            "a//b",
            "$SYS/broker",
            " spaced ",
            "sport/tennis/player1",
        ] {
            assert_eq!(TopicName::new(ok).unwrap().as_str(), ok);
        }
        assert!(TopicName::new("$SYS/x").unwrap().is_dollar());
        assert_eq!(TopicName::new("a//b").unwrap().levels().count(), 3);
    }
}
