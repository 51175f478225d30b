//! The test plugins, built from source for wasm32-unknown-unknown once per test binary; the
//! host takes the core modules as they are.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use skein_plugin_wasm::build_plugin;

fn build(dir: &str, library: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
    // Beside the broker's own build (CI keeps it outside the clone, between runs).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("plugin-examples");
    let wasm = build_plugin(&root.join(dir), &target, library).unwrap();
    std::fs::read(wasm).unwrap()
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

/// `plugins/examples/topic-rewrite`.
pub(crate) fn topic_rewrite() -> Vec<u8> {
    static REWRITE: OnceLock<Vec<u8>> = OnceLock::new();
    REWRITE
        .get_or_init(|| {
            build(
                "plugins/examples/topic-rewrite",
                "skein_example_topic_rewrite",
            )
        })
        .clone()
}

/// `plugins/examples/jwt-auth`.
pub(crate) fn jwt_auth() -> Vec<u8> {
    static JWT: OnceLock<Vec<u8>> = OnceLock::new();
    JWT.get_or_init(|| build("plugins/examples/jwt-auth", "skein_example_jwt_auth"))
        .clone()
}

/// The misbehaving test plugin built against the WIT package with its version replaced by
/// `version` (a plugin written for another release of the interface): its sources, lock file
/// and WIT copied into a scratch crate, built in a target folder of its own.
pub(crate) fn rogue_for_wit_version(version: &str) -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
    let scratch = std::env::temp_dir().join(format!("skein-wit-{version}-{}", std::process::id()));
    let guest = scratch.join("guest");
    std::fs::create_dir_all(guest.join("src")).unwrap();
    std::fs::create_dir_all(scratch.join("wit")).unwrap();
    let rogue = root.join("plugins/wasm/tests/rogue");
    std::fs::copy(rogue.join("Cargo.toml"), guest.join("Cargo.toml")).unwrap();
    std::fs::copy(rogue.join("Cargo.lock"), guest.join("Cargo.lock")).unwrap();
    let source = std::fs::read_to_string(rogue.join("src/lib.rs")).unwrap();
    std::fs::write(
        guest.join("src/lib.rs"),
        source.replace("\"../../../wit\"", "\"../wit\""),
    )
    .unwrap();
    let wit = std::fs::read_to_string(root.join("plugins/wit/skein-plugin.wit")).unwrap();
    std::fs::write(
        scratch.join("wit/skein-plugin.wit"),
        wit.replace(
            "package skein:plugin@0.1.0;",
            &format!("package skein:plugin@{version};"),
        ),
    )
    .unwrap();
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join(format!("plugin-wit-{version}"));
    let wasm = build_plugin(&guest, &target, "skein_test_rogue").unwrap();
    let bytes = std::fs::read(wasm).unwrap();
    let _ = std::fs::remove_dir_all(&scratch);
    bytes
}

/// `plugins/examples/http-auth`.
pub(crate) fn http_auth() -> Vec<u8> {
    static HTTP_AUTH: OnceLock<Vec<u8>> = OnceLock::new();
    HTTP_AUTH
        .get_or_init(|| build("plugins/examples/http-auth", "skein_example_http_auth"))
        .clone()
}

/// `plugins/examples/js-acl`, the ACL in JavaScript, made a component by ComponentizeJS (npm):
/// its sources and lock file copied into a folder beside the other plugin builds, its npm
/// packages installed there (again only when the lock file changed). Needs node and npm
/// (`.ci/install-test-deps` installs them): without them the test fails, it never skips.
pub(crate) fn js_acl() -> Vec<u8> {
    static JS_ACL: OnceLock<Vec<u8>> = OnceLock::new();
    JS_ACL.get_or_init(build_js_acl).clone()
}

/// Where the JavaScript plugin's compiled form is kept between runs.
pub(crate) fn js_acl_cache() -> PathBuf {
    js_acl_dir().join("compiled")
}

fn js_acl_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("plugin-examples")
        .join("js-acl")
}

fn build_js_acl() -> Vec<u8> {
    let found = |tool: &str| {
        Command::new(tool)
            .arg("--version")
            .output()
            .is_ok_and(|out| out.status.success())
    };
    assert!(
        found("node") && found("npm"),
        "node and npm are needed to build plugins/examples/js-acl: run .ci/install-test-deps"
    );
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
    let source = root.join("plugins/examples/js-acl");
    let build = js_acl_dir();
    std::fs::create_dir_all(&build).unwrap();
    for file in ["package.json", "package-lock.json", "acl.js"] {
        std::fs::copy(source.join(file), build.join(file)).unwrap();
    }
    let lock = std::fs::read(source.join("package-lock.json")).unwrap();
    let stamp = build.join("node_modules/.skein-lock");
    if std::fs::read(&stamp).ok().as_deref() != Some(lock.as_slice()) {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&build)
            .status()
            .unwrap();
        assert!(status.success(), "npm ci in {}: {status}", build.display());
        std::fs::write(&stamp, &lock).unwrap();
    }
    // What `npm run build` runs in plugins/examples/js-acl, with the WIT found from here.
    let status = Command::new("npx")
        .args(["--no-install", "componentize-js", "acl.js", "--wit"])
        .arg(root.join("plugins/wit"))
        .args(["--world-name", "authz-plugin", "--disable"])
        .args(["stdio", "random", "clocks", "http", "fetch-event"])
        .args(["-o", "js-acl.wasm"])
        .current_dir(&build)
        .status()
        .unwrap();
    assert!(status.success(), "componentize-js: {status}");
    std::fs::read(build.join("js-acl.wasm")).unwrap()
}
