//! [`OwnRetained`]: the retained changes this node made that still stand as far as it knows:
//! per topic, its latest set or clear, the content of its catch-up snapshots. A clear is kept
//! for [`CLEAR_TTL_MS`] after the newest change recorded, and [`CLEARS_MAX`] of them at most
//! (a peer away longer learns of an older clear only if it no longer holds the message from
//! elsewhere: the window in docs/cluster.md). A topic a peer changed later leaves the set
//! ([`OwnRetained::superseded`]).
//!
//! Pure state: no I/O, no clock (times are the changes' stamps).

use std::collections::{HashMap, VecDeque};

use broker_core::cluster::{RetainedChange, RetainedStamp};
use broker_core::types::TopicName;

/// How long a clear stays in the snapshots, in milliseconds of the changes' stamps.
pub(crate) const CLEAR_TTL_MS: u64 = 10 * 60 * 1000;
/// How many clears the snapshots carry at most.
pub(crate) const CLEARS_MAX: usize = 10_000;

/// This node's standing retained changes.
#[derive(Debug)]
pub(crate) struct OwnRetained {
    latest: HashMap<TopicName, RetainedChange>,
    /// Clears, oldest first (a topic set again since is skipped when it comes out).
    clears: VecDeque<(TopicName, RetainedStamp)>,
    ttl_ms: u64,
    max_clears: usize,
}

impl OwnRetained {
    /// None yet; clears kept for `ttl_ms` and `max_clears` at most.
    pub(crate) fn new(ttl_ms: u64, max_clears: usize) -> Self {
        OwnRetained {
            latest: HashMap::new(),
            clears: VecDeque::new(),
            ttl_ms,
            max_clears: max_clears.max(1),
        }
    }

    /// Records `change`; `false` (nothing recorded) if a later one of its topic is held.
    pub(crate) fn record(&mut self, change: &RetainedChange) -> bool {
        if self
            .latest
            .get(&change.topic)
            .is_some_and(|held| held.stamp >= change.stamp)
        {
            return false;
        }
        self.latest.insert(change.topic.clone(), change.clone());
        if change.message.is_none() {
            self.clears
                .push_back((change.topic.clone(), change.stamp.clone()));
        }
        self.prune(change.stamp.unix_ms());
        true
    }

    /// A peer's change of `topic` stamped `stamp` was applied here: this node's older change
    /// of it stands no more.
    pub(crate) fn superseded(&mut self, topic: &TopicName, stamp: &RetainedStamp) {
        if self
            .latest
            .get(topic)
            .is_some_and(|held| &held.stamp < stamp)
        {
            self.latest.remove(topic);
        }
    }

    /// The standing changes, for a snapshot.
    pub(crate) fn snapshot(&self) -> Vec<RetainedChange> {
        self.latest.values().cloned().collect()
    }

    /// Drops the clears older than the ttl before `newest_ms`, or beyond the most kept.
    fn prune(&mut self, newest_ms: u64) {
        while let Some((topic, stamp)) = self.clears.front() {
            let old = stamp.unix_ms().saturating_add(self.ttl_ms) < newest_ms;
            if !old && self.clears.len() <= self.max_clears {
                break;
            }
            if self
                .latest
                .get(topic)
                .is_some_and(|held| &held.stamp == stamp)
            {
                self.latest.remove(topic);
            }
            self.clears.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use broker_core::cluster::PeerName;
    use broker_core::codec::PublishProperties;
    use broker_core::session::Message;
    use broker_core::types::QoS;
    use bytes::Bytes;

    use super::*;

    fn change(topic: &str, set: bool, ms: u64) -> RetainedChange {
        let topic = TopicName::new(topic).unwrap();
        let message = set.then(|| {
            Message::new(
                topic.clone(),
                Bytes::from_static(b"m"),
                QoS::AtMostOnce,
                true,
                PublishProperties::default(),
                Instant::now(),
            )
        });
        RetainedChange::new(topic, message, RetainedStamp::new(ms, PeerName::new("a")))
    }

    fn topics(own: &OwnRetained) -> Vec<(String, bool)> {
        let mut out: Vec<_> = own
            .snapshot()
            .into_iter()
            .map(|c| (c.topic.as_str().to_owned(), c.message.is_some()))
            .collect();
        out.sort();
        out
    }

    #[test]
    fn the_latest_change_of_each_topic_stands() {
        let mut own = OwnRetained::new(1000, 10);
        assert!(own.record(&change("t", true, 5)));
        assert!(!own.record(&change("t", false, 4)), "older");
        assert!(own.record(&change("u", false, 6)));
        assert_eq!(topics(&own), [("t".into(), true), ("u".into(), false)]);
        own.superseded(
            &TopicName::new("t").unwrap(),
            &RetainedStamp::new(9, PeerName::new("b")),
        );
        assert_eq!(topics(&own), [("u".into(), false)]);
    }

    #[test]
    fn clears_are_bounded_in_time_and_number() {
        let mut own = OwnRetained::new(1000, 2);
        own.record(&change("a", false, 1));
        own.record(&change("b", false, 2));
        own.record(&change("c", false, 3));
        assert_eq!(topics(&own).len(), 2, "the oldest clear dropped");
        own.record(&change("d", true, 2000));
        assert_eq!(topics(&own), [("d".into(), true)], "the clears timed out");
    }
}
