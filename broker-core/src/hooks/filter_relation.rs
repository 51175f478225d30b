//! How a rule's filter relates to a subscription filter: does it cover every topic the
//! filter can match, or share at least one with it?
//!
//! An authorization hook that grants or refuses topics by filter (the built-in
//! [`TopicRules`](super::TopicRules), a Mosquitto ACL file, a plugin's rule table) has to
//! judge a SUBSCRIBE whose filter may hold wildcards too: a grant applies when it covers the
//! whole filter ([`filter_covers`]), a refusal as soon as the two share a topic
//! ([`filters_overlap`]). For one topic name against one filter, use
//! [`router::matches`](crate::router::matches). Both relations follow the matching rules of
//! MQTT 5.0 §4.7, the `$` rule of [MQTT-4.7.2-1] included, and are pure functions of their
//! arguments: no allocation, no state.
//!
//! Arguments are the matching part of a filter ([`TopicFilter::matching_filter`], without a
//! `$share/{ShareName}/` prefix), valid as [`TopicFilter`] checks them. Given an invalid
//! filter the functions do not panic, but their answer is unspecified.
//!
//! [`TopicFilter`]: crate::types::TopicFilter
//! [`TopicFilter::matching_filter`]: crate::types::TopicFilter::matching_filter

/// Whether every topic `filter` can match is also matched by `rule`: `a/#` covers `a/+/b`
/// and `a`; `a/+` does not cover `a/#`; `#` does not cover `$SYS/x` ([MQTT-4.7.2-1]).
///
/// ```
/// use broker_core::hooks::filter_covers;
///
/// assert!(filter_covers("sport/#", "sport/+/player1"));
/// assert!(!filter_covers("sport/+", "sport/#"));
/// assert!(!filter_covers("#", "$SYS/broker/uptime"));
/// ```
#[must_use]
pub fn filter_covers(rule: &str, filter: &str) -> bool {
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
            (Some(a), Some(f)) if a == f => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether some topic is matched by both filters: `secret/#` overlaps `#` and `+/x`;
/// `$SYS/#` does not overlap `#` ([MQTT-4.7.2-1]). The relation is symmetric.
///
/// ```
/// use broker_core::hooks::filters_overlap;
///
/// assert!(filters_overlap("secret/#", "+/x"));
/// assert!(!filters_overlap("a/+", "a/b/c"));
/// ```
#[must_use]
pub fn filters_overlap(a: &str, b: &str) -> bool {
    let wild_first = |f: &str| matches!(f.split('/').next(), Some("+" | "#"));
    if (a.starts_with('$') && wild_first(b)) || (b.starts_with('$') && wild_first(a)) {
        return false;
    }
    let mut a_levels = a.split('/');
    let mut b_levels = b.split('/');
    loop {
        // `#` is the last level, and also matches its parent: `a/#` matches `a`.
        match (a_levels.next(), b_levels.next()) {
            (Some("#"), _) | (_, Some("#")) => return true,
            (Some("+"), Some(_)) | (Some(_), Some("+")) => {}
            (Some(x), Some(y)) if x == y => {}
            (None, None) => return true,
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
            assert!(filter_covers(rule, filter), "{rule} covers {filter}");
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
            assert!(
                !filter_covers(rule, filter),
                "{rule} does not cover {filter}"
            );
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
            assert!(filters_overlap(a, b), "{a} overlaps {b}");
            assert!(filters_overlap(b, a), "{b} overlaps {a}");
        }
        for (a, b) in [
            ("a/b", "a/c"),
            ("a/+", "a/b/c"),
            ("a", "a/b"),
            ("$SYS/#", "#"),
            ("$SYS/x", "+/x"),
        ] {
            assert!(!filters_overlap(a, b), "{a} does not overlap {b}");
            assert!(!filters_overlap(b, a), "{b} does not overlap {a}");
        }
    }
}
