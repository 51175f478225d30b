//! The subscription index: which subscriptions match a topic.

use std::fmt;

use super::delivery::{merge, Delivery};
use super::entry::SubscriptionEntry;
use super::shared_group::SharedGroup;
use super::topic_match::matches;
use super::tree_node::{FilterPath, Node, Subscribers};
use crate::types::{QoS, TopicFilter, TopicName};

/// A subscription that matches a topic, as [`SubscriptionTree::for_each_match`] reports it.
#[derive(Debug)]
pub enum Match<'a, S> {
    /// A non-shared subscription. A subscriber with several matching subscriptions is
    /// reported once per subscription.
    Subscription {
        /// The subscriber.
        subscriber: &'a S,
        /// Its subscription.
        entry: &'a SubscriptionEntry,
    },
    /// A shared subscription, reported once as a whole: exactly one of its members gets the
    /// message ([`SharedGroup::pick`]).
    Shared(&'a SharedGroup<S>),
}

/// The subscription index: a trie over topic-filter levels (MQTT 5.0 §4.7, §4.8).
///
/// `S` is the subscriber key, for instance a client identifier or a session handle. Each
/// node has a map of literal children, a dedicated `+` child, and two subscriber sets: the
/// filters that end at the node and the filters that end at the node followed by `#`. Shared
/// subscriptions are kept at the node of their matching filter, one [`SharedGroup`] per share
/// name, so a match yields each group once rather than each member.
///
/// Matching a topic visits, level by level, the literal child of that level and the `+`
/// child, and collects the `#` subscribers of every node on the way: the cost depends on the
/// topic and on the filters that can match it, not on the number of subscriptions. At the
/// root, `+` and `#` are skipped for topics starting with `$` ([MQTT-4.7.2-1]).
///
/// Matching takes `&self`; subscribing and unsubscribing take `&mut self` and prune the
/// nodes they leave empty. The tree keeps no per-subscriber index: a session knows its own
/// filters and unsubscribes each of them when it ends.
pub struct SubscriptionTree<S> {
    root: Node<S>,
    len: usize,
}

impl<S> Default for SubscriptionTree<S> {
    fn default() -> Self {
        SubscriptionTree {
            root: Node::default(),
            len: 0,
        }
    }
}

impl<S: Ord> SubscriptionTree<S> {
    /// An empty tree.
    #[must_use]
    pub fn new() -> Self {
        SubscriptionTree::default()
    }

    /// The number of subscriptions: one per (subscriber, filter), shared memberships included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the tree holds no subscription.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds the subscription of `subscriber` to `filter`, a shared one if `filter` is
    /// `$share/{ShareName}/{filter}`. If the subscriber already had a subscription with this
    /// exact filter, its entry is replaced and the old one returned ([MQTT-3.8.4-3]): the
    /// session tells from this whether the subscription is new (Retain Handling 1,
    /// [MQTT-3.3.1-10]). Replacing loses no message: the tree holds no message.
    pub fn subscribe(
        &mut self,
        filter: &TopicFilter,
        subscriber: S,
        entry: SubscriptionEntry,
    ) -> Option<SubscriptionEntry> {
        let path = FilterPath::parse(filter);
        let mut node = &mut self.root;
        for step in &path.steps {
            node = node.child_or_insert(*step);
        }
        let replaced = node.insert(&path, filter, subscriber, entry);
        if replaced.is_none() {
            self.len += 1;
        }
        replaced
    }

    /// Removes the subscription of `subscriber` to `filter` (the full filter, `$share/...`
    /// included); returns its entry, or `None` if there was none (UNSUBACK reason code 0x11,
    /// No subscription existed). Nodes left empty are removed.
    pub fn unsubscribe(
        &mut self,
        filter: &TopicFilter,
        subscriber: &S,
    ) -> Option<SubscriptionEntry> {
        let path = FilterPath::parse(filter);
        // Walk down, remembering the deepest node that stays if the branch below it goes.
        let mut keep_depth = 0;
        let mut node = &mut self.root;
        for (depth, step) in path.steps.iter().enumerate() {
            if depth > 0 && node.has_more_than(*step) {
                keep_depth = depth;
            }
            node = node.child_mut(*step)?;
        }
        let removed = node.remove(&path, subscriber)?;
        self.len -= 1;
        if !node.is_empty() || path.steps.is_empty() {
            return Some(removed);
        }
        // The target node is empty, and so is every node between it and `keep_depth` but for
        // the branch leading to it: cut that branch.
        let mut node = &mut self.root;
        for step in path.steps.iter().take(keep_depth) {
            match node.child_mut(*step) {
                Some(child) => node = child,
                None => return Some(removed),
            }
        }
        if let Some(step) = path.steps.get(keep_depth) {
            node.remove_child(*step);
        }
        Some(removed)
    }

