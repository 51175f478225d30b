//! Which hook points a hook implements.

use std::fmt;
use std::ops::BitOr;

/// The set of hook points a hook takes part in. The chain calls a hook only for the points
/// in its set, and skips a point entirely (no request built, no cache lookup) when no hook
/// is interested; a plugin declares the same set when it is loaded.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Interest(u8);

impl Interest {
    /// No hook point.
    pub const NONE: Interest = Interest(0);
    /// [`Hook::authenticate`](super::Hook::authenticate).
    pub const AUTHENTICATE: Interest = Interest(1);
    /// [`Hook::authorize_publish`](super::Hook::authorize_publish).
    pub const AUTHORIZE_PUBLISH: Interest = Interest(1 << 1);
    /// [`Hook::authorize_subscribe`](super::Hook::authorize_subscribe).
    pub const AUTHORIZE_SUBSCRIBE: Interest = Interest(1 << 2);
    /// [`Hook::rewrite_publish_topic`](super::Hook::rewrite_publish_topic).
    pub const REWRITE_PUBLISH: Interest = Interest(1 << 3);
    /// [`Hook::rewrite_subscribe_filter`](super::Hook::rewrite_subscribe_filter).
    pub const REWRITE_SUBSCRIBE: Interest = Interest(1 << 4);
    /// [`Hook::on_event`](super::Hook::on_event).
    pub const EVENTS: Interest = Interest(1 << 5);
    /// Both authorization points.
    pub const AUTHORIZE: Interest =
        Interest(Self::AUTHORIZE_PUBLISH.0 | Self::AUTHORIZE_SUBSCRIBE.0);
    /// Both rewrite points.
    pub const REWRITE: Interest = Interest(Self::REWRITE_PUBLISH.0 | Self::REWRITE_SUBSCRIBE.0);
    /// Every hook point.
    pub const ALL: Interest = Interest(0b11_1111);

    /// Both sets.
    #[must_use]
    pub const fn union(self, other: Interest) -> Interest {
        Interest(self.0 | other.0)
    }

    /// The points of `self` that are not in `other`.
    #[must_use]
    pub const fn difference(self, other: Interest) -> Interest {
        Interest(self.0 & !other.0)
    }

    /// Whether every point of `other` is in `self`.
    #[must_use]
    pub const fn contains(self, other: Interest) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether `self` and `other` share a point.
    #[must_use]
    pub const fn intersects(self, other: Interest) -> bool {
        self.0 & other.0 != 0
    }

    /// Whether the set is empty.
    #[must_use]
    pub const fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for Interest {
    type Output = Interest;

    fn bitor(self, other: Interest) -> Interest {
        self.union(other)
    }
}

impl fmt::Debug for Interest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const NAMES: [(Interest, &str); 6] = [
            (Interest::AUTHENTICATE, "AUTHENTICATE"),
            (Interest::AUTHORIZE_PUBLISH, "AUTHORIZE_PUBLISH"),
            (Interest::AUTHORIZE_SUBSCRIBE, "AUTHORIZE_SUBSCRIBE"),
            (Interest::REWRITE_PUBLISH, "REWRITE_PUBLISH"),
            (Interest::REWRITE_SUBSCRIBE, "REWRITE_SUBSCRIBE"),
            (Interest::EVENTS, "EVENTS"),
        ];
        let mut set = f.debug_set();
        for (point, name) in NAMES {
            if self.contains(point) {
                set.entry(&format_args!("{name}"));
            }
        }
        set.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_combine_and_contain() {
        let set = Interest::AUTHENTICATE | Interest::AUTHORIZE;
        assert!(set.contains(Interest::AUTHORIZE_PUBLISH));
        assert!(set.contains(Interest::AUTHORIZE_SUBSCRIBE));
        assert!(!set.contains(Interest::EVENTS));
        assert!(!set.contains(Interest::ALL));
        assert!(Interest::ALL.contains(set | Interest::REWRITE | Interest::EVENTS));
        assert!(Interest::NONE.is_empty());
        assert!(set.intersects(Interest::AUTHORIZE_PUBLISH | Interest::EVENTS));
        assert!(!set.intersects(Interest::REWRITE | Interest::EVENTS));
        assert!(!Interest::NONE.intersects(Interest::ALL));
        assert_eq!(
            Interest::ALL.difference(Interest::EVENTS | Interest::REWRITE),
            Interest::AUTHENTICATE | Interest::AUTHORIZE
        );
        assert_eq!(
            format!("{:?}", Interest::REWRITE),
            "{REWRITE_PUBLISH, REWRITE_SUBSCRIBE}"
        );
    }
}
