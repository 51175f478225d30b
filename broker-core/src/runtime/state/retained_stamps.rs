//! [`RetainedStamps`]: when each retained topic was last changed, cluster-wide, kept only by
//! a node that has peers. A set topic keeps its stamp while its message is retained; a
//! cleared topic keeps a tombstone (the clear's stamp) for [`TOMBSTONE_TTL`], and at most
//! [`TOMBSTONE_MAX`] of them, oldest dropped first. A peer's change older than the stamp held
//! is ignored; once a tombstone is gone, an older set of its topic is taken again (the window
//! documented in docs/cluster.md).
//!
//! Pure state, changed under the retained store's write lock.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

use crate::cluster::RetainedStamp;
use crate::types::TopicName;

/// How long a cleared topic's stamp is kept.
pub(crate) const TOMBSTONE_TTL: Duration = Duration::from_secs(600);
/// How many cleared topics' stamps are kept at most.
pub(crate) const TOMBSTONE_MAX: usize = 10_000;

/// One topic's last change.
#[derive(Debug, Clone)]
struct Entry {
    stamp: RetainedStamp,
    /// When it was cleared here; `None` while a message is retained.
    cleared: Option<Instant>,
}

/// The stamps of the retained topics and the recent clears.
#[derive(Debug)]
pub(crate) struct RetainedStamps {
    entries: HashMap<TopicName, Entry>,
    /// Clears, oldest first (an entry set again since is skipped when it comes out).
    tombstones: VecDeque<(TopicName, Instant)>,
    ttl: Duration,
    max: usize,
}

impl RetainedStamps {
    /// No stamps, tombstones kept for `ttl` and `max` at most.
    pub(crate) fn new(ttl: Duration, max: usize) -> Self {
        RetainedStamps {
            entries: HashMap::new(),
            tombstones: VecDeque::new(),
            ttl,
            max: max.max(1),
        }
    }

    /// The stamp held for `topic`.
    pub(crate) fn get(&self, topic: &TopicName) -> Option<&RetainedStamp> {
        self.entries.get(topic).map(|e| &e.stamp)
    }

    /// Whether a change stamped `stamp` is newer than what is held for `topic`.
    pub(crate) fn is_newer(&self, topic: &TopicName, stamp: &RetainedStamp) -> bool {
        self.get(topic).is_none_or(|held| stamp > held)
    }

    /// `topic` was set at `stamp`.
    pub(crate) fn set(&mut self, topic: &TopicName, stamp: RetainedStamp) {
        self.entries.insert(
            topic.clone(),
            Entry {
                stamp,
                cleared: None,
            },
        );
    }

    /// `topic` was cleared at `stamp`, `now`.
    pub(crate) fn clear(&mut self, topic: &TopicName, stamp: RetainedStamp, now: Instant) {
        self.entries.insert(
            topic.clone(),
            Entry {
                stamp,
                cleared: Some(now),
            },
        );
        self.tombstones.push_back((topic.clone(), now));
        self.prune(now);
    }

    /// Drops the tombstones past their time or beyond the most kept.
    pub(crate) fn prune(&mut self, now: Instant) {
        while let Some((topic, at)) = self.tombstones.front() {
            let old = now.saturating_duration_since(*at) >= self.ttl;
            if !old && self.tombstones.len() <= self.max {
                break;
            }
            if self
                .entries
                .get(topic)
                .is_some_and(|e| e.cleared == Some(*at))
            {
                self.entries.remove(topic);
            }
            self.tombstones.pop_front();
        }
    }

    /// Forgets the stamps of set topics `retained` says are no longer retained (their
    /// messages expired), and prunes the tombstones.
    pub(crate) fn sweep(&mut self, now: Instant, retained: impl Fn(&TopicName) -> bool) {
        self.entries
            .retain(|topic, entry| entry.cleared.is_some() || retained(topic));
        self.prune(now);
    }

    /// How many topics have a stamp (tombstones included).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::PeerName;

    fn at(ms: u64) -> RetainedStamp {
        RetainedStamp::new(ms, PeerName::new("a"))
    }

    fn topic(name: &str) -> TopicName {
        TopicName::new(name).unwrap()
    }

    #[test]
    fn only_a_newer_change_wins() {
        let mut stamps = RetainedStamps::new(TOMBSTONE_TTL, 10);
        let t = topic("t");
        assert!(stamps.is_newer(&t, &at(1)));
        stamps.set(&t, at(5));
        assert!(!stamps.is_newer(&t, &at(5)));
        assert!(!stamps.is_newer(&t, &at(4)));
        stamps.clear(&t, at(6), Instant::now());
        assert!(!stamps.is_newer(&t, &at(5)), "the tombstone holds");
        assert!(stamps.is_newer(&t, &at(7)));
    }

    #[test]
    fn tombstones_are_bounded_in_time_and_number() {
        let now = Instant::now();
        let mut stamps = RetainedStamps::new(Duration::from_secs(10), 2);
        for (i, name) in ["a", "b", "c"].iter().enumerate() {
            stamps.clear(&topic(name), at(i as u64), now);
        }
        assert_eq!(stamps.len(), 2, "the oldest tombstone dropped");
        assert!(stamps.get(&topic("a")).is_none());
        stamps.prune(now + Duration::from_secs(10));
        assert_eq!(stamps.len(), 0, "all past their time");
    }

    #[test]
    fn a_topic_set_again_outlives_its_old_tombstone() {
        let now = Instant::now();
        let mut stamps = RetainedStamps::new(Duration::from_secs(10), 10);
        let t = topic("t");
        stamps.clear(&t, at(1), now);
        stamps.set(&t, at(2));
        stamps.prune(now + Duration::from_secs(11));
        assert_eq!(stamps.get(&t), Some(&at(2)));
        stamps.sweep(now, |_| false);
        assert!(stamps.get(&t).is_none(), "its message expired");
    }
}
