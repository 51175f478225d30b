//! The example plugins of `plugins/examples/`, built from source for wasm32-unknown-unknown
//! once per test binary (each a core module: the broker makes it a component as it loads).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, PoisonError};

/// The `.wasm` of `plugins/examples/<example>`, whose library is `skein_example_<example>`
/// with `-` as `_`.
pub(crate) fn example_wasm(example: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Mutex::default);
    // Held while building: two tests asking at once build once.
    let mut built = built.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(path) = built.get(example) {
        return path.clone();
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("plugin-examples");
    let library = format!("skein_example_{}", example.replace('-', "_"));
    let path = skein_plugin_wasm::build_plugin(
        &root.join("plugins").join("examples").join(example),
        &target,
        &library,
    )
    .unwrap();
    built.insert(example.to_owned(), path.clone());
    path
}
