//! Helpers for Skein WASM plugins written in Rust (docs/plugins.md): what most authorization
//! and rewrite plugins need, with no dependency, so that it builds for
//! `wasm32-unknown-unknown` as it does for the host (where its tests run).
//!
//! ```
//! use skein_plugin_sdk::{expand, matches};
//!
//! let rule = expand("sensors/%c/#", "dev1", None).unwrap();
//! assert!(matches(&rule, "sensors/dev1/temperature"));
//! assert!(!matches(&rule, "sensors/dev2/temperature"));
//! // %u needs a user name.
//! assert_eq!(expand("users/%u/#", "dev1", None), None);
//! ```

/// Whether the topic filter `filter` matches `name`, level by level: `+` matches one level, a
/// final `#` the rest, the parent level included (MQTT 5.0 §4.7). `name` may be a filter
/// itself (a subscription): its `+` or `#` is then matched only by the same wildcard in
/// `filter` or by `#`, so a rule `public/#` covers the subscription `public/+/x` and a rule
/// `public/+` does not cover `public/#`.
#[must_use]
pub fn matches(filter: &str, name: &str) -> bool {
    let mut levels = name.split('/');
    for part in filter.split('/') {
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
/// `pattern` lines; `None` when the rule names `%u` and there is no user name (such a rule
/// matches nothing for that client).
#[must_use]
pub fn expand(rule: &str, client_id: &str, username: Option<&str>) -> Option<String> {
    let rule = rule.replace("%c", client_id);
    if rule.contains("%u") {
        return Some(rule.replace("%u", username?));
    }
    Some(rule)
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

    proptest! {
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
