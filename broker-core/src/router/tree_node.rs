//! The nodes of the subscription trie and the parsed form of a filter.
//!
//! A node stands for a sequence of filter levels (its path from the root). It holds the
//! subscriptions whose filter is exactly that path (`exact`) and those whose filter is that
//! path followed by `#` (`hash`): `#` is always the last level, so it needs no node of its own.

use std::collections::{BTreeMap, HashMap};

use super::entry::SubscriptionEntry;
use super::shared_group::SharedGroup;
use crate::types::TopicFilter;

/// One level of a filter, as the trie branches on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Step<'a> {
    /// A literal level, possibly empty.
    Literal(&'a str),
    /// `+`.
    Plus,
}

/// Which subscriber set of a node a filter ends in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Slot {
    /// The filter is the node's path.
    Exact,
    /// The filter is the node's path followed by `#`.
    Hash,
}

/// A filter split into the steps from the root and the slot it ends in.
pub(super) struct FilterPath<'a> {
    pub(super) steps: Vec<Step<'a>>,
    pub(super) slot: Slot,
    /// The share name of a shared subscription.
    pub(super) share: Option<&'a str>,
}

impl<'a> FilterPath<'a> {
    pub(super) fn parse(filter: &'a TopicFilter) -> Self {
        let mut levels: Vec<&str> = filter.matching_filter().split('/').collect();
        let slot = if levels.last() == Some(&"#") {
            levels.pop();
            Slot::Hash
        } else {
            Slot::Exact
        };
        let steps = levels
            .into_iter()
            .map(|level| match level {
                "+" => Step::Plus,
                other => Step::Literal(other),
            })
            .collect();
        FilterPath {
            steps,
            slot,
            share: filter.share_name(),
        }
    }
}

/// The subscriptions that end at one slot of one node.
pub(super) struct Subscribers<S> {
    /// Non-shared subscriptions, by subscriber.
    pub(super) direct: BTreeMap<S, SubscriptionEntry>,
    /// Shared subscriptions, by share name.
    pub(super) shared: BTreeMap<Box<str>, SharedGroup<S>>,
}

impl<S: Ord> Subscribers<S> {
    fn new() -> Self {
        Subscribers {
            direct: BTreeMap::new(),
            shared: BTreeMap::new(),
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.direct.is_empty() && self.shared.is_empty()
    }

    pub(super) fn get(&self, share: Option<&str>, subscriber: &S) -> Option<&SubscriptionEntry> {
        match share {
            None => self.direct.get(subscriber),
            Some(name) => self.shared.get(name)?.get(subscriber),
        }
    }

    fn insert(
        &mut self,
        filter: &TopicFilter,
        share: Option<&str>,
        subscriber: S,
        entry: SubscriptionEntry,
    ) -> Option<SubscriptionEntry> {
        match share {
            None => self.direct.insert(subscriber, entry),
            Some(name) => self
                .shared
                .entry(name.into())
                .or_insert_with(|| SharedGroup::new(filter))
                .insert(subscriber, entry),
        }
    }

    fn remove(&mut self, share: Option<&str>, subscriber: &S) -> Option<SubscriptionEntry> {
        match share {
            None => self.direct.remove(subscriber),
            Some(name) => {
                let group = self.shared.get_mut(name)?;
                let removed = group.remove(subscriber);
                if group.is_empty() {
                    self.shared.remove(name);
                }
                removed
            }
        }
    }
}

/// A node of the subscription trie.
pub(super) struct Node<S> {
    /// Children for literal levels.
    pub(super) children: HashMap<Box<str>, Node<S>>,
    /// The child for `+`.
    pub(super) plus: Option<Box<Node<S>>>,
    /// Subscriptions whose filter is this node's path.
    pub(super) exact: Option<Box<Subscribers<S>>>,
    /// Subscriptions whose filter is this node's path followed by `#`.
    pub(super) hash: Option<Box<Subscribers<S>>>,
}

impl<S> Default for Node<S> {
    fn default() -> Self {
        Node {
            children: HashMap::new(),
            plus: None,
            exact: None,
            hash: None,
        }
    }
}

impl<S: Ord> Node<S> {
    pub(super) fn child(&self, step: Step<'_>) -> Option<&Node<S>> {
        match step {
            Step::Literal(level) => self.children.get(level),
            Step::Plus => self.plus.as_deref(),
        }
    }

