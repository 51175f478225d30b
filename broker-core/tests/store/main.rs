//! The store's test binary: the in-memory store against the store conformance suite.

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod memory;