    /// The entry of `subscriber`'s subscription to `filter`, if it has one.
    #[must_use]
    pub fn get(&self, filter: &TopicFilter, subscriber: &S) -> Option<&SubscriptionEntry> {
        let path = FilterPath::parse(filter);
        self.find(&path)?
            .slot(path.slot)?
            .get(path.share, subscriber)
    }

    /// The group of a shared filter (`$share/{ShareName}/{filter}`), if it has members.
    #[must_use]
    pub fn shared_group(&self, filter: &TopicFilter) -> Option<&SharedGroup<S>> {
        let path = FilterPath::parse(filter);
        let share = path.share?;
        self.find(&path)?.slot(path.slot)?.shared.get(share)
    }

    fn find(&self, path: &FilterPath<'_>) -> Option<&Node<S>> {
        let mut node = &self.root;
        for step in &path.steps {
            node = node.child(*step)?;
        }
        Some(node)
    }

    /// Calls `visitor` for every subscription whose filter matches `topic`: each non-shared
    /// subscription, and each shared subscription once as a group. The order is unspecified.
    pub fn for_each_match<'a>(&'a self, topic: &TopicName, mut visitor: impl FnMut(Match<'a, S>)) {
        let topic = topic.as_str();
        let (first, rest) = split_level(topic);
        // [MQTT-4.7.2-1]: no wildcard in the first level matches a topic starting with `$`.
        let wildcards_at_root = !topic.starts_with('$');
        let root = &self.root;
        let mut stack: Vec<(&'a Node<S>, Option<&str>)> = Vec::new();
        if wildcards_at_root {
            visit(root.hash.as_deref(), &mut visitor);
            if let Some(plus) = root.plus.as_deref() {
                stack.push((plus, rest));
            }
        }
        if let Some(child) = root.children.get(first) {
            stack.push((child, rest));
        }
        while let Some((node, rest)) = stack.pop() {
            // `#` matches the parent level and every level below it (§4.7.1.2).
            visit(node.hash.as_deref(), &mut visitor);
            let Some(rest) = rest else {
                visit(node.exact.as_deref(), &mut visitor);
                continue;
            };
            let (level, rest) = split_level(rest);
            if let Some(plus) = node.plus.as_deref() {
                stack.push((plus, rest));
            }
            if let Some(child) = node.children.get(level) {
                stack.push((child, rest));
            }
        }
    }

    /// Who gets a message published to `topic` at `qos`, written to `out` (cleared first).
    ///
    /// - **Non-shared subscriptions**: one [`Delivery`] per subscriber, merging all of its
    ///   matching subscriptions: the highest granted QoS ([MQTT-3.3.4-2]) and every
    ///   Subscription Identifier ([MQTT-3.3.4-3]). A subscription with No Local set is
    ///   skipped when its subscriber is `publisher` ([MQTT-3.8.3-3]); `publisher` is `None`
    ///   for messages that come from no local client (the broker itself, another node).
    /// - **Shared subscriptions**: one [`Delivery`] per matching group, for the member
    ///   [`SharedGroup::pick`] chooses with `can_receive`, at that member's granted QoS
    ///   ([MQTT-4.8.2-3]). No Local does not apply: setting it on a shared subscription is a
    ///   Protocol Error the session rejects ([MQTT-3.8.3-4]).
    ///
    /// `out` holds the non-shared copies first, ordered by subscriber, then the shared copies,
    /// ordered by filter: the result is deterministic for a given tree and topic.
    pub fn route(
        &self,
        topic: &TopicName,
        qos: QoS,
        publisher: Option<&S>,
        mut can_receive: impl FnMut(&S) -> bool,
        out: &mut Vec<Delivery<S>>,
    ) where
        S: Clone,
    {
        out.clear();
        self.for_each_match(topic, |m| match m {
            Match::Subscription { subscriber, entry } => {
                if entry.options.no_local && publisher == Some(subscriber) {
                    return;
                }
                out.push(Delivery::from_entry(subscriber.clone(), entry, qos, None));
            }
            Match::Shared(group) => {
                if let Some((member, entry)) = group.pick(&mut can_receive) {
                    let filter = Some(group.filter().clone());
                    out.push(Delivery::from_entry(member.clone(), entry, qos, filter));
                }
            }
        });
        merge(out);
    }

    /// Who gets a message another node forwarded for its subscribers outside shared
    /// subscriptions: like [`route`](Self::route) without the shared groups (the publishing
    /// node chose their members) and without No Local (the publisher is not a subscriber
    /// here), keeping only the subscribers `keep` accepts.
    pub fn route_unshared(
        &self,
        topic: &TopicName,
        qos: QoS,
        mut keep: impl FnMut(&S) -> bool,
        out: &mut Vec<Delivery<S>>,
    ) where
        S: Clone,
    {
        out.clear();
        self.for_each_match(topic, |m| {
            if let Match::Subscription { subscriber, entry } = m {
                if keep(subscriber) {
                    out.push(Delivery::from_entry(subscriber.clone(), entry, qos, None));
                }
            }
        });
        merge(out);
    }

    /// The member of the shared subscription `group` (`$share/{ShareName}/{filter}`) that gets
    /// a message published to `topic` at `qos`, picked as [`route`](Self::route) picks, among
    /// the members `can_receive` accepts first. `None` when the group has no member, or when
    /// its filter does not match `topic`.
    pub fn route_to_group(
        &self,
        group: &TopicFilter,
        topic: &TopicName,
        qos: QoS,
        can_receive: impl FnMut(&S) -> bool,
    ) -> Option<Delivery<S>>
    where
        S: Clone,
    {
        if !group.is_shared() || !matches(group.matching_filter(), topic.as_str()) {
            return None;
        }
        let shared = self.shared_group(group)?;
        let (member, entry) = shared.pick(can_receive)?;
        Some(Delivery::from_entry(
            member.clone(),
            entry,
            qos,
            Some(shared.filter().clone()),
        ))
    }

    /// Calls `visitor` with every subscription: its full filter (`$share/...` included), its
    /// subscriber and its entry. The order is unspecified. For snapshots, administration and
    /// announcing routes to a cluster peer; it visits the whole tree.
    pub fn for_each_subscription(&self, mut visitor: impl FnMut(&str, &S, &SubscriptionEntry)) {
        let mut path = String::new();
        let mut filter = String::new();
        // (node, length of its parent's path, its level, its depth)
        let mut stack: Vec<(&Node<S>, usize, &str, usize)> = vec![(&self.root, 0, "", 0)];
        while let Some((node, parent_len, level, depth)) = stack.pop() {
            path.truncate(parent_len);
            if depth > 1 {
                path.push('/');
            }
            path.push_str(level);
            if depth > 0 {
                report(node.exact.as_deref(), &path, &mut filter, &mut visitor);
            }
            let hash_filter = if depth == 0 {
                "#".to_owned()
            } else {
                format!("{path}/#")
            };
            report(
                node.hash.as_deref(),
                &hash_filter,
                &mut filter,
                &mut visitor,
            );
            for (level, child) in &node.children {
                stack.push((child, path.len(), level, depth + 1));
            }
            if let Some(plus) = node.plus.as_deref() {
                stack.push((plus, path.len(), "+", depth + 1));
            }
        }
    }

    /// The number of trie nodes below the root: zero for an empty tree, whatever was
    /// subscribed and unsubscribed before. For tests and memory metrics; it visits the tree.
    #[must_use]
    pub fn node_count(&self) -> usize {
        let mut count = 0;
        let mut stack = vec![&self.root];
        while let Some(node) = stack.pop() {
            stack.extend(node.children.values());
            stack.extend(node.plus.as_deref());
            count += 1;
        }
        count - 1
    }
}

/// Splits the first level off a topic: `("a", Some("b/c"))` for `a/b/c`, `("c", None)` for `c`.
fn split_level(topic: &str) -> (&str, Option<&str>) {
    match topic.split_once('/') {
        Some((level, rest)) => (level, Some(rest)),
        None => (topic, None),
    }
}

fn visit<'a, S>(subscribers: Option<&'a Subscribers<S>>, visitor: &mut impl FnMut(Match<'a, S>)) {
    let Some(subscribers) = subscribers else {
        return;
    };
    for (subscriber, entry) in &subscribers.direct {
        visitor(Match::Subscription { subscriber, entry });
    }
    for group in subscribers.shared.values() {
        visitor(Match::Shared(group));
    }
}

fn report<S: Ord>(
    subscribers: Option<&Subscribers<S>>,
    matching: &str,
    filter: &mut String,
    visitor: &mut impl FnMut(&str, &S, &SubscriptionEntry),
) {
    let Some(subscribers) = subscribers else {
        return;
    };
    for (subscriber, entry) in &subscribers.direct {
        visitor(matching, subscriber, entry);
    }
    for (share, group) in &subscribers.shared {
        filter.clear();
        filter.push_str("$share/");
        filter.push_str(share);
        filter.push('/');
        filter.push_str(matching);
        for (member, entry) in group.members() {
            visitor(filter, member, entry);
        }
    }
}

impl<S> fmt::Debug for SubscriptionTree<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SubscriptionTree")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}
