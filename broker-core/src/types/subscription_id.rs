//! Subscription identifiers (MQTT 5.0).

use std::num::NonZeroU32;

use crate::codec::Violation;

/// A subscription identifier: 1 to 268,435,455 (MQTT 5.0 §3.8.2.1.2; 0 is a Protocol Error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscriptionId(NonZeroU32);

impl SubscriptionId {
    /// The largest value a Variable Byte Integer can carry.
    pub const MAX: u32 = 268_435_455;

    /// Parses a value; `0` and values above [`SubscriptionId::MAX`] are rejected.
    pub fn new(value: u32) -> Result<Self, Violation> {
        match NonZeroU32::new(value) {
            Some(v) if value <= Self::MAX => Ok(SubscriptionId(v)),
            _ => Err(Violation::InvalidSubscriptionId),
        }
    }

    /// The identifier's value.
    #[must_use]
    pub fn get(self) -> u32 {
        self.0.get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_and_too_large_are_rejected() {
        assert!(SubscriptionId::new(0).is_err());
        assert!(SubscriptionId::new(SubscriptionId::MAX + 1).is_err());
        assert_eq!(
            SubscriptionId::new(SubscriptionId::MAX).unwrap().get(),
            SubscriptionId::MAX
        );
    }
}
