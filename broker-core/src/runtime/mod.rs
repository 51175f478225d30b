//! The tokio runtime that drives the sans-I/O parts into a running broker.
//!
//! This module owns the tasks and the shared state; the protocol decisions stay in the
//! [`Session`](crate::session::Session) and the [`router`](crate::router). Its modules import
//! one way, and so do its folders: each item below uses only what is listed before it
//! (checked by `module_graph_test`, at both levels).
//!
//! - [`clock`], [`run_state`], [`tasks`], [`client_trace`], [`clipped`], [`log_lines`]: the
//!   bottom, what every task needs; they import no other runtime module but `clipped`
//!   (client-chosen strings as log lines show them, cut and escaped).
//! - [`queue`]: per session, the bounded mailbox publishers push into and the session's task
//!   drains, and its wake-up.
//! - [`transport`]: the connection's byte stream, plain TCP (the fast path), TLS or
//!   WebSocket, the client certificate's identity, a listener's settings.
//! - [`persist`]: the session store seam: the handle every writer uses.
//! - [`park`]: the parker, which keeps idle plain TCP connections without a task of their
//!   own, each as a [`Parkable`](park::parker::Parkable).
//! - [`cluster`]: the link to the peer nodes (only when the node has some): the local routes
//!   announced, one outbox per peer.
//! - [`hooks`]: the hook chain as the connections use it.
//! - [`state`]: the shared state ([`Shared`](state::shared::Shared)) and the types it is made
//!   of: the client [`Registry`](state::registry::Registry), the
//!   [`Router`](state::router::Router), the [`Retained`](state::retained::Retained)
//!   messages, the control slots, the counters.
//! - [`routing`]: carrying a publish out (retained store, router match, one push per
//!   mailbox), and a session's subscriptions leaving the router when it ends.
//! - [`handover`]: a session's end, and the shared-subscription messages a member lets go
//!   handed to other members, stored for persistent ones before what they replace goes.
//! - [`wills`]: publishing a will, its copies for persistent sessions through the store.
//! - [`connection`]: one task per connection: its I/O half, its client, the handlers of the
//!   session's commands, parking and resuming.
//! - [`listener`]: the accept task of each listener and the TLS / WebSocket handshakes.
//! - [`admin`]: the operator's listings and disconnects behind the embedding API: reads of
//!   the registry, the router and the retained store, requests to live connections through
//!   their control slots.
//! - [`surrender`]: a session given up to another node, where its client connects now
//!   (`BrokerHandle::hand_over_session`, the holding side of a takeover across nodes).
//! - [`background`]: recovery at start, the store writer, the sweeper, the `$SYS`
//!   publisher, the in-process subscribers, the peers' outbox tasks.
//!
//! # What this module must never do
//!
//! Hold a lock across an `.await`; keep an unbounded queue or buffer; leave a task running
//! after shutdown; panic on anything a client sends; let two of its modules import each
//! other.

pub(crate) mod admin;
pub(crate) mod background;
pub(crate) mod client_trace;
pub(crate) mod clipped;
pub(crate) mod clock;
pub(crate) mod cluster;
pub(crate) mod connection;
pub(crate) mod handover;
pub(crate) mod hooks;
pub(crate) mod listener;
pub(crate) mod log_lines;
pub(crate) mod park;
pub(crate) mod persist;
pub(crate) mod queue;
pub(crate) mod routing;
pub(crate) mod run_state;
pub(crate) mod state;
pub(crate) mod surrender;
pub(crate) mod tasks;
pub(crate) mod transport;
pub(crate) mod wills;

#[cfg(test)]
mod module_graph_test;
#[cfg(test)]
mod routing_test;
