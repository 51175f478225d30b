//! The `[admin]` table: the HTTP admin endpoint (docs/admin.md), off unless `bind` is set.
//!
//! ```toml
//! [admin]
//! bind = "127.0.0.1:9884"
//! token_file = "/etc/skein/admin-token"   # or token = "..."
//! certfile = "admin.crt"                  # TLS, with keyfile
//! keyfile = "admin.key"
//! cafile = "operators-ca.crt"             # mTLS: a client certificate signed by it
//! ```
//!
//! The endpoint is never served without authentication: a token, a client certificate
//! (`cafile`), or both.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use broker_core::config::TlsConfig;
use serde::Deserialize;

use crate::config_resolve::{Checker, Problem};

/// Where `skein ctl` looks for the endpoint when `--url` is not given.
pub(crate) const DEFAULT_ADMIN_URL: &str = "http://127.0.0.1:9884";
/// The shortest token accepted: a guessable one would open the broker to anyone.
const MIN_TOKEN_LEN: usize = 16;

/// The `[admin]` table, as written.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Default)]
#[serde(deny_unknown_fields, default)]
pub(crate) struct AdminSection {
    pub(crate) bind: Option<String>,
    pub(crate) token: Option<String>,
    pub(crate) token_file: Option<PathBuf>,
    pub(crate) certfile: Option<PathBuf>,
    pub(crate) keyfile: Option<PathBuf>,
    pub(crate) keyfile_password_file: Option<PathBuf>,
    pub(crate) keyfile_password_env: Option<String>,
    pub(crate) cafile: Option<PathBuf>,
}

/// The bearer token the endpoint's clients send. Its `Debug` shows no secret.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct AdminToken(String);

impl AdminToken {
    /// The token's text.
    pub(crate) fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for AdminToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminToken(..)")
    }
}

/// Where the token comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum TokenSource {
    /// `token`, in the config.
    Inline(AdminToken),
    /// `token_file`: its first line, read at start.
    File(PathBuf),
}

/// The `[admin]` settings, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AdminConfig {
    /// The address to listen on.
    pub(crate) bind: SocketAddr,
    /// The token, if clients must send one.
    pub(crate) token: Option<TokenSource>,
    /// TLS, with client certificates required when it has a CA.
    pub(crate) tls: Option<TlsConfig>,
}

impl AdminConfig {
    /// The token clients must send, read from its file if it has one.
    ///
    /// # Errors
    ///
    /// The `token_file` key and why it cannot be used.
    pub(crate) fn load_token(&self) -> Result<Option<AdminToken>, Problem> {
        match &self.token {
            None => Ok(None),
            Some(TokenSource::Inline(token)) => Ok(Some(token.clone())),
            Some(TokenSource::File(path)) => read_token(path).map(Some),
        }
    }

    /// Whether clients must present a certificate (mTLS).
    pub(crate) fn requires_certificate(&self) -> bool {
        self.tls.as_ref().is_some_and(|tls| tls.client_ca.is_some())
    }
}

/// The first line of `path`, as a token.
fn read_token(path: &Path) -> Result<AdminToken, Problem> {
    let problem = |message: String| Problem {
        key: "admin.token_file".to_owned(),
        message: format!("{}: {message}", path.display()),
    };
    let text = std::fs::read_to_string(path).map_err(|error| problem(error.to_string()))?;
    let token = text.lines().next().unwrap_or("").trim();
    if token.chars().count() < MIN_TOKEN_LEN {
        return Err(problem(format!(
            "its first line must hold a token of at least {MIN_TOKEN_LEN} characters"
        )));
    }
    Ok(AdminToken(token.to_owned()))
}

/// Checks the `[admin]` table; `None` when `bind` is not set (no endpoint).
pub(crate) fn resolve(check: &mut Checker, section: &AdminSection) -> Option<AdminConfig> {
    let Some(bind) = section.bind.as_deref() else {
        for (set, key) in [
            (section.token.is_some(), "admin.token"),
            (section.token_file.is_some(), "admin.token_file"),
            (section.certfile.is_some(), "admin.certfile"),
            (section.keyfile.is_some(), "admin.keyfile"),
            (section.cafile.is_some(), "admin.cafile"),
        ] {
            if set {
                check.problem(
                    key,
                    "needs admin.bind: without it there is no admin endpoint".to_owned(),
                );
            }
        }
        return None;
    };
    let bind = bind
        .parse::<SocketAddr>()
        .map_err(|_| {
            check.problem(
                "admin.bind",
                format!("must be IP:PORT, such as 127.0.0.1:9884, got {bind:?}"),
            );
        })
        .ok();
    let token = match (&section.token, &section.token_file) {
        (Some(_), Some(_)) => {
            check.problem(
                "admin.token",
                "set token or token_file, not both".to_owned(),
            );
            None
        }
        (Some(token), None) if token.chars().count() < MIN_TOKEN_LEN => {
            check.problem(
                "admin.token",
                format!("must be at least {MIN_TOKEN_LEN} characters"),
            );
            None
        }
        (Some(token), None) => Some(TokenSource::Inline(AdminToken(token.clone()))),
        (None, Some(path)) => Some(TokenSource::File(path.clone())),
        (None, None) => None,
    };
    let key_password = crate::config_listener::key_password(
        check,
        "admin.",
        section.keyfile.is_some(),
        section.keyfile_password_file.as_ref(),
        section.keyfile_password_env.as_ref(),
    );
    let tls = match (&section.certfile, &section.keyfile) {
        (Some(cert_chain), Some(private_key)) => {
            let mut tls = TlsConfig::new(cert_chain.clone(), private_key.clone());
            tls.key_password = key_password;
            if let Some(ca) = &section.cafile {
                tls.client_ca = Some(ca.clone());
                tls.require_certificate = true;
            }
            Some(tls)
        }
        (None, None) => {
            if section.cafile.is_some() {
                check.problem(
                    "admin.cafile",
                    "needs admin.certfile and admin.keyfile (client certificates need TLS)"
                        .to_owned(),
                );
            }
            None
        }
        (Some(_), None) => {
            check.problem(
                "admin.keyfile",
                "needs to be set with admin.certfile".to_owned(),
            );
            None
        }
        (None, Some(_)) => {
            check.problem(
                "admin.certfile",
                "needs to be set with admin.keyfile".to_owned(),
            );
            None
        }
    };
    let authenticated =
        section.token.is_some() || section.token_file.is_some() || section.cafile.is_some();
    if !authenticated {
        check.problem(
            "admin.token",
            "the admin endpoint needs authentication: set admin.token, admin.token_file or admin.cafile (client certificates)".to_owned(),
        );
    }
    Some(AdminConfig {
        bind: bind?,
        token,
        tls,
    })
}

#[cfg(test)]
#[path = "config_admin_test.rs"]
mod tests;
