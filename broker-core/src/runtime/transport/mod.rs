//! Bytes in and out: the connection's [`stream::Stream`] (plain TCP, TLS, WebSocket), the TLS
//! and WebSocket layers, the client certificate's identity, a listener's settings and its
//! traffic counters, and the descriptor table grown ahead for the connections to come.

pub(crate) mod fd_table;
pub(crate) mod identity;
pub(crate) mod listener;
pub(crate) mod stream;
pub(crate) mod tls;
pub(crate) mod tls_key;
pub(crate) mod traffic;
pub(crate) mod ws;
