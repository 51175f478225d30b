//! The one rule node names and cluster ids follow: 1 to 64 characters of ASCII letters,
//! digits, `.`, `_` and `-`, so that they read well in logs, metrics labels and DNS names.

/// The longest name allowed.
const MAX_LEN: usize = 64;

/// Whether `value` is a valid name.
pub(crate) fn is_valid(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= MAX_LEN
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

#[cfg(test)]
mod tests {
    use super::is_valid;

    #[test]
    fn names_are_short_and_plain() {
        assert!(is_valid("node-1.eu_west"));
        assert!(!is_valid(""));
        assert!(!is_valid("a b"));
        assert!(!is_valid("a/b"));
        assert!(!is_valid(&"x".repeat(65)));
    }
}
