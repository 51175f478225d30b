//! Bytes in and out: the connection's [`stream::Stream`] (plain TCP, TLS, WebSocket), the
//! handshakes, the client certificate's identity, and the listeners that accept connections.

pub(crate) mod accept;
pub(crate) mod handshake;
pub(crate) mod identity;
pub(crate) mod listener;
pub(crate) mod stream;
pub(crate) mod tls;
pub(crate) mod ws;
