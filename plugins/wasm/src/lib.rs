//! Skein's WASM plugin host: authentication, authorization and topic-rewrite plugins written
//! against the `skein:plugin` WIT package (`plugins/wit/`), compiled as WebAssembly
//! components, run in wasmtime behind broker-core's [`Hook`](broker_core::hooks::Hook) trait.
//!
//! Each plugin runs sandboxed: a deadline per call (epoch interruption, one tick a
//! millisecond), a memory cap per instance, and only the capabilities it is granted linked. A
//! trap, a deadline passed or the memory cap reached ends that instance (the next call gets a
//! fresh one) and is a [`HookError`](broker_core::hooks::HookError) to the hook chain, whose
//! failure policy decides (closed by default for authentication and authorization).
//!
//! ```no_run
//! use std::sync::Arc;
//! use skein_plugin_wasm::{PluginEngine, PluginSpec, WasmHook};
//!
//! # async fn load() -> Result<(), Box<dyn std::error::Error>> {
//! let engine = Arc::new(PluginEngine::new()?);
//! let spec = PluginSpec::new("acl", std::fs::read("acl.wasm")?)
//!     .with_config([("publish", "sensors/%c/#")]);
//! let hook = WasmHook::load(&engine, spec).await?;
//! # let _ = hook;
//! # Ok(())
//! # }
//! ```

mod bindings;
mod breaker;
mod component;
mod convert;
mod engine;
mod error;
mod generation;
mod harness;
mod http;
mod http_origin;
mod instance;
mod kv;
mod plugin_metrics;
mod spec;
mod state;
mod test_client;
mod wasm_hook;

pub use breaker::{COOL_DOWN, WINDOW};
pub use component::build_plugin;
pub use engine::{PluginEngine, TICK};
pub use error::LoadError;
pub use harness::{HarnessError, PluginHarness};
pub use http::MAX_BODY;
pub use http_origin::HttpOrigin;
pub use kv::{MAX_KEYS, MAX_VALUE};
pub use spec::PluginSpec;
pub use test_client::TestClient;
pub use wasm_hook::{Reloader, WasmHook};
