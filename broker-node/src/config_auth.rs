//! The `[auth]` table, checked: Mosquitto's `password_file`, `acl_file` and
//! `allow_anonymous`; and a listener's own `password_file` and `acl_file`. The files themselves are read by [`Auth::load`](crate::auth::Auth::load)
//! (at start and by `--check-config`), not here.
//!
//! `allow_anonymous` defaults to `true` when no `password_file` is set ("allow everything
//! when no authentication is configured") and to `false` once one is, as in Mosquitto 2,
//! where a password file without `allow_anonymous true` refuses clients without a user name.

use std::path::PathBuf;

use crate::config_file::{AuthSection, ListenerSection};
use crate::config_resolve::Checker;

/// How the node authenticates and authorizes clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AuthConfig {
    /// A password file written by `mosquitto_passwd` or `skein passwd`.
    pub(crate) password_file: Option<PathBuf>,
    /// A Mosquitto ACL file.
    pub(crate) acl_file: Option<PathBuf>,
    /// Whether clients no hook authenticates (no user name, in practice) may connect, on
    /// listeners without their own `allow_anonymous`.
    pub(crate) allow_anonymous: bool,
    /// The listeners with a password or ACL file of their own, in file order.
    pub(crate) listeners: Vec<ListenerFiles>,
}

/// A listener's own `password_file` and `acl_file` (Mosquitto's `per_listener_settings
/// true`): for its clients they stand in for `[auth]`'s, each file on its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListenerFiles {
    /// The listener's index among the `[[listener]]` tables, for problems.
    pub(crate) index: usize,
    /// The listener's name.
    pub(crate) listener: String,
    /// Its password file, if it has its own.
    pub(crate) password_file: Option<PathBuf>,
    /// Its ACL file, if it has its own.
    pub(crate) acl_file: Option<PathBuf>,
}

impl Default for AuthConfig {
    /// No files, anonymous clients allowed: everything is allowed.
    fn default() -> Self {
        AuthConfig {
            password_file: None,
            acl_file: None,
            allow_anonymous: true,
            listeners: Vec::new(),
        }
    }
}

/// Checks the `[auth]` table: paths must not be empty.
pub(crate) fn resolve(check: &mut Checker, section: &AuthSection) -> AuthConfig {
    let password_file = path(check, "auth.password_file", &section.password_file);
    let acl_file = path(check, "auth.acl_file", &section.acl_file);
    AuthConfig {
        allow_anonymous: section
            .allow_anonymous
            .unwrap_or(section.password_file.is_none()),
        password_file,
        acl_file,
        listeners: Vec::new(),
    }
}

/// The files of the `index`-th listener, named `name`, if it has any of its own.
pub(crate) fn listener_files(
    check: &mut Checker,
    index: usize,
    name: &str,
    section: &ListenerSection,
) -> Option<ListenerFiles> {
    let key = |name: &str| format!("listener[{index}].{name}");
    let password_file = path(check, &key("password_file"), &section.password_file);
    let acl_file = path(check, &key("acl_file"), &section.acl_file);
    (password_file.is_some() || acl_file.is_some()).then(|| ListenerFiles {
        index,
        listener: name.to_owned(),
        password_file,
        acl_file,
    })
}

/// The path of `key`, which must not be empty.
fn path(check: &mut Checker, key: &str, value: &Option<PathBuf>) -> Option<PathBuf> {
    match value {
        Some(path) if path.to_str().is_some_and(|text| text.trim().is_empty()) => {
            check.problem(
                key,
                "must not be empty (leave the key out for none)".to_owned(),
            );
            None
        }
        other => other.clone(),
    }
}

#[cfg(test)]
#[path = "config_auth_test.rs"]
mod tests;
