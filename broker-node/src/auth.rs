//! The node's authentication and authorization: the `[auth]` files as hooks of the broker.
//!
//! - [`Auth::load`] reads the password and ACL files at start (and for `--check-config`);
//!   a problem names the key and the file (`auth.acl_file: ACL file /etc/skein/acl, line 3:
//!   ...`).
//! - [`Auth::install`] puts them in the hook chain, in this order: [`CertificateIdentity`]
//!   when a listener has `use_identity_as_username` (the certificate authenticates those
//!   clients, and Mosquitto skips the password check for them); the password file; the ACL
//!   file, last among authorization hooks since it always decides. With `allow_anonymous =
//!   false` clients no hook authenticates are refused ([`Anonymous::Deny`]; listeners may say
//!   otherwise).
//! - [`Auth::serve_reloads`] reads both files again on every SIGHUP, then clears the chain's
//!   cached decisions. A file that no longer loads keeps its old rules (logged as an error).
//!   Connected clients stay connected: only new CONNECTs, publishes and subscriptions see the
//!   new rules.
//!
//! The files are kept as `Arc`s shared with the chain, so that a reload swaps their rules in
//! place; the chain itself is fixed once the broker is built.

use std::sync::Arc;

use broker_core::config::ListenerConfig;
use broker_core::hooks::{AclFile, Anonymous, HookChain, HookOptions, PasswordFile};
use broker_core::BrokerBuilder;
use tracing::{debug, error, info};

use crate::auth_identity::CertificateIdentity;
use crate::config_auth::AuthConfig;
use crate::config_resolve::Problem;
use crate::signals::Reloads;

/// The loaded `[auth]` files and the anonymous policy.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    password: Option<Arc<PasswordFile>>,
    acl: Option<Arc<AclFile>>,
    allow_anonymous: bool,
}

impl Auth {
    /// Reads the files `config` names; every problem names its key and the file.
    pub(crate) fn load(config: &AuthConfig) -> Result<Auth, Vec<Problem>> {
        let mut problems = Vec::new();
        let mut problem = |key: &str, message: String| {
            problems.push(Problem {
                key: format!("auth.{key}"),
                message,
            });
        };
        let password = config.password_file.as_ref().and_then(|path| {
            PasswordFile::load(path)
                .map_err(|error| problem("password_file", error.to_string()))
                .ok()
        });
        let acl = config.acl_file.as_ref().and_then(|path| {
            AclFile::load(path)
                .map_err(|error| problem("acl_file", error.to_string()))
                .ok()
        });
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Auth {
            password: password.map(Arc::new),
            acl: acl.map(Arc::new),
            allow_anonymous: config.allow_anonymous,
        })
    }

    /// Adds the hooks to `builder` (see the module documentation for their order) and sets
    /// the anonymous policy; `listeners` are the broker's.
    pub(crate) fn install(
        &self,
        builder: BrokerBuilder,
        listeners: &[ListenerConfig],
    ) -> BrokerBuilder {
        let mut builder = builder;
        if let Some(identity) = CertificateIdentity::for_listeners(listeners) {
            builder = builder.hook(identity);
        }
        if let Some(password) = &self.password {
            builder = builder.shared_hook(password.clone(), HookOptions::default());
        }
        if let Some(acl) = &self.acl {
            builder = builder.shared_hook(acl.clone(), HookOptions::default());
        }
        if !self.allow_anonymous {
            builder = builder.anonymous(Anonymous::Deny);
        }
        builder
    }

    /// Logs what is in force, once at start.
    pub(crate) fn log_summary(&self) {
        if let Some(password) = &self.password {
            info!(
                "Password file {} loaded ({} users).",
                password.path().display(),
                password.len()
            );
        }
        if let Some(acl) = &self.acl {
            info!(
                "ACL file {} loaded ({} rules).",
                acl.path().display(),
                acl.len()
            );
        }
        if !self.allow_anonymous {
            info!("Anonymous clients are refused (allow_anonymous false).");
        }
    }

    /// Reloads the files on every SIGHUP ([`Auth::reload`]). Runs until the process ends.
    pub(crate) async fn serve_reloads(self, mut reloads: Reloads, chain: Arc<HookChain>) {
        while reloads.recv().await.is_some() {
            if self.password.is_none() && self.acl.is_none() {
                info!("Received SIGHUP: no password_file or acl_file to reload.");
                continue;
            }
            info!("Received SIGHUP, reloading config (password and ACL files).");
            self.reload(&chain).await;
        }
    }

    /// Reads both files again (a file that fails keeps its old rules), then makes `chain`
    /// forget its cached decisions.
    pub(crate) async fn reload(&self, chain: &HookChain) {
        // File reads: off the runtime's worker threads.
        let files = self.clone();
        if let Err(error) = tokio::task::spawn_blocking(move || files.reload_files()).await {
            error!("Reloading the password and ACL files failed: {error}.");
        }
        // Decisions cached under the old rules would otherwise live up to their TTL.
        chain.invalidate_all();
        debug!("Cached authorization decisions cleared.");
    }

    /// Reads both files again; a file that fails keeps its old rules.
    fn reload_files(&self) {
        if let Some(password) = &self.password {
            match password.reload() {
                Ok(users) => info!(
                    "Reloading password file {} ({users} users).",
                    password.path().display()
                ),
                Err(problem) => error!(
                    "Reloading the password file failed, its {} users loaded before stay in \
                     force: {problem}.",
                    password.len()
                ),
            }
        }
        if let Some(acl) = &self.acl {
            match acl.reload() {
                Ok(rules) => info!(
                    "Reloading ACL file {} ({rules} rules).",
                    acl.path().display()
                ),
                Err(problem) => error!(
                    "Reloading the ACL file failed, its {} rules loaded before stay in force: \
                     {problem}.",
                    acl.len()
                ),
            }
        }
    }
}

#[cfg(test)]
#[path = "auth_test.rs"]
mod tests;
