//! Why a plugin could not be loaded.

use thiserror::Error;

/// Why [`WasmHook::load`](crate::WasmHook::load) refused a plugin.
#[derive(Debug, Error)]
pub enum LoadError {
    /// The plugin's file could not be read.
    #[error("plugin {name}: reading {path}: {source}")]
    Read {
        /// The plugin's name in the configuration.
        name: String,
        /// Its file.
        path: String,
        /// What the system said.
        source: std::io::Error,
    },
    /// The bytes are not a WebAssembly component this host can compile.
    #[error("plugin {name}: not a loadable WebAssembly component: {reason}")]
    Compile {
        /// The plugin's name.
        name: String,
        /// What wasmtime said.
        reason: String,
    },
    /// A capability in the plugin's grants that this host does not provide.
    #[error(
        "plugin {name}: unknown capability {grant:?} in its grants (this host provides: log, kv, metrics, http)"
    )]
    UnknownGrant {
        /// The plugin's name.
        name: String,
        /// The grant.
        grant: String,
    },
    /// The plugin is granted `http` with an empty allow-list: it could reach nothing.
    #[error(
        "plugin {name}: it is granted http but its allow-list (http_allow) is empty: name the origins it may reach"
    )]
    HttpAllowEmpty {
        /// The plugin's name.
        name: String,
    },
    /// An entry of the plugin's HTTP allow-list is not an origin.
    #[error("plugin {name}: http_allow: {reason}")]
    HttpAllow {
        /// The plugin's name.
        name: String,
        /// Which entry, and what is wrong with it.
        reason: String,
    },
    /// The plugin imports what it was not granted, or what this host does not provide (a
    /// newer major version of the WIT package, for instance).
    #[error("plugin {name}: its imports are not all granted or provided: {reason}")]
    Imports {
        /// The plugin's name.
        name: String,
        /// What wasmtime said: the first import it could not match.
        reason: String,
    },
    /// The plugin does not export `skein:plugin/plugin` (its `init`).
    #[error("plugin {name}: it exports no skein:plugin/plugin interface (no init): {reason}")]
    NoInit {
        /// The plugin's name.
        name: String,
        /// What wasmtime said.
        reason: String,
    },
    /// The trial instance could not be made, or its `init` trapped.
    #[error("plugin {name}: its first instance failed: {reason}")]
    Instantiate {
        /// The plugin's name.
        name: String,
        /// What went wrong.
        reason: String,
    },
    /// `init` refused the configuration.
    #[error("plugin {name}: init refused its configuration: {reason}")]
    Init {
        /// The plugin's name.
        name: String,
        /// The plugin's own words.
        reason: String,
    },
    /// A topic filter in the plugin's `plugin-info` is not a valid MQTT topic filter.
    #[error("plugin {name}: init declared the topic filter {filter:?}, which is not valid")]
    Filter {
        /// The plugin's name.
        name: String,
        /// The filter.
        filter: String,
    },
}
