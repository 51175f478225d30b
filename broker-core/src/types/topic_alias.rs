//! Topic aliases (MQTT 5.0).

use std::num::NonZeroU16;

use crate::codec::Violation;

/// A topic alias: a non-zero 16-bit integer ([MQTT-3.3.2-8]: 0 is not permitted).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TopicAlias(NonZeroU16);

impl TopicAlias {
    /// Parses a wire value; `0` is rejected.
    pub fn new(value: u16) -> Result<Self, Violation> {
        NonZeroU16::new(value)
            .map(TopicAlias)
            .ok_or(Violation::ZeroTopicAlias)
    }

    /// The alias as sent on the wire.
    #[must_use]
    pub fn get(self) -> u16 {
        self.0.get()
    }
}
