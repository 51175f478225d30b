//! One allow or deny rule of [`TopicRules`](super::TopicRules).

use crate::hooks::{filter_covers, filters_overlap};
use crate::router::matches;
use crate::types::{TopicFilter, TopicName};

/// Which requests a rule applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Publishing.
    Publish,
    /// Subscribing.
    Subscribe,
    /// Both.
    PublishAndSubscribe,
}

impl Access {
    fn publish(self) -> bool {
        matches!(self, Access::Publish | Access::PublishAndSubscribe)
    }

    fn subscribe(self) -> bool {
        matches!(self, Access::Subscribe | Access::PublishAndSubscribe)
    }
}

/// What a matching rule decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Allow.
    Allow,
    /// Refuse with 0x87 Not authorized.
    Deny,
}

/// Allow or deny publishing to, or subscribing to, the topics of a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRule {
    /// The topics the rule is about (wildcards allowed).
    pub filter: TopicFilter,
    /// Publish, subscribe, or both.
    pub access: Access,
    /// Allow or deny.
    pub effect: Effect,
}

impl TopicRule {
    /// Whether the rule decides a publish to `topic`: the topic matches the rule's filter.
    #[must_use]
    pub fn applies_to_publish(&self, topic: &TopicName) -> bool {
        self.access.publish() && matches(self.filter.matching_filter(), topic)
    }

    /// Whether the rule decides a subscription to `filter`. An allow rule must cover every
    /// topic the filter can match (`a/#` covers `a/+/b`; `a/+` does not cover `a/#`); a
    /// deny rule applies as soon as one topic could match both (deny `secret/#` refuses a
    /// subscription to `#`).
    #[must_use]
    pub fn applies_to_subscribe(&self, filter: &TopicFilter) -> bool {
        if !self.access.subscribe() {
            return false;
        }
        let rule = self.filter.matching_filter();
        let filter = filter.matching_filter();
        match self.effect {
            Effect::Allow => filter_covers(rule, filter),
            Effect::Deny => filters_overlap(rule, filter),
        }
    }
}
