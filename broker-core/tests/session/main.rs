//! The session's test binary: the sans-I/O state machine driven by a harness with a virtual
//! clock (`harness`), parking and resuming, the routed message flows, and property tests of
//! the building blocks and the message queue against simple models. No tokio: nothing here
//! needs the `runtime` feature.

// Test code throughout, helpers included: clippy.toml's allow-*-in-tests then apply to them.
#![cfg(test)]

mod building_blocks_proptest;
mod control_chars;
mod flows;
mod harness;
mod machine_auth;
mod machine_connect;
mod machine_flow;
mod machine_lifecycle;
mod machine_props;
mod parked;
mod parked_props;
mod queue_proptest;
