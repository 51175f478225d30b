//! The router's test binary: the subscription tree, the specification's matching rules,
//! retained messages, and property tests against brute force.

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod retained;
mod spec;
mod tree;
mod tree_proptest;
