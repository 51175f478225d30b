//! The parsed content of an ACL file, and Mosquitto's decision procedure over it.

use std::collections::HashMap;
use std::path::Path;

use broker_core::types::TopicFilter;

use crate::acl_rule::{AclPattern, AclRule, Target, Verdict};
use crate::{AclFileError, AclLineProblem, AclPermission};

/// The rules of one version of an ACL file, each list with its `deny` lines first (as
/// Mosquitto orders them: a `deny` wins over the grants of its own list).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct AclTable {
    /// `topic` lines before the first `user` line: clients without a user name.
    anonymous: Vec<AclRule>,
    /// `topic` lines after `user <name>`, blocks of the same name merged.
    users: HashMap<String, Vec<AclRule>>,
    /// `pattern` lines, wherever they are: every client.
    patterns: Vec<AclPattern>,
}

impl AclTable {
    /// Parses the text of the file at `path` (named in errors only), with Mosquitto's rules
    /// (`src/security_default.c`, `aclfile__parse`):
    ///
    /// - blank lines and lines starting with `#` are skipped;
    /// - `topic [read|write|readwrite|deny] <filter>`; with one word after `topic`, that
    ///   word is the filter and the access is `readwrite`; the filter is the rest of the
    ///   line, blanks around it trimmed (it may hold spaces);
    /// - `pattern ...` likewise, `%c` and `%u` substituted when checking;
    /// - `user <name>` starts that user's block (the rest of the line, trimmed).
    ///
    /// Words are separated by spaces or tabs (Mosquitto: spaces only). A line Mosquitto
    /// refuses is refused here, naming the line.
    pub(crate) fn parse(path: &Path, text: &str) -> Result<Self, AclFileError> {
        let mut table = AclTable::default();
        let mut user: Option<String> = None;
        for (index, line) in text.lines().enumerate() {
            let error = |problem| AclFileError::Line {
                path: path.to_owned(),
                line: index + 1,
                problem,
            };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (keyword, rest) = split_word(line);
            match keyword {
                "topic" | "pattern" => {
                    let keyword = if keyword == "topic" {
                        "topic"
                    } else {
                        "pattern"
                    };
                    let (permission, topic) = access_and_topic(keyword, rest).map_err(error)?;
                    let topic = TopicFilter::new(topic).map_err(|violation| {
                        error(AclLineProblem::InvalidTopic {
                            topic: topic.to_owned(),
                            violation,
                        })
                    })?;
                    if keyword == "pattern" {
                        table.add_pattern(AclPattern::new(topic, permission));
                    } else {
                        let rules = match &user {
                            Some(name) => table.users.entry(name.clone()).or_default(),
                            None => &mut table.anonymous,
                        };
                        rules.push(AclRule { topic, permission });
                    }
                }
                "user" if !rest.is_empty() => user = Some(rest.to_owned()),
                "user" => return Err(error(AclLineProblem::MissingUsername)),
                other => return Err(error(AclLineProblem::UnknownKeyword(other.to_owned()))),
            }
        }
        table.order();
        Ok(table)
    }

    fn add_pattern(&mut self, pattern: AclPattern) {
        if pattern.is_constant() {
            tracing::warn!(
                "ACL pattern '{}' contains neither %c nor %u.",
                pattern.template
            );
        }
        self.patterns.push(pattern);
    }

    /// Puts every list's `deny` lines first, keeping the file order otherwise.
    fn order(&mut self) {
        let lists = std::iter::once(&mut self.anonymous).chain(self.users.values_mut());
        for rules in lists {
            rules.sort_by_key(|rule| !rule.permission.is_deny());
        }
        self.patterns
            .sort_by_key(|pattern| !pattern.permission.is_deny());
    }

    /// Mosquitto's `acl_check` for a client (`client_id`, `username`) and a request:
    ///
    /// 1. the client's own list (its user's block, or the anonymous lines for a client
    ///    without user name), in order: the first line that decides, decides;
    /// 2. then, if there are patterns: a client id or user name holding `+` or `#` is
    ///    refused (it could widen a pattern); otherwise the patterns, in order, the first
    ///    that decides;
    /// 3. refused.
    pub(crate) fn decide(&self, client_id: &str, username: Option<&str>, target: Target) -> bool {
        let own = match username {
            Some(name) => self.users.get(name).map_or(&[][..], Vec::as_slice),
            None => &self.anonymous,
        };
        for rule in own {
            match target.judge(rule.topic.as_str(), rule.permission) {
                Verdict::Allow => return true,
                Verdict::Deny => return false,
                Verdict::Skip => {}
            }
        }
        if self.patterns.is_empty() {
            return false;
        }
        let wild = |s: &str| s.contains(['+', '#']);
        if wild(client_id) || username.is_some_and(wild) {
            return false;
        }
        for pattern in &self.patterns {
            let Some(filter) = pattern.filter_for(client_id, username) else {
                continue;
            };
            match target.judge(&filter, pattern.permission) {
                Verdict::Allow => return true,
                Verdict::Deny => return false,
                Verdict::Skip => {}
            }
        }
        false
    }

