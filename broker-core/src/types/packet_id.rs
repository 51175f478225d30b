//! Packet identifiers.

use std::fmt;
use std::num::NonZeroU16;

use crate::codec::Violation;

/// A packet identifier: a non-zero 16-bit integer ([MQTT-2.2.1-3]; 3.1.1: [MQTT-2.3.1-1]).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PacketId(NonZeroU16);

impl PacketId {
    /// The smallest packet identifier, 1.
    pub const MIN: PacketId = PacketId(NonZeroU16::MIN);
    /// The largest packet identifier, 65535.
    pub const MAX: PacketId = PacketId(NonZeroU16::MAX);

    /// Parses a wire value; `0` is rejected.
    pub fn new(value: u16) -> Result<Self, Violation> {
        NonZeroU16::new(value)
            .map(PacketId)
            .ok_or(Violation::ZeroPacketId)
    }

    /// The identifier as sent on the wire.
    #[must_use]
    pub fn get(self) -> u16 {
        self.0.get()
    }

    /// The identifier after this one, wrapping from 65535 to 1.
    #[must_use]
    pub fn next(self) -> PacketId {
        PacketId(self.0.checked_add(1).unwrap_or(NonZeroU16::MIN))
    }
}

impl From<NonZeroU16> for PacketId {
    fn from(value: NonZeroU16) -> Self {
        PacketId(value)
    }
}

impl fmt::Debug for PacketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PacketId({})", self.0)
    }
}

impl fmt::Display for PacketId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_is_rejected_mqtt_2_2_1_3() {
        assert_eq!(PacketId::new(0), Err(Violation::ZeroPacketId));
    }

    #[test]
    fn next_wraps_to_one() {
        assert_eq!(PacketId::MAX.next(), PacketId::MIN);
        assert_eq!(PacketId::new(7).unwrap().next().get(), 8);
    }
}
