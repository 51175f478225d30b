//! The test plugins, built from source for wasm32-unknown-unknown (once per test binary) and
//! made components, as a plugin author does with `wasm-tools component new`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace's root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..")
}

/// Builds the guest crate in `dir` (relative to the workspace root) and returns its
/// component.
fn build(dir: &str, artifact: &str) -> Vec<u8> {
    let root = root();
    // Beside the broker's own build (CI keeps it outside the clone, between runs).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("plugin-examples");
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
        .arg(root.join(dir).join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target)
        // The test's own build settings are not the guest's.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_TARGET_DIR")
        .status()
        .unwrap();
    assert!(
        status.success(),
        "building {dir} for wasm32-unknown-unknown"
    );
    let module = std::fs::read(
        target
            .join("wasm32-unknown-unknown/release")
            .join(format!("{artifact}.wasm")),
    )
    .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

/// `plugins/examples/acl`.
pub(crate) fn acl() -> Vec<u8> {
    static ACL: OnceLock<Vec<u8>> = OnceLock::new();
    ACL.get_or_init(|| build("plugins/examples/acl", "skein_example_acl"))
        .clone()
}

/// `plugins/wasm/tests/rogue`: misbehaves on request.
pub(crate) fn rogue() -> Vec<u8> {
    static ROGUE: OnceLock<Vec<u8>> = OnceLock::new();
    ROGUE
        .get_or_init(|| build("plugins/wasm/tests/rogue", "skein_test_rogue"))
        .clone()
}
