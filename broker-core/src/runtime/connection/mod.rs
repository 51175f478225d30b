//! One task per network connection. The connection ([`task::Connection`]) is two halves and
//! the task's own flags: its I/O half ([`wire::Wire`]: socket, buffers, decoder, timer) and
//! its client ([`client::Client`]: the session, who the client is, what it has under way).
//! The task reads, decodes and writes through the wire and hands each session command to a
//! handler of the client, which takes the shared state (and, for a CONNECT, the stream) as
//! arguments, one file per kind: CONNECT ([`connect`]), authentication ([`auth`]),
//! authorization ([`authorize`]), SUBSCRIBE / UNSUBSCRIBE / PUBLISH ([`commands`]), the end
//! ([`close`]), lifecycle events ([`events`]). [`idle`] schedules the park check,
//! [`parking`] makes a connection into its [`parked`] record and back, [`serve`] starts, parks
//! and resumes the task; [`throttling`] pauses its reads for the client's rate limit
//! ([`throttle`]).

pub(crate) mod ack_queue;
pub(crate) mod auth;
pub(crate) mod auth_exchange;
pub(crate) mod authorize;
pub(crate) mod client;
pub(crate) mod close;
pub(crate) mod commands;
pub(crate) mod connect;
pub(crate) mod durable;
pub(crate) mod events;
pub(crate) mod idle;
pub(crate) mod moved_queue;
pub(crate) mod parked;
pub(crate) mod parking;
pub(crate) mod pending_acks;
pub(crate) mod publish_memo;
pub(crate) mod screen;
pub(crate) mod serve;
#[cfg(test)]
mod size_test;
#[cfg(test)]
mod subscribe_gate_test;
pub(crate) mod task;
pub(crate) mod throttle;
pub(crate) mod throttling;
pub(crate) mod wire;
