//! The node's authentication and authorization: the `[auth]` files as hooks of the broker.
//!
//! - [`Auth::load`] reads the password and ACL files at start (and for `--check-config`),
//!   `[auth]`'s and the listeners' own (a file several listeners name is read once); a
//!   problem names the key and the file (`auth.acl_file: ACL file /etc/skein/acl, line 3:
//!   ...`).
//! - [`Auth::install`] puts them in the hook chain, in this order: [`CertificateIdentity`]
//!   when a listener has `use_identity_as_username` (the certificate authenticates those
//!   clients, and Mosquitto skips the password check for them); the password files; the ACL
//!   files, last among authorization hooks since they always decide. A listener's own file
//!   (Mosquitto's `per_listener_settings true`) is a [`ListenerScoped`] hook that answers for
//!   its clients only, and `[auth]`'s file is then scoped to the other listeners: a client
//!   meets one password file and one ACL file at most. With `allow_anonymous = false`
//!   clients no hook authenticates are refused ([`Anonymous::Deny`]; listeners may say
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

use std::path::{Path, PathBuf};
use std::sync::Arc;

use broker_core::config::ListenerConfig;
use broker_core::hooks::{
    Anonymous, Hook, HookChain, HookOptions, ListenerName, ListenerScoped, Reload,
};
use broker_core::{BrokerBuilder, BrokerHandle};
use skein_plugin_mosquitto::{AclFile, PasswordFile};
use tracing::{debug, error, info, warn};

use crate::admin::AdminTls;
use crate::auth_identity::CertificateIdentity;
use crate::config_auth::{AuthConfig, ListenerFiles};
use crate::config_resolve::Problem;
use crate::signals::Reloads;

/// The loaded `[auth]` files, the listeners' own files, and the anonymous policy.
#[derive(Debug, Clone)]
pub(crate) struct Auth {
    passwords: Vec<Loaded<PasswordFile>>,
    acls: Vec<Loaded<AclFile>>,
    allow_anonymous: bool,
}

/// A file loaded once, and where it is in force.
#[derive(Debug)]
struct Loaded<T> {
    file: Arc<T>,
    /// Where it was read from.
    path: PathBuf,
    /// The listeners whose own file it is; `None`: `[auth]`'s, in force on every listener
    /// without a file of its own.
    listeners: Option<Vec<String>>,
}

impl<T> Clone for Loaded<T> {
    fn clone(&self) -> Self {
        Loaded {
            file: Arc::clone(&self.file),
            path: self.path.clone(),
            listeners: self.listeners.clone(),
        }
    }
}

/// The files of one kind to load: `[auth]`'s, then each listener's own, a file named by
/// several listeners loaded once for all of them. Each comes with the key that names it.
fn plan(
    global: Option<&PathBuf>,
    own: impl Iterator<Item = (usize, String, Option<PathBuf>)>,
    key: &str,
) -> Vec<(String, PathBuf, Option<Vec<String>>)> {
    let mut plan: Vec<(String, PathBuf, Option<Vec<String>>)> = global
        .map(|path| (format!("auth.{key}"), path.clone(), None))
        .into_iter()
        .collect();
    for (index, listener, path) in own {
        let Some(path) = path else { continue };
        match plan
            .iter_mut()
            .find(|(_, planned, listeners)| *planned == path && listeners.is_some())
        {
            Some((_, _, Some(listeners))) => listeners.push(listener),
            _ => plan.push((
                format!("listener[{index}].{key}"),
                path,
                Some(vec![listener]),
            )),
        }
    }
    plan
}

/// Each listener with a file of its own of one kind (`file` picks it): its index, its name
/// and the file.
fn own(
    config: &AuthConfig,
    file: fn(&ListenerFiles) -> Option<PathBuf>,
) -> impl Iterator<Item = (usize, String, Option<PathBuf>)> + '_ {
    config
        .listeners
        .iter()
        .map(move |files| (files.index, files.listener.clone(), file(files)))
}

