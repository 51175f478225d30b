//! The compile cache: a plugin compiled once is read back by the next engine on the same
//! directory (a restart, or a reload), and a changed plugin is compiled again.

use std::sync::Arc;

use skein_plugin_wasm::{PluginEngine, PluginSpec, WasmHook};

use crate::guests;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_compiled_once_is_read_back_from_the_cache_by_the_next_engine() {
    let dir = std::env::temp_dir().join(format!("skein-plugin-cache-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);

    let first = Arc::new(PluginEngine::with_cache(&dir).unwrap());
    assert_eq!(first.cache_hits_and_misses(), Some((0, 0)));
    WasmHook::load(&first, PluginSpec::new("acl", guests::acl()))
        .await
        .unwrap();
    assert_eq!(first.cache_hits_and_misses(), Some((0, 1)));
    drop(first);

    // A restart: a new engine on the same directory compiles nothing it has seen.
    let second = Arc::new(PluginEngine::with_cache(&dir).unwrap());
    WasmHook::load(&second, PluginSpec::new("acl", guests::acl()))
        .await
        .unwrap();
    assert_eq!(second.cache_hits_and_misses(), Some((1, 0)));
    // Other bytes (another plugin, or a new build of this one) are compiled.
    WasmHook::load(&second, PluginSpec::new("rewrite", guests::topic_rewrite()))
        .await
        .unwrap();
    assert_eq!(second.cache_hits_and_misses(), Some((1, 1)));

    // Without a cache nothing is counted.
    assert_eq!(PluginEngine::new().unwrap().cache_hits_and_misses(), None);
    drop(second);
    let _ = std::fs::remove_dir_all(&dir);
}
