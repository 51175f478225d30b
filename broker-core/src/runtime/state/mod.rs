//! The state every task shares ([`shared::Shared`]) and the parts it is made of: the client
//! [`registry::Registry`] and its entries, the [`retained::Retained`] messages, the [`router::Router`], the
//! connections' control slots and the admin requests they carry ([`admin_request`]), the
//! limits of what connections may hold while receiving
//! ([`receive_limits`]), the counters, and
//! the figures gathered from them ([`snapshot`]); and the wait for the store before a will
//! it may hold is published ([`will_barrier`]).

pub(crate) mod admin_request;
pub(crate) mod client_entry;
pub(crate) mod control;
pub(crate) mod counted;
pub(crate) mod receive_limits;
pub(crate) mod registry;
pub(crate) mod retained;
pub(crate) mod retained_stamps;
pub(crate) mod router;
pub(crate) mod shared;
pub(crate) mod snapshot;
pub(crate) mod stats;
pub(crate) mod subscribe_gate;
pub(crate) mod will_barrier;

#[cfg(test)]
mod registry_test;
