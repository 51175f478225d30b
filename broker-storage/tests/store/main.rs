//! The disk store's test binary: the conformance suite, reopening, damage, and crashes of a
//! writer killed at random points.

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod conformance;
mod crash;
mod reopen;
