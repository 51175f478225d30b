//! UTF-8 Encoded Strings as MQTT defines them (MQTT 5.0 §1.5.4, 3.1.1 §1.5.3).

use std::fmt;
use std::ops::Deref;

use bytes::Bytes;
use bytestring::ByteString;

use crate::codec::Violation;

/// The longest string the two-byte length prefix can describe.
pub(crate) const MAX_STRING_LEN: usize = u16::MAX as usize;

/// A UTF-8 Encoded String: well-formed UTF-8 ([MQTT-1.5.4-1]), no U+0000 ([MQTT-1.5.4-2]),
/// at most 65,535 bytes.
///
/// Backed by [`ByteString`], so a string decoded from a packet shares the packet's buffer
/// instead of being copied.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct MqttString(ByteString);

impl MqttString {
    /// Validates a string.
    pub fn new(value: impl Into<ByteString>) -> Result<Self, Violation> {
        let value = value.into();
        check_str(&value)?;
        Ok(MqttString(value))
    }

    /// A string known to be valid at compile time. Panics in const evaluation otherwise.
    #[must_use]
    #[allow(clippy::indexing_slicing)] // `i < bytes.len()` is the loop condition.
    pub const fn from_static(value: &'static str) -> Self {
        assert!(
            value.len() <= MAX_STRING_LEN,
            "string longer than 65,535 bytes"
        );
        let bytes = value.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            assert!(bytes[i] != 0, "string holds U+0000");
            i += 1;
        }
        MqttString(ByteString::from_static(value))
    }

    /// Validates bytes read from the wire without copying them.
    pub(crate) fn from_wire(bytes: Bytes) -> Result<Self, Violation> {
        let value = ByteString::try_from(bytes).map_err(|_| Violation::InvalidUtf8)?;
        if value.as_bytes().contains(&0) {
            return Err(Violation::NullCharacter);
        }
        Ok(MqttString(value))
    }

    /// The string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the string holds a control character (U+0001 to U+001F, U+007F to U+009F),
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

    pub(crate) fn into_byte_string(self) -> ByteString {
        self.0
    }
}

/// The checks every UTF-8 Encoded String passes; `&str` is already well-formed UTF-8.
pub(crate) fn check_str(value: &str) -> Result<(), Violation> {
    if value.len() > MAX_STRING_LEN {
        return Err(Violation::StringTooLong);
    }
    if value.as_bytes().contains(&0) {
        return Err(Violation::NullCharacter);
    }
    Ok(())
}

impl Deref for MqttString {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for MqttString {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<&str> for MqttString {
    type Error = Violation;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        MqttString::new(value)
    }
}

impl TryFrom<String> for MqttString {
    type Error = Violation;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        MqttString::new(value)
    }
}

impl fmt::Debug for MqttString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for MqttString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ill_formed_utf8_is_rejected_mqtt_1_5_4_1() {
        // An encoded surrogate (U+D800) and a lone continuation byte.
        for bad in [&b"\xed\xa0\x80"[..], b"a\x80b", b"\xff"] {
            assert_eq!(
                MqttString::from_wire(Bytes::copy_from_slice(bad)),
                Err(Violation::InvalidUtf8)
            );
        }
    }

    #[test]
    fn null_character_is_rejected_mqtt_1_5_4_2() {
        assert_eq!(MqttString::new("a\0b"), Err(Violation::NullCharacter));
        assert_eq!(
            MqttString::from_wire(Bytes::from_static(b"a\0")),
            Err(Violation::NullCharacter)
        );
    }

    #[test]
    fn byte_order_mark_is_kept_mqtt_1_5_4_3() {
        let s = MqttString::from_wire(Bytes::from_static("\u{feff}x".as_bytes())).unwrap();
        assert_eq!(s.as_str(), "\u{feff}x");
    }

    #[test]
    fn too_long_is_rejected() {
        let long = "a".repeat(MAX_STRING_LEN + 1);
        assert_eq!(MqttString::new(long), Err(Violation::StringTooLong));
        assert!(MqttString::new("a".repeat(MAX_STRING_LEN)).is_ok());
    }
}
