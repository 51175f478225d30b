//! One allow or deny rule of [`TopicRules`](super::TopicRules).

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
            Effect::Allow => covers(rule, filter),
            Effect::Deny => overlaps(rule, filter),
        }
    }
}

/// Whether every topic `filter` matches is matched by `rule`.
fn covers(rule: &str, filter: &str) -> bool {
    let mut rule_levels = rule.split('/').peekable();
    if filter.starts_with('$') && matches!(rule_levels.peek(), Some(&("+" | "#"))) {
        return false;
    }
    let mut filter_levels = filter.split('/');
    loop {
        match (rule_levels.next(), filter_levels.next()) {
            (Some("#"), _) if rule_levels.peek().is_none() => return true,
            (Some(_), Some("#")) => return false,
            (Some("+"), Some(_)) => {}
            (Some(r), Some(f)) if r == f => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether some topic is matched by both filters.
fn overlaps(a: &str, b: &str) -> bool {
    let wild_first = |f: &str| matches!(f.split('/').next(), Some("+" | "#"));
    if (a.starts_with('$') && wild_first(b)) || (b.starts_with('$') && wild_first(a)) {
        return false;
    }
    let mut a_levels = a.split('/');
    let mut b_levels = b.split('/');
    loop {
        // `#` is always the last level, and also matches its parent: `a/#` matches `a`.
        match (a_levels.next(), b_levels.next()) {
            (Some("#"), _) | (_, Some("#")) => return true,
            (Some("+"), Some(_)) | (Some(_), Some("+")) => {}
            (Some(x), Some(y)) if x == y => {}
            (None, None) => return true,
            // One ended and the other goes on with a level that is not `#`.
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers_filters() {
        for (rule, filter) in [
            ("#", "a/b"),
            ("a/#", "a"),
            ("a/#", "a/+/b"),
            ("a/+", "a/+"),
            ("a/+", "a/b"),
            ("a/b", "a/b"),
            ("$SYS/#", "$SYS/broker/+"),
            ("a/#", "a/#"),
        ] {
            assert!(covers(rule, filter), "{rule} covers {filter}");
        }
        for (rule, filter) in [
            ("a/+", "a/#"),
            ("a/b", "a/+"),
            ("a/b", "a/b/c"),
            ("a/b/c", "a/b"),
            ("#", "$SYS/x"),
            ("+/x", "$SYS/x"),
            ("a/+/c", "a/#"),
        ] {
            assert!(!covers(rule, filter), "{rule} does not cover {filter}");
        }
    }

    #[test]
    fn overlapping_filters() {
        for (a, b) in [
            ("secret/#", "#"),
            ("secret/#", "+/x"),
            ("a/+", "a/b"),
            ("a/#", "a"),
            ("a", "a/#"),
            ("+/+", "a/b"),
            ("$SYS/#", "$SYS/+"),
        ] {
            assert!(overlaps(a, b), "{a} overlaps {b}");
            assert!(overlaps(b, a), "{b} overlaps {a}");
        }
        for (a, b) in [
            ("a/b", "a/c"),
            ("a/+", "a/b/c"),
            ("a", "a/b"),
            ("$SYS/#", "#"),
            ("$SYS/x", "+/x"),
        ] {
            assert!(!overlaps(a, b), "{a} does not overlap {b}");
            assert!(!overlaps(b, a), "{b} does not overlap {a}");
        }
    }
}
