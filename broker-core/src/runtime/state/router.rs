//! The subscription index as the runtime holds it: one [`SubscriptionTree`] keyed by
//! mailbox, behind a read-mostly lock that no caller sees. A publish takes the read lock for
//! one match; a SUBSCRIBE or UNSUBSCRIBE the write lock for its filters together.
//!
//! # What this module must never do
//!
//! Await, or call out (push to a mailbox, announce a route) while its lock is held: the
//! methods that change it report what changed through a callback run under the lock, which
//! only records it.

use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::router::{Delivery, SubscriptionEntry, SubscriptionTree};
use crate::runtime::queue::mailbox::SubscriberKey;
use crate::types::{QoS, TopicFilter, TopicName};

/// The broker's subscriptions.
#[derive(Debug, Default)]
pub(crate) struct Router {
    tree: RwLock<SubscriptionTree<SubscriberKey>>,
}

impl Router {
    fn read(&self) -> RwLockReadGuard<'_, SubscriptionTree<SubscriberKey>> {
        self.tree.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, SubscriptionTree<SubscriberKey>> {
        self.tree.write().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many subscriptions there are.
    pub(crate) fn len(&self) -> usize {
        self.read().len()
    }

    /// Who gets a message published to `topic` at `qos`, into `out`
    /// ([`SubscriptionTree::route`]), under the read lock for this one match.
    pub(crate) fn route(
        &self,
        topic: &TopicName,
        qos: QoS,
        publisher: Option<&SubscriberKey>,
        can_receive: impl FnMut(&SubscriberKey) -> bool,
        out: &mut Vec<Delivery<SubscriberKey>>,
    ) {
        self.read().route(topic, qos, publisher, can_receive, out);
    }

    /// Who gets a message another node forwarded for its subscribers outside shared groups
    /// ([`SubscriptionTree::route_unshared`]), under the read lock for this one match.
    pub(crate) fn route_unshared(
        &self,
        topic: &TopicName,
        qos: QoS,
        keep: impl FnMut(&SubscriberKey) -> bool,
        out: &mut Vec<Delivery<SubscriberKey>>,
    ) {
        self.read().route_unshared(topic, qos, keep, out);
    }

    /// The member of `group` that gets a message another node forwarded for it
    /// ([`SubscriptionTree::route_to_group`]), under the read lock.
    pub(crate) fn route_to_group(
        &self,
        group: &TopicFilter,
        topic: &TopicName,
        qos: QoS,
        can_receive: impl FnMut(&SubscriberKey) -> bool,
    ) -> Option<Delivery<SubscriberKey>> {
        self.read().route_to_group(group, topic, qos, can_receive)
    }

    /// Adds `key`'s subscriptions, under one write lock; `added` is told each filter that
    /// was not subscribed by `key` before (not a replaced subscription).
    pub(crate) fn subscribe_all<'a>(
        &self,
        key: &SubscriberKey,
        subscriptions: impl IntoIterator<Item = (&'a TopicFilter, SubscriptionEntry)>,
        mut added: impl FnMut(&'a TopicFilter),
    ) {
        let mut tree = self.write();
        for (filter, entry) in subscriptions {
            if tree.subscribe(filter, key.clone(), entry).is_none() {
                added(filter);
            }
        }
    }

    /// Removes `key`'s subscriptions to `filters`, under one write lock; `removed` is told
    /// each filter `key` was subscribed to.
    pub(crate) fn unsubscribe_all<'a>(
        &self,
        key: &SubscriberKey,
        filters: impl IntoIterator<Item = &'a TopicFilter>,
        mut removed: impl FnMut(&'a TopicFilter),
    ) {
        let mut tree = self.write();
        for filter in filters {
            if tree.unsubscribe(filter, key).is_some() {
                removed(filter);
            }
        }
    }

    /// Adds one subscription; returns whether it is new (not a replacement).
    pub(crate) fn subscribe(
        &self,
        filter: &TopicFilter,
        key: &SubscriberKey,
        entry: SubscriptionEntry,
    ) -> bool {
        self.write().subscribe(filter, key.clone(), entry).is_none()
    }

    /// Removes one subscription; returns whether there was one.
    pub(crate) fn unsubscribe(&self, filter: &TopicFilter, key: &SubscriberKey) -> bool {
        self.write().unsubscribe(filter, key).is_some()
    }

    /// Every filter `key` is subscribed to (a slow scan of the whole tree).
    pub(crate) fn filters_of(&self, key: &SubscriberKey) -> Vec<TopicFilter> {
        let mut filters = Vec::new();
        self.read().for_each_subscription(|filter, subscriber, _| {
            if subscriber == key {
                filters.push(filter.to_owned());
            }
        });
        filters
            .into_iter()
            .filter_map(|filter| TopicFilter::new(filter).ok())
            .collect()
    }

    /// Calls `visit` with every subscription (its full filter, its subscriber, its entry),
    /// under the read lock: the visitor only copies (the admin listings; a slow scan of the
    /// whole tree).
    pub(crate) fn for_each(&self, visit: impl FnMut(&str, &SubscriberKey, &SubscriptionEntry)) {
        self.read().for_each_subscription(visit);
    }

    /// For each of `filters` (shared subscriptions), under one read lock, the member of its
    /// group other than `leaving` that takes a message now, with its subscription, if any.
    pub(crate) fn pick_other_members<T>(
        &self,
        leaving: &SubscriberKey,
        items: impl IntoIterator<Item = (T, TopicFilter)>,
        mut picked: impl FnMut(T, TopicFilter, Option<(&SubscriberKey, &SubscriptionEntry)>),
    ) {
        let tree = self.read();
        for (item, filter) in items {
            let member = tree
                .shared_group(&filter)
                .and_then(|group| group.pick_excluding(leaving, |m| m.mailbox().is_online()));
            picked(item, filter, member);
        }
    }
}
