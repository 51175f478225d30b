//! What a plugin file may be: a WebAssembly component, or a core module built by wit-bindgen
//! for `wasm32-unknown-unknown`, which the host makes a component as it loads it (what
//! `wasm-tools component new` does), so that a plugin author needs no tool besides cargo.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The component of `bytes`: themselves when they are one, or the component made from a core
/// module that carries its WIT (wit-bindgen embeds it).
pub(crate) fn component(bytes: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    // Both start with `\0asm`; then a core module has version 1, a component layer 1.
    match bytes.get(4..8) {
        Some([0x0d, 0x00, 0x01, 0x00]) => Ok(Cow::Borrowed(bytes)),
        Some([0x01, 0x00, 0x00, 0x00]) if bytes.starts_with(b"\0asm") => {
            wit_component::ComponentEncoder::default()
                .module(bytes)
                .and_then(|encoder| encoder.validate(true).encode())
                .map(Cow::Owned)
                .map_err(|e| format!("a core module that cannot be made a component: {e:#}"))
        }
        _ => Err("not a WebAssembly component or module".to_owned()),
    }
}

/// Builds the Rust plugin crate in `crate_dir` for `wasm32-unknown-unknown` (release, with its
/// lock file), in `target_dir`, and returns the path of its `.wasm`, ready for
/// [`PluginSpec`](crate::PluginSpec): what a plugin's tests and tools run.
///
/// # Errors
///
/// cargo could not be run, the build failed, or it left no `.wasm` named after the crate's
/// library.
pub fn build_plugin(crate_dir: &Path, target_dir: &Path, library: &str) -> Result<PathBuf, String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = Command::new(cargo)
        .args([
            "build",
            "--release",
            "--locked",
            "--target",
            "wasm32-unknown-unknown",
        ])
        .arg("--manifest-path")
        .arg(crate_dir.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target_dir)
        // The caller's build settings (a test's, say) are not the plugin's.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .map_err(|e| format!("running cargo: {e}"))?;
    if !status.success() {
        return Err(format!(
            "building {} for wasm32-unknown-unknown failed ({status})",
            crate_dir.display()
        ));
    }
    let wasm = target_dir
        .join("wasm32-unknown-unknown")
        .join("release")
        .join(format!("{library}.wasm"));
    if wasm.is_file() {
        Ok(wasm)
    } else {
        Err(format!("the build left no {}", wasm.display()))
    }
}
