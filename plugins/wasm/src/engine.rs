//! The node's one wasmtime engine, and the ticker that gives hook calls their deadlines.

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
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl PluginEngine {
    /// An engine with epoch interruption, and its ticker.
    ///
    /// # Errors
    ///
    /// wasmtime refused the configuration, or the ticker thread could not be started.
    pub fn new() -> Result<PluginEngine, String> {
        let mut config = wasmtime::Config::new();
        config
            .wasm_component_model(true)
            .epoch_interruption(true)
            .max_wasm_stack(512 * 1024);
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
            stop,
            ticker: Some(ticker),
        })
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
