//! The codec's test binary: byte vectors checked both ways, one rejection test per rule of
//! the specifications (`docs/conformance.md` maps statements to these tests), property-based
//! round trips, `Debug` redaction and zero copy, and the fuzz corpus.
//!
//! One binary per area (`codec`, `session`, `router`, `hooks`, `store`, `runtime`): each file
//! here is a module, and the helpers they share are modules too.

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod debug_and_zero_copy;
mod fuzz_corpus;
mod rejection_support;
mod rejections;
mod rejections_bounds;
mod rejections_connect;
mod rejections_properties;
mod rejections_publish;
mod rejections_strings;
mod rejections_subscribe;
mod roundtrip;
mod strategies;
mod vectors;
mod vectors_mqtt311;
mod vectors_v31;
mod vectors_v5;
