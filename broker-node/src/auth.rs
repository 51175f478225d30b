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
//! - [`Auth::serve_reloads`] reloads the chain's hooks on every SIGHUP through the `Hook`
//!   trait ([`HookChain::reload`]): both files are read again and the chain clears its cached
//!   decisions. A file that no longer loads keeps its old rules (logged as an error).
//!   Connected clients stay connected: only new CONNECTs, publishes and subscriptions see the
//!   new rules.
//!
//! The hooks are `Arc`s shared with the chain, so that the start-up summary can name their
//! files; the chain itself is fixed once the broker is built, and reloads swap the hooks'
//! rules in place.

use std::sync::Arc;

use broker_core::config::ListenerConfig;
use broker_core::hooks::{Anonymous, HookChain, HookOptions, Reload};
use broker_core::{BrokerBuilder, BrokerHandle};
use skein_plugin_mosquitto::{AclFile, PasswordFile};
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

    /// Reloads the files and the `plugins` WASM plugins on every SIGHUP ([`Auth::reload`]).
    /// Runs until the process ends.
    pub(crate) async fn serve_reloads(
        self,
        mut reloads: Reloads,
        chain: Arc<HookChain>,
        plugins: usize,
        broker: BrokerHandle,
    ) {
        while reloads.recv().await.is_some() {
            let hooks = self.password.is_some() || self.acl.is_some() || plugins > 0;
            let tls = broker.reload_tls();
            if !hooks && tls.is_empty() {
                info!(
                    "Received SIGHUP: no password_file, acl_file, plugin or TLS listener to reload."
                );
                continue;
            }
            info!(
                "Received SIGHUP, reloading config (password and ACL files, plugins, TLS files)."
            );
            for (listener, outcome) in tls {
                match outcome {
                    Ok(()) => info!("Reloading the TLS files of listener {listener}: new handshakes use them."),
                    Err(error) => error!(
                        "Reloading the TLS files of listener {listener} failed, the ones in force stay: {error}."
                    ),
                }
            }
            if hooks {
                self.reload(&chain).await;
            }
        }
    }

    /// Reloads every hook of `chain`, in order, through the `Hook` trait (the files are read
    /// off the runtime's worker threads; a file that fails keeps its old rules), and logs
    /// each hook's answer. The chain forgets its cached decisions when a hook reloaded.
    pub(crate) async fn reload(&self, chain: &HookChain) {
        let report = chain.reload().await;
        for hook in report.iter() {
            match &hook.outcome {
                Ok(Reload::Reloaded { summary }) => info!("Reloading {summary}."),
                Ok(_) => debug!("Hook {} has nothing to reload.", hook.hook),
                Err(problem) => error!(
                    "Reloading {} failed, {}: {}.",
                    problem.subject(),
                    problem.kept(),
                    problem.problem()
                ),
            }
        }
        if report.any_reloaded() {
            debug!("Cached authorization decisions cleared.");
        }
    }
}

#[cfg(test)]
#[path = "auth_test.rs"]
mod tests;
