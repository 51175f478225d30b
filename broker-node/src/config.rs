//! The node's configuration: read from a TOML file (or the embedded default), checked, and
//! turned into the engine's [`BrokerConfig`] plus the node's own log settings.
//!
//! This is the only module that reads config files. Parsing and checking are pure functions of
//! the text ([`NodeConfig::parse`]); errors name the file, the key and the problem.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use broker_cluster::ClusterConfig;
use broker_core::config::{BrokerConfig, ListenerConfig, TlsConfig};

use crate::auth::Auth;
use crate::config_admin::{AdminConfig, AdminToken};
use crate::config_auth::AuthConfig;
use crate::config_env;
use crate::config_file::FileConfig;
use crate::config_listener;
use crate::config_plugins::PluginConfig;
use crate::config_resolve::{resolve, Problem};
use crate::config_storage::StorageConfig;
use crate::logging::{LogFormat, LogLevel};

/// The commented default config compiled into the binary (`skein --print-default-config`).
pub(crate) const DEFAULT_CONFIG: &str = include_str!("default.toml");

/// What the embedded default config is called in messages.
pub(crate) const DEFAULT_CONFIG_NAME: &str = "<default config>";

/// Everything the node runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeConfig {
    /// The engine's configuration.
    pub(crate) broker: BrokerConfig,
    /// `[log]` settings.
    pub(crate) log: LogConfig,
    /// `[metrics] bind`: where the Prometheus endpoint listens, if anywhere.
    pub(crate) metrics: Option<SocketAddr>,
    /// `[auth]`: the password and ACL files, anonymous clients.
    pub(crate) auth: AuthConfig,
    /// `[storage]`: where persistent sessions are kept.
    pub(crate) storage: StorageConfig,
    /// `[admin]`: the HTTP admin endpoint, if there is one.
    pub(crate) admin: Option<AdminConfig>,
    /// `[[plugins]]`: WASM plugins for the hook chain.
    pub(crate) plugins: Vec<PluginConfig>,
    /// `[cluster]`: the node's cluster, if it is in one.
    pub(crate) cluster: Option<ClusterConfig>,
    /// `[runtime] arrival_order`: woken tasks run in the order they were woken.
    pub(crate) arrival_order: bool,
}

/// The `[log]` table, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LogConfig {
    /// The level when neither `--log-level` nor `RUST_LOG` says otherwise.
    pub(crate) level: LogLevel,
    /// Text (Mosquitto-like) or JSON lines.
    pub(crate) format: LogFormat,
}

impl NodeConfig {
    /// Parses and checks `text`; `source` (a path, or [`DEFAULT_CONFIG_NAME`]) prefixes every
    /// error message.
    pub(crate) fn parse(source: &str, text: &str) -> Result<NodeConfig, ConfigError> {
        let deserializer = toml::Deserializer::new(text);
        let file: FileConfig = serde_path_to_error::deserialize(deserializer).map_err(|error| {
            let key = error.path().to_string();
            ConfigError::Syntax {
                source: source.to_owned(),
                key: (key != ".").then_some(key),
                message: error.into_inner().to_string().trim_end().to_owned(),
            }
        })?;
        let resolved = resolve(&file).map_err(|problems| ConfigError::Invalid {
            source: source.to_owned(),
            problems,
        })?;
        Ok(NodeConfig {
            broker: resolved.broker,
            metrics: resolved.metrics,
            auth: resolved.auth,
            storage: resolved.storage,
            admin: resolved.admin,
            plugins: resolved.plugins,
            cluster: resolved.cluster,
            arrival_order: file.runtime.arrival_order,
            log: LogConfig {
                level: file.log.level,
                format: file.log.format,
            },
        })
    }

