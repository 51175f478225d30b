//! Quality of service levels.

use crate::codec::Violation;

/// The quality of service of a message or subscription (MQTT 5.0 §4.3, 3.1.1 §4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[repr(u8)]
pub enum QoS {
    /// QoS 0: at most once, fire and forget.
    #[default]
    AtMostOnce = 0,
    /// QoS 1: at least once, acknowledged by PUBACK.
    AtLeastOnce = 1,
    /// QoS 2: exactly once, the PUBREC / PUBREL / PUBCOMP exchange.
    ExactlyOnce = 2,
}

impl QoS {
    /// The lower of two levels: what a subscriber granted `self` receives of a message
    /// published at `other` (MQTT 5.0 §3.8.4, the QoS downgrade).
    #[must_use]
    pub fn min(self, other: QoS) -> QoS {
        if self <= other {
            self
        } else {
            other
        }
    }
}

impl TryFrom<u8> for QoS {
    type Error = Violation;

    /// Parses the two QoS bits. `3` is rejected ([MQTT-3.3.1-4]).
    fn try_from(value: u8) -> Result<Self, Self::Error> {
        match value {
            0 => Ok(QoS::AtMostOnce),
            1 => Ok(QoS::AtLeastOnce),
            2 => Ok(QoS::ExactlyOnce),
            _ => Err(Violation::InvalidQoS),
        }
    }
}

impl From<QoS> for u8 {
    fn from(qos: QoS) -> u8 {
        qos as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn qos_3_is_rejected_mqtt_3_3_1_4() {
        assert_eq!(QoS::try_from(3), Err(Violation::InvalidQoS));
        assert_eq!(QoS::try_from(2), Ok(QoS::ExactlyOnce));
    }

    #[test]
    fn min_is_the_downgrade() {
        assert_eq!(QoS::ExactlyOnce.min(QoS::AtLeastOnce), QoS::AtLeastOnce);
        assert_eq!(QoS::AtMostOnce.min(QoS::ExactlyOnce), QoS::AtMostOnce);
    }
}
