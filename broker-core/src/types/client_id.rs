//! Client identifiers.

use std::fmt;
use std::ops::Deref;
use std::sync::Arc;

use super::mqtt_string::check_str;
use super::MqttString;
use crate::codec::Violation;

/// A client identifier as carried by CONNECT: any UTF-8 Encoded String, possibly empty.
///
/// Whether an empty or long identifier is accepted is the broker's decision, not the codec's
/// (MQTT 5.0 §3.1.3.1): `is_empty()` and [`ClientId::is_conservative`] help it decide.
///
/// Its own allocation, not a slice of the packet it came in: a session keeps its identifier
/// as long as it lives, in several places (the registry's key, the session, the parked
/// connection), so one shared `Arc<str>` (16 bytes a copy, one allocation) costs least, and
/// no packet buffer stays alive for it.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ClientId(Arc<str>);

impl ClientId {
    /// Validates a client identifier.
    pub fn new(value: &str) -> Result<Self, Violation> {
        check_str(value)?;
        Ok(ClientId(Arc::from(value)))
    }

    /// The identifier.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the identifier holds a control character (U+0001 to U+001F, U+007F to U+009F),
    /// which a string SHOULD NOT hold (MQTT 5.0 §1.5.4, 3.1.1 §1.5.3).
    #[must_use]
    pub fn has_control_characters(&self) -> bool {
        super::has_control_character(self.as_str())
    }

    /// Whether the identifier is 1 to 23 bytes of `0-9a-zA-Z`: the form every server must
    /// accept ([MQTT-3.1.3-5]), and the only form MQTT 3.1 allows.
    #[must_use]
    pub fn is_conservative(&self) -> bool {
        let s = self.as_str();
        (1..=23).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_alphanumeric())
    }
}

/// A copy of the string's text: a valid string is a valid identifier.
impl From<MqttString> for ClientId {
    fn from(value: MqttString) -> Self {
        ClientId(Arc::from(value.as_str()))
    }
}

impl Deref for ClientId {
    type Target = str;

    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Debug for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ClientId({:?})", self.as_str())
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conservative_form() {
        assert!(ClientId::new("abc123XYZ").unwrap().is_conservative());
        assert!(!ClientId::new("").unwrap().is_conservative());
        assert!(!ClientId::new("has-dash").unwrap().is_conservative());
        assert!(!ClientId::new(&"a".repeat(24)).unwrap().is_conservative());
    }
}
