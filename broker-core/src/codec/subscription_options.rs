//! Subscription options (MQTT 5.0 §3.8.3.1; the requested QoS byte of 3.1.1 §3.8.3).

use super::Violation;
use crate::types::{ProtocolVersion, QoS};

/// When the retained messages of a new subscription are sent (MQTT 5.0 §3.8.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[repr(u8)]
pub enum RetainHandling {
    /// 0: send retained messages at the time of the subscribe.
    #[default]
    SendAtSubscribe = 0,
    /// 1: send them only if the subscription does not already exist.
    SendAtSubscribeIfNew = 1,
    /// 2: do not send them.
    DoNotSend = 2,
}

/// The options byte that follows each topic filter of a SUBSCRIBE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// Maximum QoS.
    pub qos: QoS,
    /// No Local: do not send the client its own messages (5.0).
    pub no_local: bool,
    /// Retain As Published: keep the RETAIN flag when forwarding (5.0).
    pub retain_as_published: bool,
    /// Retain Handling (5.0).
    pub retain_handling: RetainHandling,
}

impl SubscriptionOptions {
    /// Options asking for `qos` with every MQTT 5 option at its default.
    #[must_use]
    pub fn qos(qos: QoS) -> Self {
        SubscriptionOptions {
            qos,
            ..SubscriptionOptions::default()
        }
    }

    /// Parses the options byte. 3.x has only the two QoS bits; the other six are reserved
    /// ([MQTT-3-8.3-4]). 5.0 reserves bits 6 and 7 ([MQTT-3.8.3-5]).
    pub(crate) fn from_byte(byte: u8, version: ProtocolVersion) -> Result<Self, Violation> {
        let reserved = if version.is_v5() {
            0b1100_0000
        } else {
            0b1111_1100
        };
        if byte & reserved != 0 {
            return Err(Violation::SubscriptionOptionsReserved(byte));
        }
        let qos = QoS::try_from(byte & 0b11).map_err(|_| Violation::InvalidRequestedQoS)?;
        let retain_handling = match (byte >> 4) & 0b11 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendAtSubscribeIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(Violation::InvalidRetainHandling),
        };
        Ok(SubscriptionOptions {
            qos,
            no_local: byte & 0b0100 != 0,
            retain_as_published: byte & 0b1000 != 0,
            retain_handling,
        })
    }

    /// The options byte; 3.x gets the QoS bits only.
    pub(crate) fn to_byte(self, version: ProtocolVersion) -> u8 {
        let qos = u8::from(self.qos);
        if !version.is_v5() {
            return qos;
        }
        qos | u8::from(self.no_local) << 2
            | u8::from(self.retain_as_published) << 3
            | (self.retain_handling as u8) << 4
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v5_byte_round_trip() {
        let o = SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            no_local: true,
            retain_as_published: true,
            retain_handling: RetainHandling::DoNotSend,
        };
        assert_eq!(o.to_byte(ProtocolVersion::V5), 0b0010_1101);
        assert_eq!(
            SubscriptionOptions::from_byte(0b0010_1101, ProtocolVersion::V5),
            Ok(o)
        );
    }

    #[test]
    fn reserved_bits_mqtt_3_8_3_5() {
        assert!(SubscriptionOptions::from_byte(0x40, ProtocolVersion::V5).is_err());
        assert!(SubscriptionOptions::from_byte(0x04, ProtocolVersion::V3_1_1).is_err());
        assert_eq!(
            SubscriptionOptions::from_byte(0x30, ProtocolVersion::V5),
            Err(Violation::InvalidRetainHandling)
        );
        assert_eq!(
            SubscriptionOptions::from_byte(0x03, ProtocolVersion::V5),
            Err(Violation::InvalidRequestedQoS)
        );
    }
}
