//! How a rule's filter relates to a subscription filter: does it cover every topic the
//! filter can match, or share at least one with it? Used by the built-in `TopicRules` and by
//! the Mosquitto ACL file; both relations take the `$` rule of [MQTT-4.7.2-1] into account.

/// Whether every topic `filter` can match is matched by `acl` (`a/#` covers `a/+/b` and
/// `a`; `a/+` does not cover `a/#`; `#` does not cover `$SYS/x`).
pub(crate) fn covers(acl: &str, filter: &str) -> bool {
    let mut acl_levels = acl.split('/').peekable();
    if filter.starts_with('$') && matches!(acl_levels.peek(), Some(&("+" | "#"))) {
        return false;
    }
    let mut filter_levels = filter.split('/');
    loop {
        match (acl_levels.next(), filter_levels.next()) {
            (Some("#"), _) if acl_levels.peek().is_none() => return true,
            (Some(_), Some("#")) => return false,
            (Some("+"), Some(_)) => {}
            (Some(a), Some(f)) if a == f => {}
            (None, None) => return true,
            _ => return false,
        }
    }
}

/// Whether some topic is matched by both filters (`secret/#` overlaps `#` and `+/x`).
pub(crate) fn overlaps(a: &str, b: &str) -> bool {
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
