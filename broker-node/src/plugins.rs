//! The `[[plugins]]` loaded at start: each compiled, linked and given a first instance whose
//! `init` must accept its configuration, then added to the hook chain after the `[auth]`
//! hooks. A required plugin (the default) that fails to load stops the start: the broker
//! does not let clients in unchecked.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use broker_core::hooks::{FailurePolicy, HookOptions};
use broker_core::BrokerBuilder;
use skein_plugin_wasm::{PluginEngine, PluginSpec, WasmHook};
use tracing::{info, warn};

use crate::config_plugins::{expand, OnFailure, PluginConfig};

/// The compile cache's folder in the data directory.
const CACHE_DIR: &str = "plugin-cache";

/// The loaded plugins, in the order of the configuration.
pub(crate) struct Plugins {
    hooks: Vec<(WasmHook, HookOptions)>,
}

impl Plugins {
    /// Loads every plugin of `configs`, compiled ones kept in `data_dir`'s `plugin-cache`
    /// when there is a data directory (a restart or a reload then compiles nothing it has
    /// compiled before).
    ///
    /// # Errors
    ///
    /// A required plugin could not be read, resolved or loaded; the message names it and
    /// says why.
    pub(crate) async fn load(
        configs: &[PluginConfig],
        data_dir: Option<&Path>,
    ) -> anyhow::Result<Plugins> {
        let mut hooks = Vec::new();
        if configs.is_empty() {
            return Ok(Plugins { hooks });
        }
        let engine = match data_dir {
            Some(dir) => PluginEngine::with_cache(&dir.join(CACHE_DIR)),
            None => PluginEngine::new(),
        }
        .map_err(|e| anyhow::anyhow!("the WASM engine: {e}"))?;
        let engine = Arc::new(engine);
        for config in configs {
            match load_one(&engine, config).await {
                Ok(hook) => {
                    info!(
                        "Plugin {} {} loaded from {}.",
                        config.name,
                        hook.version(),
                        config.path.display()
                    );
                    hooks.push((hook, hook_options(config)));
                }
                Err(error) if config.required => {
                    return Err(error.context(format!(
                        "plugin {} is required (set required = false to start without it)",
                        config.name
                    )));
                }
                Err(error) => warn!(
                    "Plugin {} was not loaded; the broker starts without it: {error:#}",
                    config.name
                ),
            }
        }
        if let Some((hits, misses)) = engine.cache_hits_and_misses() {
            info!("Plugin compile cache: {hits} read back, {misses} compiled.");
        }
        Ok(Plugins { hooks })
    }

    /// How many were loaded.
    pub(crate) fn len(&self) -> usize {
        self.hooks.len()
    }

    /// Adds the plugins to `builder`'s hook chain, in order.
    pub(crate) fn install(self, builder: BrokerBuilder) -> BrokerBuilder {
        self.hooks
            .into_iter()
            .fold(builder, |builder, (hook, options)| {
                builder.hook_with(hook, options)
            })
    }
}

/// The chain's settings for the plugin of `config`: its failure policy, and a wall-clock
/// limit a little past its longest deadline (what cuts a call the deadline cannot: one
/// waiting for an instance, or on the blocking pool for an HTTP answer).
fn hook_options(config: &PluginConfig) -> HookOptions {
    let policy = match config.on_failure {
        OnFailure::Deny => FailurePolicy::Deny,
        OnFailure::Next => FailurePolicy::Next,
    };
    HookOptions::default()
        .timeout(config.deadline.max(config.auth_deadline) + WALL_CLOCK_MARGIN)
        .on_authenticate_failure(policy)
        .on_authorize_failure(policy)
}

/// How much longer than its deadline the chain waits for a plugin's call.
const WALL_CLOCK_MARGIN: Duration = Duration::from_millis(100);

async fn load_one(engine: &Arc<PluginEngine>, config: &PluginConfig) -> anyhow::Result<WasmHook> {
    // Read at start, before the broker serves anyone: blocking here holds nobody up.
    let spec = plugin_spec(config).map_err(|e| anyhow::anyhow!(e))?;
    let reload = config.clone();
    Ok(WasmHook::load(engine, spec)
        .await?
        .with_reloader(Arc::new(move || plugin_spec(&reload))))
}

/// The plugin as `config` describes it: its file read, its `${...}` references resolved. A
/// reload (SIGHUP) does it again, so a new file or a rotated secret takes effect (the host
/// runs it off the runtime's workers).
fn plugin_spec(config: &PluginConfig) -> Result<PluginSpec, String> {
    let bytes = std::fs::read(&config.path)
        .map_err(|e| format!("reading {}: {e}", config.path.display()))?;
    let mut resolved = Vec::with_capacity(config.config.len());
    for (key, value) in &config.config {
        let value = expand(value).map_err(|e| format!("plugins.config.{key}: {e}"))?;
        resolved.push((key.clone(), value));
    }
    let mut spec = PluginSpec::new(config.name.clone(), bytes).with_config(resolved);
    spec.grants.clone_from(&config.grants);
    spec.http_allow.clone_from(&config.http_allow);
    spec.http_timeout = config.http_timeout;
    spec.memory_bytes = config.memory_bytes;
    spec.deadline = config.deadline;
    spec.auth_deadline = config.auth_deadline;
    spec.pool = config.pool;
    Ok(spec)
}