    /// The number of rules: `topic` lines plus `pattern` lines.
    pub(crate) fn len(&self) -> usize {
        self.anonymous.len()
            + self.users.values().map(Vec::len).sum::<usize>()
            + self.patterns.len()
    }
}

/// Splits off the first word (up to a space or tab); the rest is trimmed.
fn split_word(text: &str) -> (&str, &str) {
    match text.split_once([' ', '\t']) {
        Some((word, rest)) => (word, rest.trim()),
        None => (text, ""),
    }
}

/// The access and topic of a `topic` or `pattern` line, from what follows the keyword.
fn access_and_topic<'a>(
    keyword: &'static str,
    rest: &'a str,
) -> Result<(AclPermission, &'a str), AclLineProblem> {
    if rest.is_empty() {
        return Err(AclLineProblem::MissingTopic(keyword));
    }
    let (first, topic) = split_word(rest);
    if topic.is_empty() {
        return Ok((AclPermission::ReadWrite, first));
    }
    let permission = first
        .parse::<AclPermission>()
        .map_err(|()| AclLineProblem::UnknownAccess(first.to_owned()))?;
    Ok((permission, topic))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AclAccess;

    fn parse(text: &str) -> Result<AclTable, AclFileError> {
        AclTable::parse(Path::new("acl"), text)
    }

    #[test]
    fn blocks_and_defaults() {
        let table = parse(
            "# comment\n\ntopic public/#\ntopic read  ro/#  \nuser alice\ntopic write a/#\n\
             pattern deny %c/secret\nuser bob\ntopic deny b/x\ntopic b/#\nuser alice\ntopic read more\n",
        )
        .unwrap();
        assert_eq!(table.anonymous.len(), 2);
        assert_eq!(table.anonymous[0].permission, AclPermission::ReadWrite);
        assert_eq!(table.anonymous[1].topic.as_str(), "ro/#");
        assert_eq!(table.users["alice"].len(), 2, "blocks of one user merge");
        assert!(table.users["bob"][0].permission.is_deny());
        assert_eq!(table.patterns.len(), 1);
        assert_eq!(table.len(), 7);
    }

    #[test]
    fn deny_lines_come_first() {
        let table = parse("topic read a/#\ntopic deny a/b\n").unwrap();
        let read_ab = Target::Topic("a/b", AclAccess::Read);
        assert!(!table.decide("c", None, read_ab));
        assert!(table.decide("c", None, Target::Topic("a/c", AclAccess::Read)));
    }

    #[test]
    fn malformed_lines_are_named() {
        for (text, line, problem) in [
            ("topic", 1, AclLineProblem::MissingTopic("topic")),
            ("\npattern   ", 2, AclLineProblem::MissingTopic("pattern")),
            (
                "topic reed a/b",
                1,
                AclLineProblem::UnknownAccess("reed".into()),
            ),
            ("user", 1, AclLineProblem::MissingUsername),
            (
                "users bob",
                1,
                AclLineProblem::UnknownKeyword("users".into()),
            ),
            (
                "topic read a/#/b",
                1,
                AclLineProblem::InvalidTopic {
                    topic: "a/#/b".into(),
                    violation: broker_core::codec::Violation::MultiLevelWildcardNotLast,
                },
            ),
        ] {
            match parse(text) {
                Err(AclFileError::Line {
                    line: l,
                    problem: p,
                    ..
                }) => assert_eq!((l, p), (line, problem), "{text:?}"),
                other => panic!("{text:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn topic_may_hold_spaces_and_single_word_is_readwrite() {
        let table = parse("topic read a b/c\ntopic read\n").unwrap();
        assert_eq!(table.anonymous[0].topic.as_str(), "a b/c");
        assert_eq!(table.anonymous[1].topic.as_str(), "read");
        assert_eq!(table.anonymous[1].permission, AclPermission::ReadWrite);
    }
}
