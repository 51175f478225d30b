//! The Rust SDK for Skein WASM plugins (docs/plugins.md).
//!
//! - **Bindings** to the worlds of the `skein:plugin` WIT package (`plugins/wit/`), one cargo
//!   feature each: `authz-plugin`, `auth-plugin`, `rewrite-plugin`, `events-plugin`,
//!   `http-auth-plugin`, `plugin-host` (every hook). With the feature `authz-plugin` on, the bindings are in
//!   `skein_plugin_sdk::authz_plugin` and a plugin exports its implementation with
//!   `skein_plugin_sdk::authz_plugin::export!(MyPlugin);`. A plugin turns on one world.
//! - **A panic hook**: each world's `install_panic_hook()` sends a panic's message and place
//!   to the broker's log (`log` at error) before the instance traps, where it would
//!   otherwise be lost.
//! - **Topic helpers**, with no dependency: [`matches`], Mosquitto's `%c` / `%u`
//!   [`expand`], and [`matches_pattern`], both at once without allocating (what an ACL
//!   plugin does on every call); they build for `wasm32-unknown-unknown` as for the host
//!   (where their tests run).
//!
//! ```
//! use skein_plugin_sdk::{expand, matches};
//!
//! let rule = expand("sensors/%c/#", "dev1", None).unwrap();
//! assert!(matches(&rule, "sensors/dev1/temperature"));
//! assert!(!matches(&rule, "sensors/dev2/temperature"));
//! // %u needs a user name.
//! assert_eq!(expand("users/%u/#", "dev1", None), None);
//! ```
//!
//! Testing a plugin under the real host (its sandbox, its limits, the broker's types): the
//! harness `skein_plugin_wasm::PluginHarness`, as a dev-dependency.

/// `install_panic_hook()` for a world whose bindings import `log`.
#[cfg(any(
    feature = "authz-plugin",
    feature = "auth-plugin",
    feature = "rewrite-plugin",
    feature = "events-plugin",
    feature = "http-auth-plugin",
    feature = "plugin-host"
))]
macro_rules! panic_hook {
    () => {
        /// Sends the message and place of a panic to the broker's log (at error) before
        /// the instance traps; call it from `init`. A plugin built with `panic = "abort"`
        /// still runs the hook first.
        pub fn install_panic_hook() {
            std::panic::set_hook(Box::new(|info| {
                let place = info
                    .location()
                    .map(|l| format!(" at {}:{}", l.file(), l.line()))
                    .unwrap_or_default();
                let message = info
                    .payload()
                    .downcast_ref::<&str>()
                    .map(|m| (*m).to_owned())
                    .or_else(|| info.payload().downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "a panic".to_owned());
                skein::plugin::log::log(
                    skein::plugin::log::Level::Error,
                    &format!("panicked{place}: {message}"),
                );
            }));
        }
    };
}

/// The `authz-plugin` world: imports `log`; exports `plugin`, `authz`.
#[cfg(feature = "authz-plugin")]
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod authz_plugin {
    wit_bindgen::generate!({
        path: "wit",
        world: "authz-plugin",
        pub_export_macro: true,
        default_bindings_module: "skein_plugin_sdk::authz_plugin",
    });
    panic_hook!();
}

/// The `auth-plugin` world: imports `log`, `kv`, `metrics`; exports `plugin`, `authn`,
/// `authz`.
#[cfg(feature = "auth-plugin")]
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod auth_plugin {
    wit_bindgen::generate!({
        path: "wit",
        world: "auth-plugin",
        pub_export_macro: true,
        default_bindings_module: "skein_plugin_sdk::auth_plugin",
    });
    panic_hook!();
}

/// The `rewrite-plugin` world: imports `log`; exports `plugin`, `rewrite`.
#[cfg(feature = "rewrite-plugin")]
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod rewrite_plugin {
    wit_bindgen::generate!({
        path: "wit",
        world: "rewrite-plugin",
        pub_export_macro: true,
        default_bindings_module: "skein_plugin_sdk::rewrite_plugin",
    });
    panic_hook!();
}

/// The `events-plugin` world: imports `log`, `kv`, `metrics`; exports `plugin`, `events`.
#[cfg(feature = "events-plugin")]
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod events_plugin {
    wit_bindgen::generate!({
        path: "wit",
        world: "events-plugin",
        pub_export_macro: true,
        default_bindings_module: "skein_plugin_sdk::events_plugin",
    });
    panic_hook!();
}

/// The `http-auth-plugin` world: imports `log`, `kv`, `http`; exports `plugin`, `authn`.
#[cfg(feature = "http-auth-plugin")]
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod http_auth_plugin {
    wit_bindgen::generate!({
        path: "wit",
        world: "http-auth-plugin",
        pub_export_macro: true,
        default_bindings_module: "skein_plugin_sdk::http_auth_plugin",
    });
    panic_hook!();
}

/// Every hook: the `plugin-host` world (imports `log`, `kv`, `metrics`, `http`; exports `plugin`,
/// `authn`, `authz`, `rewrite`, `events`).
#[cfg(feature = "plugin-host")]
#[allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
pub mod plugin_host {
    wit_bindgen::generate!({
        path: "wit",
        world: "plugin-host",
        pub_export_macro: true,
        default_bindings_module: "skein_plugin_sdk::plugin_host",
    });
    panic_hook!();
}

mod topic;

pub use topic::{expand, matches, matches_pattern};
