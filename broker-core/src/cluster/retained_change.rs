//! [`RetainedChange`] and [`RetainedStamp`]: a change of one topic's retained message, as
//! nodes tell each other, and the time that orders it cluster-wide.

use std::time::{SystemTime, UNIX_EPOCH};

use super::PeerName;
use crate::session::Message;
use crate::types::TopicName;

/// When a retained change was made, cluster-wide: the wall-clock time in Unix milliseconds,
/// then the name of the node that made it. Stamps order changes last-writer-wins: of two
/// changes of one topic, the one with the larger stamp stands (a tie of times goes to the
/// larger node name).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RetainedStamp {
    /// Unix milliseconds; compared first.
    unix_ms: u64,
    /// The node that made the change; breaks ties.
    node: PeerName,
}

impl RetainedStamp {
    /// The change `node` made at `unix_ms`.
    #[must_use]
    pub fn new(unix_ms: u64, node: PeerName) -> Self {
        RetainedStamp { unix_ms, node }
    }

    /// A change `node` makes now, after `held` (the stamp this node holds for the topic, if
    /// any): the wall clock, or one millisecond past `held` when the clock is behind it, so a
    /// change made after another one seen here always wins over it.
    #[must_use]
    pub fn next(node: PeerName, held: Option<&RetainedStamp>) -> Self {
        let wall = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let after = held.map_or(0, |h| h.unix_ms.saturating_add(1));
        RetainedStamp {
            unix_ms: wall.max(after),
            node,
        }
    }

    /// The time, Unix milliseconds.
    #[must_use]
    pub fn unix_ms(&self) -> u64 {
        self.unix_ms
    }

    /// The node that made the change.
    #[must_use]
    pub fn node(&self) -> &PeerName {
        &self.node
    }
}

/// A change of one topic's retained message: set to a message, or cleared (a PUBLISH with
/// RETAIN and an empty payload, MQTT 5.0 [MQTT-3.3.1-10]), stamped with when and where it
/// was made.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RetainedChange {
    /// The topic.
    pub topic: TopicName,
    /// The message now retained, `None` for a clear.
    pub message: Option<Message>,
    /// When and where the change was made.
    pub stamp: RetainedStamp,
}

impl RetainedChange {
    /// `topic`'s retained message set to `message` (`None`: cleared) at `stamp`. A message
    /// is kept under `topic` whatever its own topic says.
    #[must_use]
    pub fn new(topic: TopicName, message: Option<Message>, stamp: RetainedStamp) -> Self {
        RetainedChange {
            topic,
            message,
            stamp,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stamps_order_by_time_then_node() {
        let a = |ms| RetainedStamp::new(ms, PeerName::new("a"));
        let b = |ms| RetainedStamp::new(ms, PeerName::new("b"));
        assert!(a(2) > b(1));
        assert!(b(1) > a(1), "a tie goes to the larger name");
        assert_eq!(a(1), a(1));
    }

    #[test]
    fn a_new_stamp_follows_the_one_held() {
        let far = RetainedStamp::new(u64::MAX / 2, PeerName::new("z"));
        let next = RetainedStamp::next(PeerName::new("a"), Some(&far));
        assert_eq!(next.unix_ms(), u64::MAX / 2 + 1);
        assert!(next > far);
        let now = RetainedStamp::next(PeerName::new("a"), None);
        assert!(now.unix_ms() > 1_700_000_000_000, "the wall clock");
    }
}
