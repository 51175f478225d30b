//! The retained messages, indexed by topic level.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use super::retained_message::RetainedMessage;
use crate::types::{TopicFilter, TopicName};

/// The retained messages, at most one per topic (MQTT 5.0 §3.3.1.3).
///
/// The store is a trie over topic levels, so a filter visits only the branches it can match:
/// `a/+/c` looks at the children of `a` and one grandchild each, `a/#` at the subtree under
/// `a`, never at the whole store. Topics starting with `$` are not matched by a filter whose
/// first level is `+` or `#` ([MQTT-4.7.2-1]).
///
/// The store applies the RETAIN rules the caller decides to use; it does not see the RETAIN
/// flag itself. The session calls [`set`](Self::set) for each PUBLISH with RETAIN set: a
/// non-empty payload replaces the message on that topic ([MQTT-3.3.1-5]), an empty one
/// removes it and is not stored ([MQTT-3.3.1-6], [MQTT-3.3.1-7]). A PUBLISH with RETAIN 0
/// must not reach the store ([MQTT-3.3.1-8]). Which retained messages a new subscription gets
/// depends on Retain Handling ([MQTT-3.3.1-9] to [MQTT-3.3.1-11]) and on the subscription not
/// being shared (§4.8.2): that too is the session's decision; the store answers
/// [`matching`](Self::matching).
///
/// Time is an argument: `now` is in seconds of the caller's clock, the same clock as
/// [`RetainedMessage::stored_at`]. Expired messages are never returned; they stay stored until
/// [`remove_expired`](Self::remove_expired), which the runtime calls at
/// [`next_expiry`](Self::next_expiry).
#[derive(Default)]
pub struct RetainedStore {
    root: Node,
    len: usize,
    /// How many of them are on `$` topics (the broker's own, such as `$SYS/...`).
    system_len: usize,
    /// (expiry time, topic) of every message that expires.
    expiries: BTreeSet<(u64, TopicName)>,
}

/// A node of the retained trie. Children are ordered, so matches come out in topic-level order.
#[derive(Default)]
struct Node {
    children: BTreeMap<Box<str>, Node>,
    message: Option<Box<RetainedMessage>>,
}

impl Drop for Node {
    /// Drops the subtree with an explicit stack, never recursing once per level.
    fn drop(&mut self) {
        if self.children.is_empty() {
            return;
        }
        let mut stack: Vec<Node> = std::mem::take(&mut self.children).into_values().collect();
        while let Some(mut node) = stack.pop() {
            stack.extend(std::mem::take(&mut node.children).into_values());
        }
    }
}

impl RetainedStore {
    /// An empty store.
    #[must_use]
    pub fn new() -> Self {
        RetainedStore::default()
    }

    /// The number of messages stored, expired ones not yet removed included.
    #[must_use]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The number of messages stored on topics that do not start with `$`: the clients'
    /// (expired ones not yet removed included).
    #[must_use]
    pub fn client_len(&self) -> usize {
        self.len - self.system_len
    }

    /// Whether no message is stored.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Stores `message` on its topic, replacing and returning the one there
    /// ([MQTT-3.3.1-5]); a message with an empty payload removes the one there instead and is
    /// not stored ([MQTT-3.3.1-6], [MQTT-3.3.1-7]).
    pub fn set(&mut self, message: RetainedMessage) -> Option<RetainedMessage> {
        if message.payload.is_empty() {
            return self.remove(&message.topic);
        }
        let expiry = message.expires_at().map(|at| (at, message.topic.clone()));
        let mut node = &mut self.root;
        for level in message.topic.levels() {
            node = node.children.entry(level.into()).or_default();
        }
        let system = message.topic.as_str().starts_with('$');
        let old = node.message.replace(Box::new(message));
        match &old {
            Some(old) => self.forget_expiry(old),
            None => {
                self.len += 1;
                self.system_len += usize::from(system);
            }
        }
        if let Some(expiry) = expiry {
            self.expiries.insert(expiry);
        }
        old.map(|old| *old)
    }

    /// Removes and returns the message on `topic`.
    pub fn remove(&mut self, topic: &TopicName) -> Option<RetainedMessage> {
        // Walk down, remembering the deepest node that stays if the branch below it goes.
        let mut keep_depth = 0;
        let mut node = &mut self.root;
        for (depth, level) in topic.levels().enumerate() {
            if depth > 0 && (node.message.is_some() || node.children.len() > 1) {
                keep_depth = depth;
            }
            node = node.children.get_mut(level)?;
        }
        let old = node.message.take()?;
        let prune = node.children.is_empty();
        self.len -= 1;
        self.system_len -= usize::from(topic.as_str().starts_with('$'));
        self.forget_expiry(&old);
        if prune {
            let mut node = &mut self.root;
            let mut levels = topic.levels();
            for level in levels.by_ref().take(keep_depth) {
                match node.children.get_mut(level) {
                    Some(child) => node = child,
                    None => return Some(*old),
                }
            }
            if let Some(level) = levels.next() {
                node.children.remove(level);
            }
        }
        Some(*old)
    }

