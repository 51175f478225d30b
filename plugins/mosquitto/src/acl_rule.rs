//! One `topic` or `pattern` line of an ACL file, and how it judges a request.

use std::borrow::Cow;

use broker_core::hooks::{filter_covers, filters_overlap};
use broker_core::router::matches;
use broker_core::types::TopicFilter;

use crate::{AclAccess, AclPermission};

/// What a request is about: a topic to read or write, or a subscription filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Target<'a> {
    /// A topic name and the access asked for: Mosquitto's per-message check.
    Topic(&'a str, AclAccess),
    /// The matching part of a subscription filter (after any `$share/{ShareName}/`).
    Subscription(&'a str),
}

/// What one line says about a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The line grants it: stop, allowed.
    Allow,
    /// A `deny` line applies: stop, refused.
    Deny,
    /// The line does not apply (or applies without granting this access): go on.
    Skip,
}

impl Target<'_> {
    /// What a line with topic filter `acl` and `permission` says about this request.
    ///
    /// - A topic: the line applies when `acl` matches the topic (Mosquitto's
    ///   `mosquitto_topic_matches_sub`); `deny` refuses, a grant of the access allows, any
    ///   other grant is skipped.
    /// - A subscription: a `deny` line refuses as soon as one topic could match both the
    ///   line and the filter; a line granting `read` allows only if it covers every topic
    ///   the filter can match.
    pub(crate) fn judge(self, acl: &str, permission: AclPermission) -> Verdict {
        match self {
            Target::Topic(topic, access) => {
                if !matches(acl, topic) {
                    Verdict::Skip
                } else if permission.is_deny() {
                    Verdict::Deny
                } else if permission.grants(access) {
                    Verdict::Allow
                } else {
                    Verdict::Skip
                }
            }
            Target::Subscription(filter) => {
                if permission.is_deny() {
                    if filters_overlap(acl, filter) {
                        Verdict::Deny
                    } else {
                        Verdict::Skip
                    }
                } else if permission.grants(AclAccess::Read) && filter_covers(acl, filter) {
                    Verdict::Allow
                } else {
                    Verdict::Skip
                }
            }
        }
    }
}

/// A `topic [access] <filter>` line: for anonymous clients before the first `user` line,
/// for that user after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AclRule {
    pub(crate) topic: TopicFilter,
    pub(crate) permission: AclPermission,
}

/// A `pattern [access] <filter>` line: for every client, with `%c` replaced by its client
/// id and `%u` by its user name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AclPattern {
    /// The filter as written, `%c` and `%u` included.
    pub(crate) template: TopicFilter,
    pub(crate) permission: AclPermission,
    uses_client_id: bool,
    uses_username: bool,
}

impl AclPattern {
    pub(crate) fn new(template: TopicFilter, permission: AclPermission) -> Self {
        AclPattern {
            uses_client_id: template.contains("%c"),
            uses_username: template.contains("%u"),
            template,
            permission,
        }
    }

    /// Whether the pattern has neither `%c` nor `%u` (Mosquitto warns about it).
    pub(crate) fn is_constant(&self) -> bool {
        !self.uses_client_id && !self.uses_username
    }

    /// The filter for this client; `None` when the pattern uses `%u` and the client has no
    /// user name (Mosquitto skips such a pattern). Substitution goes left to right: `%c` and
    /// `%u` are replaced, any other `%` is kept (so `%%c` is `%` then the client id).
    pub(crate) fn filter_for<'a>(
        &'a self,
        client_id: &str,
        username: Option<&str>,
    ) -> Option<Cow<'a, str>> {
        if self.uses_username && username.is_none() {
            return None;
        }
        if self.is_constant() {
            return Some(Cow::Borrowed(self.template.as_str()));
        }
        let mut out = String::with_capacity(self.template.len() + client_id.len());
        let mut rest = self.template.as_str();
        while let Some((before, after)) = rest.split_once('%') {
            out.push_str(before);
            if let Some(after) = after.strip_prefix('c') {
                out.push_str(client_id);
                rest = after;
            } else if let (Some(after), Some(username)) = (after.strip_prefix('u'), username) {
                out.push_str(username);
                rest = after;
            } else {
                out.push('%');
                rest = after;
            }
        }
        out.push_str(rest);
        Some(Cow::Owned(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(template: &str) -> AclPattern {
        AclPattern::new(TopicFilter::new(template).unwrap(), AclPermission::Read)
    }

    #[test]
    fn substitution() {
        let p = pattern("a/%c/b/%u/%%c/%x");
        assert_eq!(
            p.filter_for("cid", Some("usr")).as_deref(),
            Some("a/cid/b/usr/%cid/%x")
        );
        assert_eq!(p.filter_for("cid", None), None);
        assert_eq!(
            pattern("c/%c").filter_for("x", None).as_deref(),
            Some("c/x")
        );
        assert!(pattern("fixed/#").is_constant());
    }

    #[test]
    fn judging_topics_and_subscriptions() {
        use AclPermission::*;
        let t = Target::Topic("a/b", AclAccess::Write);
        assert_eq!(t.judge("a/+", Write), Verdict::Allow);
        assert_eq!(t.judge("a/+", Read), Verdict::Skip);
        assert_eq!(t.judge("a/#", Deny), Verdict::Deny);
        assert_eq!(t.judge("b/#", Deny), Verdict::Skip);
        let s = Target::Subscription("a/+");
        assert_eq!(s.judge("a/#", ReadWrite), Verdict::Allow);
        assert_eq!(s.judge("a/b", Read), Verdict::Skip);
        assert_eq!(s.judge("a/#", Write), Verdict::Skip);
        assert_eq!(s.judge("a/b", Deny), Verdict::Deny);
    }
}
