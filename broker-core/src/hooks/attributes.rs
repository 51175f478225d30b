//! [`Attributes`]: what an authentication hook learned about a client, for the hooks that
//! decide after it.

use std::sync::Arc;

/// Name-value pairs an authentication hook attaches to a connection when it accepts it (a
/// JWT's claims, the groups of a directory entry, ...). The runtime keeps them on the
/// connection's [`ClientInfo`](super::ClientInfo), so every later request of the connection
/// (authorization, rewriting) carries them, whichever hook or plugin instance answers it.
/// A re-authentication that is accepted replaces them.
///
/// Cheap to clone (shared); names are compared exactly; the first pair with a name wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Attributes(Arc<[(String, String)]>);

impl Attributes {
    /// The attributes `pairs`, in order.
    #[must_use]
    pub fn new(pairs: impl IntoIterator<Item = (String, String)>) -> Attributes {
        Attributes(pairs.into_iter().collect())
    }

    /// The value of the first attribute named `name`.
    #[must_use]
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether there are none.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Every pair, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::Attributes;

    #[test]
    fn the_first_attribute_of_a_name_is_the_one_read() {
        let attributes = Attributes::new([
            ("prefix".to_owned(), "a/".to_owned()),
            ("prefix".to_owned(), "b/".to_owned()),
            ("role".to_owned(), "admin".to_owned()),
        ]);
        assert_eq!(attributes.get("prefix"), Some("a/"));
        assert_eq!(attributes.get("role"), Some("admin"));
        assert_eq!(attributes.get("missing"), None);
        assert!(!attributes.is_empty());
        assert!(Attributes::default().is_empty());
        assert_eq!(attributes.iter().count(), 3);
    }
}
