//! One shared subscription and the choice of the member that gets each message.

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::entry::SubscriptionEntry;
use crate::types::TopicFilter;

/// The members of one shared subscription `$share/{ShareName}/{filter}` (MQTT 5.0 §4.8.2),
/// each with its own subscription entry: members may be granted different QoS levels
/// ([MQTT-4.8.2-3]) and use different Subscription Identifiers.
///
/// A session belongs to a group at most once: subscribing again replaces its entry and does
/// not add a second membership, and one unsubscribe removes it (§4.8.2).
///
/// # Choosing a member
///
/// Each message goes to exactly one member. [`pick`](Self::pick) takes them in **round
/// robin**, skipping members the caller says cannot receive now (the `can_receive` predicate:
/// typically "connected and its queue is not full"). When no member can receive, it falls back
/// to the member the round robin reached, so the message waits in that session rather than
/// being lost (a persistent session keeps QoS 1 and 2 messages while offline, §4.3).
///
/// The cursor is an atomic counter, so picking takes `&self` and concurrent publishers (all
/// holding the router's read lock) spread messages over the members; under contention two
/// messages may go to the same member, which the specification allows: the server "is free to
/// choose, on a message by message basis, which Session to use" (§4.8.2).
///
/// # Members that leave
///
/// [`pick_excluding`](Self::pick_excluding) chooses a member other than one that is leaving,
/// for the session layer to hand over messages that member had not completed. Which messages
/// may be handed over is the session's decision:
///
/// - QoS 1 messages whose delivery was not acknowledged: the server SHOULD send them to another
///   member once the session ends, and MAY as soon as the connection is lost (§4.8.2);
/// - QoS 2 messages whose delivery had started MUST NOT go to another member: they complete
///   on the same session when it reconnects, or are dropped with it ([MQTT-4.8.2-4],
///   [MQTT-4.8.2-5]);
/// - a message the member refused (PUBACK or PUBREC with a reason code of 0x80 or above) is
///   discarded, not handed over ([MQTT-4.8.2-6]).
pub struct SharedGroup<S> {
    /// The full filter, `$share/{ShareName}/{filter}`, in its own allocation.
    filter: TopicFilter,
    /// Members sorted by key, so lookups are binary searches and the order is deterministic.
    members: Vec<(S, SubscriptionEntry)>,
    /// The round-robin position; taken modulo the number of members.
    cursor: AtomicUsize,
}

impl<S: Ord> SharedGroup<S> {
    /// An empty group for a shared filter. The filter is copied so that the group does not keep
    /// a received packet's buffer alive.
    #[must_use]
    pub fn new(filter: &TopicFilter) -> Self {
        SharedGroup {
            filter: TopicFilter::new(filter.as_str()).unwrap_or_else(|_| filter.clone()),
            members: Vec::new(),
            cursor: AtomicUsize::new(0),
        }
    }

    /// The full filter, `$share/{ShareName}/{filter}`.
    #[must_use]
    pub fn filter(&self) -> &TopicFilter {
        &self.filter
    }

    /// The share name (`None` only if the group was made for a non-shared filter).
    #[must_use]
    pub fn share_name(&self) -> Option<&str> {
        self.filter.share_name()
    }

    /// The number of members.
    #[must_use]
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether the group has no member (the tree removes such groups).
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The members and their entries, in key order.
    pub fn members(&self) -> impl Iterator<Item = (&S, &SubscriptionEntry)> {
        self.members.iter().map(|(s, e)| (s, e))
    }

    /// The entry of `member`, if it belongs to the group.
    #[must_use]
    pub fn get(&self, member: &S) -> Option<&SubscriptionEntry> {
        let i = self.position(member).ok()?;
        self.members.get(i).map(|(_, e)| e)
    }

    /// Whether `member` belongs to the group.
    #[must_use]
    pub fn contains(&self, member: &S) -> bool {
        self.position(member).is_ok()
    }

    /// Adds `member`, or replaces its entry if it is one already; returns the replaced entry.
    pub fn insert(&mut self, member: S, entry: SubscriptionEntry) -> Option<SubscriptionEntry> {
        match self.position(&member) {
            Ok(i) => self
                .members
                .get_mut(i)
                .map(|(_, old)| std::mem::replace(old, entry)),
            Err(i) => {
                self.members.insert(i, (member, entry));
                None
            }
        }
    }

    /// Removes `member`; returns its entry if it was one.
    pub fn remove(&mut self, member: &S) -> Option<SubscriptionEntry> {
        let i = self.position(member).ok()?;
        Some(self.members.remove(i).1)
    }