    /// Reads and checks the file at `path`, with the environment's overrides
    /// ([`config_env`](crate::config_env)).
    pub(crate) fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let source = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            source: source.clone(),
            message: error.to_string(),
        })?;
        NodeConfig::parse_with(&source, &text, &config_env::from_environment())
    }

    /// The embedded default config, with the environment's overrides.
    pub(crate) fn embedded_default() -> Result<NodeConfig, ConfigError> {
        NodeConfig::parse_with(
            DEFAULT_CONFIG_NAME,
            DEFAULT_CONFIG,
            &config_env::from_environment(),
        )
    }

    /// [`NodeConfig::parse`] with `overrides` (`SKEIN_<TABLE>__<KEY>`, value) applied first;
    /// the messages then name the overrides beside the source.
    pub(crate) fn parse_with(
        source: &str,
        text: &str,
        overrides: &[(String, String)],
    ) -> Result<NodeConfig, ConfigError> {
        if overrides.is_empty() {
            return NodeConfig::parse(source, text);
        }
        let names: Vec<&str> = overrides.iter().map(|(name, _)| name.as_str()).collect();
        let source = format!("{source} with {}", names.join(", "));
        let text = config_env::apply(text, overrides).map_err(|message| ConfigError::Syntax {
            source: source.clone(),
            key: None,
            message,
        })?;
        NodeConfig::parse(&source, &text)
    }

    /// Reads the files the config names, as the broker needs them at start: the TLS files of
    /// every listener (certificates, keys, CAs), the `[auth]` password and ACL files and that
    /// each required plugin's file is there (it is compiled at start), so
    /// that `--check-config` finds what would stop the broker. Returns the loaded `[auth]`
    /// files and the admin endpoint's token; `source` prefixes the messages as in
    /// [`NodeConfig::parse`], and every problem is listed.
    pub(crate) fn load_files(
        &self,
        source: &str,
    ) -> Result<(Auth, Option<AdminToken>), ConfigError> {
        let mut problems = config_listener::check_files(&self.broker.listeners);
        let mut admin_token = None;
        if let Some(admin) = &self.admin {
            match admin.load_token() {
                Ok(token) => admin_token = token,
                Err(problem) => problems.push(problem),
            }
            if let Some(Err(error)) = admin.tls.as_ref().map(TlsConfig::check) {
                let key = match &error {
                    broker_core::TlsError::KeyPassword { password, .. } => password.setting(),
                    _ => error.file().map_or("certfile", |file| file.mosquitto_key()),
                };
                problems.push(Problem {
                    key: format!("admin.{key}"),
                    message: error.to_string(),
                });
            }
        }
        for (n, plugin) in self.plugins.iter().enumerate() {
            // An optional plugin's absence is only a warning at start.
            if !plugin.required {
                continue;
            }
            if let Err(error) = std::fs::metadata(&plugin.path) {
                problems.push(Problem {
                    key: format!("plugins[{n}].path"),
                    message: format!("{}: {error}", plugin.path.display()),
                });
            }
        }
        let auth = Auth::load(&self.auth).map_err(|auth| problems.extend(auth));
        match auth {
            Ok(auth) if problems.is_empty() => Ok((auth, admin_token)),
            _ => Err(ConfigError::Invalid {
                source: source.to_owned(),
                problems,
            }),
        }
    }

    /// Replaces the config's listeners with `listeners` (from `--listen` / `--port`) when
    /// there are any.
    pub(crate) fn override_listeners(&mut self, listeners: Vec<ListenerConfig>) {
        if !listeners.is_empty() {
            self.broker.listeners = listeners;
        }
    }
}

/// Why a config could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConfigError {
    /// The file could not be read.
    Read {
        /// The file's path.
        source: String,
        /// The operating system's reason.
        message: String,
    },
    /// Not valid TOML, an unknown key, or a value of the wrong type (toml's message, with the
    /// line and column).
    Syntax {
        /// The file's path.
        source: String,
        /// The key's path, when the error concerns a key (`limits.max_pakcet_size`).
        key: Option<String>,
        /// toml's message.
        message: String,
    },
    /// Values out of range or inconsistent.
    Invalid {
        /// The file's path.
        source: String,
        /// Every problem found.
        problems: Vec<Problem>,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { source, message } => write!(f, "{source}: cannot read: {message}"),
            ConfigError::Syntax {
                source,
                key: Some(key),
                message,
            } => write!(f, "{source}: {key}: {message}"),
            ConfigError::Syntax {
                source,
                key: None,
                message,
            } => write!(f, "{source}: {message}"),
            ConfigError::Invalid { source, problems } => {
                for (index, problem) in problems.iter().enumerate() {
                    if index > 0 {
                        writeln!(f)?;
                    }
                    write!(f, "{source}: {}: {}", problem.key, problem.message)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
#[path = "config_test.rs"]
mod tests;
