//! The Payload Format Indicator (MQTT 5.0 §3.3.2.3.2).

use crate::codec::{PropertyId, Violation};

/// What a message's payload is: unspecified bytes, or UTF-8 character data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum PayloadFormat {
    /// 0: unspecified bytes (the default when the property is absent).
    #[default]
    Unspecified = 0,
    /// 1: UTF-8 Encoded Character Data ([MQTT-3.3.2-4]: the receiver may check it).
    Utf8 = 1,
}

impl TryFrom<u8> for PayloadFormat {
    type Error = Violation;

    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(PayloadFormat::Unspecified),
            1 => Ok(PayloadFormat::Utf8),
            _ => Err(Violation::InvalidPropertyValue(
                PropertyId::PayloadFormatIndicator,
            )),
        }
    }
}
