//! What a hook answers when asked to reload its configuration ([`Hook::reload`]).
//!
//! [`Hook::reload`]: super::Hook::reload

use std::fmt;

/// What [`Hook::reload`](super::Hook::reload) did.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reload {
    /// The hook has no configuration of its own to read again (the trait's default). Nothing
    /// changed and nothing is logged.
    Unsupported,
    /// The hook now answers every request with its newly loaded configuration.
    Reloaded {
        /// What is in force now, for the log line `Reloading {summary}.`:
        /// `password file /etc/skein/passwd (3 users)`.
        summary: String,
    },
}

impl Reload {
    /// A successful reload with `summary` (see [`Reload::Reloaded`]).
    #[must_use]
    pub fn reloaded(summary: impl Into<String>) -> Self {
        Reload::Reloaded {
            summary: summary.into(),
        }
    }

    /// Whether the hook's configuration was replaced.
    #[must_use]
    pub fn is_reloaded(&self) -> bool {
        matches!(self, Reload::Reloaded { .. })
    }
}

/// A hook could not reload its configuration. Nothing changed: the configuration it had
/// before stays in force (the contract of [`Hook::reload`](super::Hook::reload)).
///
/// Its parts make the log line `Reloading {subject} failed, {kept}: {problem}.`, and its
/// `Display` says the same in lower case.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReloadError {
    subject: String,
    kept: String,
    problem: String,
}

impl ReloadError {
    /// `subject` names what could not be reloaded (`the ACL file`), `kept` what stays in force
    /// instead (`its 8 rules loaded before stay in force`), `problem` what went wrong
    /// (`ACL file /etc/skein/acl, line 3: unknown access ...`).
    #[must_use]
    pub fn new(
        subject: impl Into<String>,
        kept: impl Into<String>,
        problem: impl fmt::Display,
    ) -> Self {
        ReloadError {
            subject: subject.into(),
            kept: kept.into(),
            problem: problem.to_string(),
        }
    }

    /// What could not be reloaded: `the ACL file`.
    #[must_use]
    pub fn subject(&self) -> &str {
        &self.subject
    }

    /// What stays in force instead: `its 8 rules loaded before stay in force`.
    #[must_use]
    pub fn kept(&self) -> &str {
        &self.kept
    }

    /// What went wrong.
    #[must_use]
    pub fn problem(&self) -> &str {
        &self.problem
    }
}

impl fmt::Display for ReloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "reloading {} failed, {}: {}",
            self.subject, self.kept, self.problem
        )
    }
}

impl std::error::Error for ReloadError {}
