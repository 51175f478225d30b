//! The `[auth]` table, checked: Mosquitto's `password_file`, `acl_file` and
//! `allow_anonymous`. The files themselves are read by [`Auth::load`](crate::auth::Auth::load)
//! (at start and by `--check-config`), not here.
//!
//! `allow_anonymous` defaults to `true` when no `password_file` is set ("allow everything
//! when no authentication is configured") and to `false` once one is, as in Mosquitto 2,
//! where a password file without `allow_anonymous true` refuses clients without a user name.

use std::path::PathBuf;

use crate::config_file::AuthSection;
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
}

impl Default for AuthConfig {
    /// No files, anonymous clients allowed: everything is allowed.
    fn default() -> Self {
        AuthConfig {
            password_file: None,
            acl_file: None,
            allow_anonymous: true,
        }
    }
}

/// Checks the `[auth]` table: paths must not be empty.
pub(crate) fn resolve(check: &mut Checker, section: &AuthSection) -> AuthConfig {
    let mut path = |key: &str, value: &Option<PathBuf>| match value {
        Some(path) if path.to_str().is_some_and(|text| text.trim().is_empty()) => {
            check.problem(
                &format!("auth.{key}"),
                "must not be empty (leave the key out for none)".to_owned(),
            );
            None
        }
        other => other.clone(),
    };
    let password_file = path("password_file", &section.password_file);
    let acl_file = path("acl_file", &section.acl_file);
    AuthConfig {
        allow_anonymous: section
            .allow_anonymous
            .unwrap_or(section.password_file.is_none()),
        password_file,
        acl_file,
    }
}

#[cfg(test)]
#[path = "config_auth_test.rs"]
mod tests;
