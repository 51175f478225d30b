//! The reference definition of topic matching (MQTT 5.0 §4.7, 3.1.1 §4.7).
//!
//! [`matches`] compares one filter with one topic. It is the oracle the property tests hold
//! the [`SubscriptionTree`](super::SubscriptionTree) and the
//! [`RetainedStore`](super::RetainedStore) to; neither of them calls it on the publish path.

/// Whether `topic` matches `filter` (MQTT 5.0 §4.7).
///
/// `filter` is the matching part of a filter: [`TopicFilter::matching_filter`], which drops
/// the `$share/{ShareName}/` prefix of a shared subscription. The rules:
///
/// - levels are separated by `/`, and an empty level is a level: `a//b` has three, `/` two
///   (§4.7.1.1);
/// - `+` matches exactly one level, empty or not: `sport/+` matches `sport/` but not `sport`
///   (§4.7.1.3);
/// - `#`, the last level, matches its parent level and any number of levels below it:
///   `sport/#` matches `sport`, `sport/tennis` and `sport/tennis/player1` (§4.7.1.2);
/// - other levels match character for character, with no normalization ([MQTT-4.7.3-4]);
/// - a topic starting with `$` is not matched by a filter whose first level is `+` or `#`
///   ([MQTT-4.7.2-1]): `#` does not match `$SYS/uptime`, `$SYS/#` does.
///
/// Given an invalid filter (one a [`TopicFilter`] rejects) the function does not panic: a
/// `#` that is not the last level compares as literal text.
///
/// [`TopicFilter`]: crate::types::TopicFilter
/// [`TopicFilter::matching_filter`]: crate::types::TopicFilter::matching_filter
#[must_use]
pub fn matches(filter: &str, topic: &str) -> bool {
    let mut filter_levels = filter.split('/').peekable();
    if topic.starts_with('$') && matches!(filter_levels.peek(), Some(&("+" | "#"))) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    loop {
        match (filter_levels.next(), topic_levels.next()) {
            (Some("#"), _) if filter_levels.peek().is_none() => return true,
            (Some("+"), Some(_)) => {}
            (Some(f), Some(t)) if f == t => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::matches;

    #[track_caller]
    fn check(filter: &str, topic: &str, expected: bool) {
        assert_eq!(matches(filter, topic), expected, "{filter:?} vs {topic:?}");
    }

    // §4.7.1.2, non-normative comment under [MQTT-4.7.1-1].
    #[test]
    fn multi_level_wildcard_examples_mqtt_4_7_1_1() {
        for topic in [
            "sport/tennis/player1",
            "sport/tennis/player1/ranking",
            "sport/tennis/player1/score/wimbledon",
        ] {
            check("sport/tennis/player1/#", topic, true);
        }
        check("sport/#", "sport", true);
        check("sport/#", "sports", false);
        check("#", "sport/tennis", true);
        check("#", "/", true);
        check("sport/tennis/#", "sport/tennis", true);
        check("sport/tennis/#", "sport", false);
    }

    // §4.7.1.3, non-normative comment under [MQTT-4.7.1-2].
    #[test]
    fn single_level_wildcard_examples_mqtt_4_7_1_2() {
        check("sport/tennis/+", "sport/tennis/player1", true);
        check("sport/tennis/+", "sport/tennis/player2", true);
        check("sport/tennis/+", "sport/tennis/player1/ranking", false);
        check("sport/+", "sport", false);
        check("sport/+", "sport/", true);
        check("+/+", "/finance", true);
        check("/+", "/finance", true);
        check("+", "/finance", false);
        check("sport/+/player1", "sport/tennis/player1", true);
        check("+/tennis/#", "sport/tennis", true);
        check("+/tennis/#", "sport/tennis/player1/ranking", true);
        check("+/tennis/#", "sport/golf", false);
        check("+/#", "sport", true);
    }

    // §4.7.2, non-normative comments under [MQTT-4.7.2-1].
    #[test]
    fn dollar_topics_mqtt_4_7_2_1() {
        check("#", "$SYS", false);
        check("#", "$SYS/uptime", false);
        check("+/monitor/Clients", "$SYS/monitor/Clients", false);
        check("+", "$", false);
        check("$SYS/#", "$SYS/monitor/Clients", true);
        check("$SYS/#", "$SYS", true);
        check("$SYS/monitor/+", "$SYS/monitor/Clients", true);
        // Only the first level counts: a `$` further down is an ordinary character.
        check("+/$SYS", "a/$SYS", true);
        check("a/#", "a/$b", true);
    }

    // §4.7.3: case sensitive, spaces allowed, leading and trailing `/` are distinct.
    #[test]
    fn topic_semantics_mqtt_4_7_3() {
        check("ACCOUNTS", "Accounts", false);
        check("Accounts payable", "Accounts payable", true);
        check("/finance", "finance", false);
        check("finance/", "finance", false);
        check("a//b", "a//b", true);
        check("a/+/b", "a//b", true);
        check("a/b", "a/b/c", false);
        check("a/b/c", "a/b", false);
    }

    #[test]
    fn invalid_filters_do_not_panic() {
        check("#/a", "#/a", true);
        check("#/a", "x/a", false);
        check("", "", true);
    }
}
