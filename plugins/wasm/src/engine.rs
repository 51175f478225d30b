//! The node's one wasmtime engine, its compile cache, and the ticker that gives hook calls
//! their deadlines.

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How often the engine's epoch moves on: a deadline is a number of ticks.
pub const TICK: Duration = Duration::from_millis(1);

/// The engine every plugin of a node is compiled with, and its epoch ticker thread (ended
/// when the engine is dropped).
pub struct PluginEngine {
    engine: wasmtime::Engine,
    cache: Option<wasmtime::Cache>,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl PluginEngine {
    /// An engine with epoch interruption, and its ticker; every plugin is compiled as it
    /// loads.
    ///
    /// # Errors
    ///
    /// wasmtime refused the configuration, or the ticker thread could not be started.
    pub fn new() -> Result<PluginEngine, String> {
        Self::build(None)
    }

    /// The same, with compiled plugins kept in `directory` (created if missing): a plugin
    /// loaded again, by this process (a reload) or the next, is read back instead of
    /// compiled, when its bytes and the engine's settings are the same (wasmtime's cache,
    /// keyed by a hash of both; a file that does not match is compiled again). The cache's
    /// worker keeps the directory's size in bounds.
    ///
    /// # Errors
    ///
    /// The directory could not be made, or as [`PluginEngine::new`].
    pub fn with_cache(directory: &Path) -> Result<PluginEngine, String> {
        std::fs::create_dir_all(directory)
            .and_then(|()| std::path::absolute(directory))
            .map_err(|e| format!("the plugin cache {}: {e}", directory.display()))
            .and_then(|absolute| Self::build(Some(&absolute)))
    }

    fn build(cache_directory: Option<&Path>) -> Result<PluginEngine, String> {
        let mut config = wasmtime::Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(512 * 1024);
        let cache = match cache_directory {
            Some(directory) => {
                let mut settings = wasmtime::CacheConfig::new();
                settings.with_directory(directory);
                let cache = wasmtime::Cache::new(settings)
                    .map_err(|e| format!("the plugin cache {}: {e:#}", directory.display()))?;
                config.cache(Some(cache.clone()));
                Some(cache)
            }
            None => None,
        };
        let engine = wasmtime::Engine::new(&config).map_err(|e| e.to_string())?;
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = {
            let engine = engine.clone();
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("skein-wasm-epoch".to_owned())
                .spawn(move || {
                    while !stop.load(Ordering::Acquire) {
                        std::thread::sleep(TICK);
                        engine.increment_epoch();
                    }
                })
                .map_err(|e| format!("the epoch ticker thread: {e}"))?
        };
        Ok(PluginEngine {
            engine,
            cache,
            stop,
            ticker: Some(ticker),
        })
    }

    /// How many plugin loads the compile cache answered, and how many it did not (compiled,
    /// then stored); `None` without a cache.
    #[must_use]
    pub fn cache_hits_and_misses(&self) -> Option<(usize, usize)> {
        self.cache
            .as_ref()
            .map(|cache| (cache.cache_hits(), cache.cache_misses()))
    }

    /// The wasmtime engine.
    #[must_use]
    pub fn engine(&self) -> &wasmtime::Engine {
        &self.engine
    }
}

impl Drop for PluginEngine {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(ticker) = self.ticker.take() {
            let _ = ticker.join();
        }
    }
}

impl std::fmt::Debug for PluginEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginEngine").finish_non_exhaustive()
    }
}
