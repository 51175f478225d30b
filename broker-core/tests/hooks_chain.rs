//! The hook chain, driven through its public API: every decision path, the default and
//! failure policies, timeouts on tokio's paused clock, the decision cache, rewrites, events,
//! the MQTT 5 enhanced-authentication exchange and the built-in hooks.
//!
//! The tests live in `hooks_chain/`, one file per theme. They need the `runtime` feature:
//! timeouts and the event task are tokio's.

#![cfg(test)]
#![cfg(feature = "runtime")]

#[path = "hooks_chain/builtin.rs"]
mod builtin;
#[path = "hooks_chain/cache.rs"]
mod cache;
#[path = "hooks_chain/decisions.rs"]
mod decisions;
#[path = "hooks_chain/enhanced_auth.rs"]
mod enhanced_auth;
#[path = "hooks_chain/metrics.rs"]
mod metrics;
#[path = "hooks_chain/rewrite_events.rs"]
mod rewrite_events;
#[path = "hooks_chain/support.rs"]
mod support;