    /// Chooses the member that gets the next message: the next one in round robin for which
    /// `can_receive` holds, or if none does, the one the round robin reached. `None` only for
    /// an empty group. `can_receive` is called at most once per member.
    pub fn pick(&self, can_receive: impl FnMut(&S) -> bool) -> Option<(&S, &SubscriptionEntry)> {
        self.pick_where(None, can_receive)
    }

    /// Like [`pick`](Self::pick), but never chooses `excluded`: to hand the messages of a
    /// member that leaves to another one. `None` when `excluded` is the only member.
    pub fn pick_excluding(
        &self,
        excluded: &S,
        can_receive: impl FnMut(&S) -> bool,
    ) -> Option<(&S, &SubscriptionEntry)> {
        self.pick_where(Some(excluded), can_receive)
    }

    fn pick_where(
        &self,
        excluded: Option<&S>,
        mut can_receive: impl FnMut(&S) -> bool,
    ) -> Option<(&S, &SubscriptionEntry)> {
        let n = self.members.len();
        if n == 0 {
            return None;
        }
        let start = self.cursor.fetch_add(1, Ordering::Relaxed) % n;
        let mut fallback = None;
        for offset in 0..n {
            let Some((member, entry)) = self.members.get((start + offset) % n) else {
                continue;
            };
            if excluded == Some(member) {
                continue;
            }
            if can_receive(member) {
                // Step the cursor past the members skipped, so that they do not hand their
                // turn to this one again on the next message.
                if offset > 0 {
                    self.cursor.fetch_add(offset, Ordering::Relaxed);
                }
                return Some((member, entry));
            }
            fallback = fallback.or(Some((member, entry)));
        }
        fallback
    }

    fn position(&self, member: &S) -> Result<usize, usize> {
        self.members.binary_search_by(|(s, _)| s.cmp(member))
    }
}

impl<S: fmt::Debug> fmt::Debug for SharedGroup<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedGroup")
            .field("filter", &self.filter)
            .field("members", &self.members)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::SubscriptionOptions;
    use crate::types::QoS;

    fn group(members: &[u32]) -> SharedGroup<u32> {
        let mut g = SharedGroup::new(&TopicFilter::new("$share/g/a/+").unwrap());
        for &m in members {
            g.insert(m, SubscriptionEntry::default());
        }
        g
    }

    fn picks(g: &SharedGroup<u32>, n: usize, online: impl Fn(u32) -> bool) -> Vec<u32> {
        (0..n).map(|_| *g.pick(|m| online(*m)).unwrap().0).collect()
    }

    #[test]
    fn round_robin_over_all_members() {
        let g = group(&[3, 1, 2]);
        assert_eq!(picks(&g, 6, |_| true), [1, 2, 3, 1, 2, 3]);
    }

    #[test]
    fn skips_members_that_cannot_receive_fairly() {
        let g = group(&[1, 2, 3]);
        assert_eq!(picks(&g, 6, |m| m != 1), [2, 3, 2, 3, 2, 3]);
    }

    #[test]
    fn falls_back_to_round_robin_when_nobody_can_receive() {
        let g = group(&[1, 2, 3]);
        assert_eq!(picks(&g, 4, |_| false), [1, 2, 3, 1]);
    }

    #[test]
    fn pick_excluding_never_returns_the_leaving_member() {
        let g = group(&[1, 2]);
        for _ in 0..4 {
            assert_eq!(g.pick_excluding(&1, |_| false).map(|(m, _)| *m), Some(2));
        }
        let single = group(&[1]);
        assert!(single.pick_excluding(&1, |_| true).is_none());
        assert!(group(&[]).pick(|_| true).is_none());
    }

    #[test]
    fn resubscribe_replaces_without_second_membership() {
        let mut g = group(&[1]);
        let e = SubscriptionEntry::new(SubscriptionOptions::qos(QoS::ExactlyOnce), None);
        assert_eq!(g.insert(1, e), Some(SubscriptionEntry::default()));
        assert_eq!(g.len(), 1);
        assert_eq!(g.get(&1), Some(&e));
        assert_eq!(g.remove(&1), Some(e));
        assert!(g.is_empty());
        assert_eq!(g.remove(&1), None);
    }

    #[test]
    fn filter_is_kept_and_named() {
        let g = group(&[]);
        assert_eq!(g.filter().as_str(), "$share/g/a/+");
        assert_eq!(g.share_name(), Some("g"));
    }
}
