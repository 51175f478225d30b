//! The hook chain's test binary, driven through the chain's public API: every decision path,
//! the default and failure policies, timeouts, the decision cache, rewrites, events, the
//! MQTT 5 enhanced-authentication exchange and the built-in hooks. One file per theme;
//! `support` holds the scripted hooks and request builders they share.

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod builtin;
mod cache;
mod decisions;
mod enhanced_auth;
// The event task is a tokio task: the runtime's. Everything else here runs without it.
#[cfg(feature = "runtime")]
mod event_task;
mod metrics;
mod rewrite_events;
mod support;