    fn forget_expiry(&mut self, message: &RetainedMessage) {
        if let Some(at) = message.expires_at() {
            self.expiries.remove(&(at, message.topic.clone()));
        }
    }

    /// The message on `topic`, expired or not.
    #[must_use]
    pub fn get(&self, topic: &TopicName) -> Option<&RetainedMessage> {
        let mut node = &self.root;
        for level in topic.levels() {
            node = node.children.get(level)?;
        }
        node.message.as_deref()
    }

    /// Calls `visitor` with every message whose topic matches the matching part of `filter`
    /// ([`TopicFilter::matching_filter`]) and that has not expired at `now`. Messages come in
    /// the order of their topic levels (byte order, a parent before its children).
    ///
    /// Retained messages are not sent for shared subscriptions (§4.8.2): the session does not
    /// call this for them.
    pub fn matching<'a>(
        &'a self,
        filter: &TopicFilter,
        now: u64,
        mut visitor: impl FnMut(&'a RetainedMessage),
    ) {
        let filter = filter.matching_filter();
        let mut emit = |node: &'a Node| {
            if let Some(message) = node.message.as_deref() {
                if !message.is_expired(now) {
                    visitor(message);
                }
            }
        };
        // (node, the rest of the filter from this node's children on, whether it is the root)
        let mut stack: Vec<(&'a Node, Option<&str>, bool)> = vec![(&self.root, Some(filter), true)];
        let mut subtree: Vec<&'a Node> = Vec::new();
        while let Some((node, rest, is_root)) = stack.pop() {
            let Some(rest) = rest else {
                emit(node);
                continue;
            };
            let (level, rest) = match rest.split_once('/') {
                Some((level, rest)) => (level, Some(rest)),
                None => (rest, None),
            };
            // Children in reverse, so the stack pops them in order.
            let children = node
                .children
                .iter()
                .rev()
                .filter(|(key, _)| !(is_root && key.starts_with('$')));
            match level {
                "#" if rest.is_none() => {
                    // The parent level and everything below it (§4.7.1.2).
                    emit(node);
                    subtree.extend(children.map(|(_, child)| child));
                    while let Some(node) = subtree.pop() {
                        emit(node);
                        subtree.extend(node.children.values().rev());
                    }
                }
                "+" => stack.extend(children.map(|(_, child)| (child, rest, false))),
                literal => {
                    if let Some(child) = node.children.get(literal) {
                        stack.push((child, rest, false));
                    }
                }
            }
        }
    }

    /// Calls `visitor` with every stored message, expired or not, in topic-level order. For
    /// snapshots and cluster synchronisation; it visits the whole store.
    pub fn for_each(&self, mut visitor: impl FnMut(&RetainedMessage)) {
        let mut stack = vec![&self.root];
        while let Some(node) = stack.pop() {
            if let Some(message) = node.message.as_deref() {
                visitor(message);
            }
            stack.extend(node.children.values().rev());
        }
    }

    /// The earliest time at which a stored message expires: when the runtime should call
    /// [`remove_expired`](Self::remove_expired) next. `None` if no message expires.
    #[must_use]
    pub fn next_expiry(&self) -> Option<u64> {
        self.expiries.first().map(|(at, _)| *at)
    }

    /// Removes the messages expired at `now`; returns how many. Costs O(log n) per message
    /// removed, not a scan of the store.
    pub fn remove_expired(&mut self, now: u64) -> usize {
        let mut removed = 0;
        while let Some((at, topic)) = self.expiries.first() {
            if *at > now {
                break;
            }
            let topic = topic.clone();
            if self.remove(&topic).is_some() {
                removed += 1;
            } else {
                // Unreachable: every indexed topic holds its message. Keep the loop finite.
                self.expiries.pop_first();
            }
        }
        removed
    }

    /// The number of trie nodes below the root: zero for an empty store, whatever was stored
    /// and removed before. For tests and memory metrics; it visits the store.
    #[must_use]
    pub fn node_count(&self) -> usize {
        let mut count = 0;
        let mut stack = vec![&self.root];
        while let Some(node) = stack.pop() {
            stack.extend(node.children.values());
            count += 1;
        }
        count - 1
    }
}

impl fmt::Debug for RetainedStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RetainedStore")
            .field("len", &self.len)
            .field("next_expiry", &self.next_expiry())
            .finish_non_exhaustive()
    }
}
