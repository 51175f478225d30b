//! [`Incarnation`]: which run of a node this is.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

/// A node's run: taken from the wall clock (microseconds since the Unix epoch) when the node
/// starts, so a restarted node has a larger one than before and its peers drop the routes of
/// the old run. A node whose clock stepped back across a restart would look older than its
/// previous run: its peers refuse it until the clock passes the old value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Incarnation(u64);

impl Incarnation {
    /// The incarnation of a run starting now.
    #[must_use]
    pub fn now() -> Self {
        let micros = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(1, |since| {
                u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
            });
        Incarnation(micros.max(1))
    }

    /// The incarnation a peer sent (0 stands for none).
    #[must_use]
    pub fn from_wire(value: u64) -> Self {
        Incarnation(value)
    }

    /// The number sent to peers.
    #[must_use]
    pub fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for Incarnation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
