//! MQTT topic filters, and Mosquitto's `%c` / `%u` patterns.

/// Whether the topic filter `filter` matches `name`, level by level: `+` matches one level, a
/// final `#` the rest, the parent level included (MQTT 5.0 §4.7). `name` may be a filter
/// itself (a subscription): its `+` or `#` is then matched only by the same wildcard in
/// `filter` or by `#`, so a rule `public/#` covers the subscription `public/+/x` and a rule
/// `public/+` does not cover `public/#`.
#[must_use]
pub fn matches(filter: &str, name: &str) -> bool {
    matches_levels(filter.split('/'), name)
}

fn matches_levels<'a>(filter: impl Iterator<Item = &'a str>, name: &str) -> bool {
    let mut levels = name.split('/');
    for part in filter {
        if part == "#" {
            return true;
        }
        match levels.next() {
            Some(level) if part == "+" && level != "#" => {}
            Some(level) if part == level => {}
            _ => return false,
        }
    }
    levels.next().is_none()
}

/// `rule` with `%c` replaced by `client_id` and `%u` by `username`, as in Mosquitto's ACL
/// `pattern` lines; `None` when the rule names `%u` and there is no user name, or when a
/// value it puts in holds `+` or `#` (a client named `+` would otherwise widen
/// `sensors/%c/#` to everyone's sensors; Mosquitto refuses such names too): such a rule
/// matches nothing for that client.
#[must_use]
pub fn expand(rule: &str, client_id: &str, username: Option<&str>) -> Option<String> {
    let wild = |value: &str| value.contains(['+', '#']);
    let mut rule = rule.to_owned();
    if rule.contains("%c") {
        if wild(client_id) {
            return None;
        }
        rule = rule.replace("%c", client_id);
    }
    if rule.contains("%u") {
        let username = username.filter(|u| !wild(u))?;
        rule = rule.replace("%u", username);
    }
    Some(rule)
}

/// One level of a pattern: a plain level, or all the levels of the value `%c` / `%u` stands
/// for.
enum Level<'a> {
    One(std::iter::Once<&'a str>),
    Value(std::str::Split<'a, char>),
}

impl<'a> Iterator for Level<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        match self {
            Level::One(level) => level.next(),
            Level::Value(levels) => levels.next(),
        }
    }
}

/// `matches(&expand(pattern, client_id, username)?, name)`, without allocating when `%c` and
/// `%u` are whole levels of `pattern` (`sensors/%c/#`, as Mosquitto requires); a pattern
/// that uses them inside a level (`dev-%c/#`) is expanded first.
#[must_use]
pub fn matches_pattern(pattern: &str, name: &str, client_id: &str, username: Option<&str>) -> bool {
    let whole_levels = pattern
        .split('/')
        .all(|level| !level.contains('%') || level == "%c" || level == "%u");
    if !whole_levels {
        return expand(pattern, client_id, username).is_some_and(|rule| matches(&rule, name));
    }
    if names_a_missing_value(pattern, client_id, username) {
        return false;
    }
    let levels = pattern
        .split('/')
        .flat_map(|level| match (level, username) {
            ("%c", _) => Level::Value(client_id.split('/')),
            ("%u", Some(username)) => Level::Value(username.split('/')),
            (other, _) => Level::One(std::iter::once(other)),
        });
    matches_levels(levels, name)
}