    pub(super) fn child_mut(&mut self, step: Step<'_>) -> Option<&mut Node<S>> {
        match step {
            Step::Literal(level) => self.children.get_mut(level),
            Step::Plus => self.plus.as_deref_mut(),
        }
    }

    pub(super) fn child_or_insert(&mut self, step: Step<'_>) -> &mut Node<S> {
        match step {
            Step::Literal(level) => self.children.entry(level.into()).or_default(),
            Step::Plus => self.plus.get_or_insert_with(Box::default),
        }
    }

    pub(super) fn remove_child(&mut self, step: Step<'_>) {
        match step {
            Step::Literal(level) => {
                self.children.remove(level);
            }
            Step::Plus => self.plus = None,
        }
    }

    pub(super) fn slot(&self, slot: Slot) -> Option<&Subscribers<S>> {
        match slot {
            Slot::Exact => self.exact.as_deref(),
            Slot::Hash => self.hash.as_deref(),
        }
    }

    fn slot_mut(&mut self, slot: Slot) -> &mut Option<Box<Subscribers<S>>> {
        match slot {
            Slot::Exact => &mut self.exact,
            Slot::Hash => &mut self.hash,
        }
    }

    pub(super) fn insert(
        &mut self,
        path: &FilterPath<'_>,
        filter: &TopicFilter,
        subscriber: S,
        entry: SubscriptionEntry,
    ) -> Option<SubscriptionEntry> {
        self.slot_mut(path.slot)
            .get_or_insert_with(|| Box::new(Subscribers::new()))
            .insert(filter, path.share, subscriber, entry)
    }

    /// Removes a subscription from a slot, dropping the slot if it becomes empty.
    pub(super) fn remove(
        &mut self,
        path: &FilterPath<'_>,
        subscriber: &S,
    ) -> Option<SubscriptionEntry> {
        let slot = self.slot_mut(path.slot);
        let subscribers = slot.as_deref_mut()?;
        let removed = subscribers.remove(path.share, subscriber);
        if subscribers.is_empty() {
            *slot = None;
        }
        removed
    }

    /// Whether the node holds nothing: no subscription and no child.
    pub(super) fn is_empty(&self) -> bool {
        self.exact.is_none() && self.hash.is_none() && self.is_leaf()
    }

    fn is_leaf(&self) -> bool {
        self.children.is_empty() && self.plus.is_none()
    }

    /// Whether the node must stay if the branch through `step` is removed: it holds a
    /// subscription or another child.
    pub(super) fn has_more_than(&self, step: Step<'_>) -> bool {
        let children = self.children.len() + usize::from(self.plus.is_some());
        self.exact.is_some()
            || self.hash.is_some()
            || children > 1
            || (children == 1 && self.child(step).is_none())
    }
}

impl<S> Drop for Node<S> {
    /// Drops the subtree with an explicit stack: a trie as deep as the longest filter must not
    /// recurse once per level.
    fn drop(&mut self) {
        if self.children.is_empty() && self.plus.is_none() {
            return;
        }
        let mut stack = Vec::new();
        take_children(self, &mut stack);
        while let Some(mut node) = stack.pop() {
            take_children(&mut node, &mut stack);
        }
    }
}

/// Moves a node's children out, for the iterative drop.
fn take_children<S>(node: &mut Node<S>, into: &mut Vec<Node<S>>) {
    into.extend(node.children.drain().map(|(_, child)| child));
    if let Some(plus) = node.plus.take() {
        into.push(*plus);
    }
}
