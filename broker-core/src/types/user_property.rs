//! User properties (MQTT 5.0 §3.1.2.11.8 and others).

use super::MqttString;

/// A User Property: a UTF-8 String Pair. It may appear any number of times, and the order
/// of user properties is kept ([MQTT-3.3.2-18] for PUBLISH).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserProperty {
    /// The name.
    pub key: MqttString,
    /// The value.
    pub value: MqttString,
}

impl UserProperty {
    /// A property from a name and a value.
    #[must_use]
    pub fn new(key: MqttString, value: MqttString) -> Self {
        UserProperty { key, value }
    }
}
