//! The tokio runtime that drives the sans-I/O parts into a running broker.
//!
//! This module owns the tasks and the shared state; the protocol decisions stay in the
//! [`Session`](crate::session::Session) and the [`router`](crate::router):
//!
//! - [`shared`]: the one `Arc` every task holds: the router (behind a read-mostly lock held
//!   only for one match), the retained store, the client registry, the counters.
//! - [`mailbox`]: per session, the bounded queue publishers push into and the session's task
//!   drains. A publisher's own task routes its message and pushes the copies: no task sees
//!   every message.
//! - [`listener`] and [`connection`]: one task per listener, one per connection, driving the
//!   session in the order its contract fixes (commands, then transmissions), with the
//!   commands carried out in [`connect`], [`commands`] and [`close`].
//! - [`hooks`], [`auth`], [`authorize`] and [`events`]: the hook chain as the connections
//!   use it: authentication (with the MQTT 5 AUTH exchange), authorization and rewriting of
//!   publishes and subscriptions, lifecycle events off the publish path.
//! - [`transport`]: the connection's byte stream, plain TCP (the fast path), TLS
//!   ([`transport_tls`]) or WebSocket ([`transport_ws`]); their handshakes
//!   ([`transport_handshake`]) run in the connection's task; [`transport_identity`] gives the
//!   client certificate and its CN to the CONNECT.
//! - [`parker`] and [`parked`]: idle plain TCP connections without a task of their own: the
//!   socket in the parker's epoll set, the session in its compact form, until a packet, a
//!   message, a takeover, a deadline or shutdown resumes the connection in a new task. The
//!   mailbox's wake-up ([`signal`]) and the control slot wake a parked connection as they wake
//!   a task.
//! - [`sweeper`]: timers of sessions with no connection (delayed wills, expiry) and of
//!   retained messages.
//! - [`local`]: in-process subscribers of the embedding API.
//! - [`persist`]: the session store seam: recovery at start and one task that applies the
//!   store writes in the order the broker decided them.
//! - [`log_lines`]: the per-packet debug lines, in Mosquitto's words.
//!
//! # What this module must never do
//!
//! Hold a lock across an `.await`; keep an unbounded queue or buffer; leave a task running
//! after shutdown; panic on anything a client sends.

pub(crate) mod auth;
pub(crate) mod authorize;
pub(crate) mod client_trace;
pub(crate) mod close;
pub(crate) mod commands;
pub(crate) mod connect;
pub(crate) mod connection;
pub(crate) mod control;
pub(crate) mod events;
pub(crate) mod hooks;
pub(crate) mod idle;
pub(crate) mod listener;
pub(crate) mod local;
pub(crate) mod log_lines;
pub(crate) mod mailbox;
pub(crate) mod parked;
pub(crate) mod parker;
pub(crate) mod persist;
pub(crate) mod publish_memo;
pub(crate) mod registry;
pub(crate) mod routing;
pub(crate) mod shared;
pub(crate) mod signal;
pub(crate) mod stats;
pub(crate) mod sweeper;
pub(crate) mod sys_topics;
pub(crate) mod tasks;
pub(crate) mod transport;
pub(crate) mod transport_handshake;
pub(crate) mod transport_identity;
pub(crate) mod transport_tls;
pub(crate) mod transport_ws;