/// Whether `pattern` names a value that cannot be put in: `%u` without a user name, or a
/// value holding a wildcard.
fn names_a_missing_value(pattern: &str, client_id: &str, username: Option<&str>) -> bool {
    let wild = |value: &str| value.contains(['+', '#']);
    pattern.split('/').any(|level| match level {
        "%c" => wild(client_id),
        "%u" => username.is_none_or(wild),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use proptest::prelude::*;

    #[test]
    fn filters_match_as_mqtt_says_and_cover_narrower_filters_only() {
        assert!(matches("a/+/c", "a/b/c"));
        assert!(!matches("a/+/c", "a/b/c/d"));
        assert!(matches("a/#", "a"), "# matches the parent level");
        assert!(matches("a/#", "a/b/c"));
        assert!(!matches("a/b", "a"));
        assert!(matches("public/#", "public/+/x"));
        assert!(!matches("public/+", "public/#"));
        assert!(matches("public/+", "public/+"));
        assert!(matches("#", "anything/at/all"));
    }

    #[test]
    fn percent_c_and_percent_u_are_put_in() {
        assert_eq!(
            expand("a/%c/%u/x", "dev", Some("bob")).as_deref(),
            Some("a/dev/bob/x")
        );
        assert_eq!(expand("a/%c", "dev", None).as_deref(), Some("a/dev"));
        assert_eq!(expand("a/%u", "dev", None), None);
    }

    #[test]
    fn a_value_holding_a_wildcard_or_a_missing_user_name_matches_nothing() {
        assert_eq!(expand("sensors/%c/#", "+", None), None);
        assert_eq!(expand("users/%u/#", "dev", Some("#")), None);
        assert!(!matches_pattern(
            "sensors/%c/#",
            "sensors/dev2/t",
            "+",
            None
        ));
        assert!(!matches_pattern(
            "users/%u/#",
            "users/x/t",
            "dev",
            Some("#")
        ));
        assert!(!matches_pattern("users/%u/#", "users/x/t", "dev", None));
        // Even where a `#` before the placeholder would have ended the walk.
        assert!(!matches_pattern("#/%u", "a/b", "dev", None));
    }

    #[test]
    fn patterns_match_whole_level_and_inner_placeholders() {
        assert!(matches_pattern(
            "sensors/%c/#",
            "sensors/dev1/t",
            "dev1",
            None
        ));
        assert!(!matches_pattern(
            "sensors/%c/#",
            "sensors/dev2/t",
            "dev1",
            None
        ));
        assert!(matches_pattern("a/%c/%u", "a/dev/bob", "dev", Some("bob")));
        // A value with a `/` stands for several levels, as its expansion does.
        assert!(matches_pattern("a/%c/x", "a/b/c/x", "b/c", None));
        assert!(matches_pattern("dev-%c/#", "dev-7/t", "7", None));
        assert!(!matches_pattern("dev-%c/#", "dev-8/t", "7", None));
    }

    proptest! {
        /// The allocation-free match agrees with expanding then matching.
        #[test]
        fn matches_pattern_is_expand_then_matches(
            pattern in proptest::collection::vec(prop_oneof![
                Just("%c".to_owned()), Just("%u".to_owned()), Just("+".to_owned()),
                Just("a".to_owned()), Just("b".to_owned()), Just("x-%c".to_owned()),
            ], 1..5),
            hash in any::<bool>(),
            name in proptest::collection::vec(prop_oneof![Just("a"), Just("b"), Just("c"), Just("x-c")], 1..6),
            client in prop_oneof![Just("c"), Just("a/b"), Just("+")],
            user in prop_oneof![Just(None), Just(Some("a")), Just(Some("b/c")), Just(Some("#"))],
        ) {
            let mut pattern = pattern.join("/");
            if hash {
                pattern.push_str("/#");
            }
            let name = name.join("/");
            let expected = expand(&pattern, client, user).is_some_and(|rule| matches(&rule, &name));
            prop_assert_eq!(matches_pattern(&pattern, &name, client, user), expected);
        }

        /// Every topic matches itself and `#`; a filter with its last level replaced by `+`
        /// matches it too.
        #[test]
        fn a_topic_matches_itself_hash_and_plus(levels in proptest::collection::vec("[a-z0-9]{1,5}", 1..6)) {
            let topic = levels.join("/");
            prop_assert!(matches(&topic, &topic));
            prop_assert!(matches("#", &topic));
            let mut plus = levels.clone();
            if let Some(last) = plus.last_mut() {
                *last = "+".to_owned();
            }
            prop_assert!(matches(&plus.join("/"), &topic));
        }
    }
}