/// Loads every file of `plan` with `load`; a problem names the key and the file.
fn load_all<T, E: std::fmt::Display>(
    plan: Vec<(String, PathBuf, Option<Vec<String>>)>,
    load: impl Fn(&Path) -> Result<T, E>,
    problems: &mut Vec<Problem>,
) -> Vec<Loaded<T>> {
    let mut loaded = Vec::new();
    for (key, path, listeners) in plan {
        match load(&path) {
            Ok(file) => loaded.push(Loaded {
                file: Arc::new(file),
                path,
                listeners,
            }),
            Err(error) => problems.push(Problem {
                key,
                message: error.to_string(),
            }),
        }
    }
    loaded
}

/// Puts `files` in the chain: each listener's own for its clients only, `[auth]`'s for the
/// clients of the other listeners (for all when no listener has its own).
fn install_files<T: Hook>(
    mut builder: BrokerBuilder,
    files: &[Loaded<T>],
    listeners: &[ListenerConfig],
) -> BrokerBuilder {
    let own: Vec<&String> = files
        .iter()
        .filter_map(|loaded| loaded.listeners.as_ref())
        .flatten()
        .collect();
    for loaded in files {
        let hook: Arc<dyn Hook> = loaded.file.clone();
        let scope: Vec<ListenerName> = match &loaded.listeners {
            Some(names) => names.iter().map(|name| name.as_str().into()).collect(),
            None if own.is_empty() => {
                builder = builder.shared_hook(hook, HookOptions::default());
                continue;
            }
            None => listeners
                .iter()
                .filter(|listener| !own.contains(&&listener.name))
                .map(|listener| listener.name.as_str().into())
                .collect(),
        };
        if scope.is_empty() {
            warn!(
                "{} is in force on no listener: every listener has a file of its own.",
                loaded.path.display()
            );
        } else {
            builder = builder.hook(ListenerScoped::new(hook, scope));
        }
    }
    builder
}

/// " for listener tls, ws" for a listener's own file, nothing for `[auth]`'s.
fn scope_text(listeners: Option<&Vec<String>>) -> String {
    listeners.map_or_else(String::new, |names| {
        format!(" for listener {}", names.join(", "))
    })
}

impl Auth {
    /// Reads the files `config` names, `[auth]`'s and the listeners' own; every problem
    /// names its key and the file.
    pub(crate) fn load(config: &AuthConfig) -> Result<Auth, Vec<Problem>> {
        let mut problems = Vec::new();
        let passwords = load_all(
            plan(
                config.password_file.as_ref(),
                own(config, |files| files.password_file.clone()),
                "password_file",
            ),
            |path| PasswordFile::load(path),
            &mut problems,
        );
        let acls = load_all(
            plan(
                config.acl_file.as_ref(),
                own(config, |files| files.acl_file.clone()),
                "acl_file",
            ),
            |path| AclFile::load(path),
            &mut problems,
        );
        if !problems.is_empty() {
            return Err(problems);
        }
        Ok(Auth {
            passwords,
            acls,
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
        builder = install_files(builder, &self.passwords, listeners);
        builder = install_files(builder, &self.acls, listeners);
        if !self.allow_anonymous {
            builder = builder.anonymous(Anonymous::Deny);
        }
        builder
    }

    /// Logs what is in force, once at start.
    pub(crate) fn log_summary(&self) {
        for password in &self.passwords {
            info!(
                "Password file {} loaded{} ({} users).",
                password.file.path().display(),
                scope_text(password.listeners.as_ref()),
                password.file.len()
            );
        }
        for acl in &self.acls {
            info!(
                "ACL file {} loaded{} ({} rules).",
                acl.file.path().display(),
                scope_text(acl.listeners.as_ref()),
                acl.file.len()
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
        admin_tls: Option<AdminTls>,
    ) {
        while reloads.recv().await.is_some() {
            let hooks = !self.passwords.is_empty() || !self.acls.is_empty() || plugins > 0;
            let tls = broker.reload_tls();
            if !hooks && tls.is_empty() && admin_tls.is_none() {
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
            if let Some(admin) = &admin_tls {
                match admin.reload() {
                    Ok(()) => info!("Reloading the admin endpoint's TLS files: new handshakes use them."),
                    Err(error) => error!(
                        "Reloading the admin endpoint's TLS files failed, the ones in force stay: {error:#}."
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
