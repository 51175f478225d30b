//! The tokio runtime that drives the sans-I/O parts into a running broker.
//!
//! This module owns the tasks and the shared state; the protocol decisions stay in the
//! [`Session`](crate::session::Session) and the [`router`](crate::router). Its modules import
//! one way (checked by `module_graph_test`): each folder below uses only what is listed
//! before it.
//!
//! - [`clock`], [`run_state`], [`tasks`], [`client_trace`], [`log_lines`]: the bottom, what
//!   every task needs; they import no other runtime module.
//! - [`queue`]: per session, the bounded mailbox publishers push into and the session's task
//!   drains, and its wake-up.
//! - [`transport`]: the connection's byte stream, plain TCP (the fast path), TLS or
//!   WebSocket, their handshakes, the client certificate's identity; the listener's settings
//!   and its accept task.
//! - [`persist`]: the session store seam: the handle every writer uses, the task that applies
//!   the writes in order, recovery at start.
//! - [`cluster`]: the link to the peer nodes (only when the node has some): the local
//!   routes announced, one outbox per peer and the task that forwards it.
//! - [`park`]: idle plain TCP connections without a task of their own, kept as a
//!   [`Parkable`](park::parker::Parkable) by the parker.
//! - [`hooks`]: the hook chain as the connections use it.
//! - [`state`]: the shared state ([`Shared`](state::shared::Shared)) and what it is made of:
//!   the client [`Registry`](state::registry::Registry), the control slots, the counters.
//! - [`routing`]: carrying a publish out (retained store, router match, one push per
//!   mailbox), and a session's subscriptions leaving the router when it ends.
//! - [`connection`]: one task per connection, driving the session in the order its contract
//!   fixes (commands, then transmissions); the commands are carried out in its files.
//! - [`background`]: the sweeper, the `$SYS` publisher and the in-process subscribers.
//!
//! # What this module must never do
//!
//! Hold a lock across an `.await`; keep an unbounded queue or buffer; leave a task running
//! after shutdown; panic on anything a client sends; let two of its modules import each
//! other.

pub(crate) mod background;
pub(crate) mod client_trace;
pub(crate) mod clock;
pub(crate) mod cluster;
pub(crate) mod connection;
pub(crate) mod hooks;
pub(crate) mod log_lines;
pub(crate) mod park;
pub(crate) mod persist;
pub(crate) mod queue;
pub(crate) mod routing;
pub(crate) mod run_state;
pub(crate) mod state;
pub(crate) mod tasks;
pub(crate) mod transport;

#[cfg(test)]
mod module_graph_test;
#[cfg(test)]
mod routing_test;
