//! The plugin host's test binary: real plugins, built from source, through the host.

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod authn;
mod backend;
mod cache;
mod calls;
mod exchange;
mod guests;
mod http;
mod js_acl;
mod jwt_rs256;
mod sdk;
