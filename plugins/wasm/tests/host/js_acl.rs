//! A plugin written in JavaScript (`plugins/examples/js-acl`, made a component by
//! ComponentizeJS with every WASI feature disabled): it imports only `skein:plugin`
//! interfaces, loads, and decides as the Rust ACL does. Its JavaScript engine (SpiderMonkey)
//! starts at about 9 MiB of linear memory and grows as it serves calls, so it gets a cap of
//! 64 MiB rather than the default 16. One load only: compiling its 12 MB component takes
//! wasmtime seconds, so the engine keeps it in a compile cache in the target folder, and
//! the next run reads it back.

use std::sync::Arc;

use skein_plugin_wasm::{PluginEngine, PluginSpec, WasmHook};

use crate::calls::{assert_the_acl_rules, ACL_RULES};
use crate::guests;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_javascript_acl_loads_without_wasi_and_decides_as_the_rust_one() {
    let engine = Arc::new(PluginEngine::with_cache(&guests::js_acl_cache()).unwrap());
    let mut spec = PluginSpec::new("js-acl", guests::js_acl()).with_config(ACL_RULES);
    spec.memory_bytes = 64 * 1024 * 1024;
    // Granted `log` only: a WASI import left in the component would refuse it here.
    let hook = WasmHook::load(&engine, spec).await.unwrap();
    assert_the_acl_rules(&hook).await;
}
