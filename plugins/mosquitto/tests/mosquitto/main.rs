//! The Mosquitto plugin's tests, one binary: the ACL file ([`acl`]) and the password file
//! ([`password`]), each as a hook alone and in a chain, reloads through the chain included.

// Test code throughout, helpers included: clippy.toml's test allowances (`unwrap`, `panic`)
// apply to the whole binary.
#![cfg(test)]

mod acl;
mod password;
