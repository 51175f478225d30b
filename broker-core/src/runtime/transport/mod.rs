//! Bytes in and out: the connection's [`stream::Stream`] (plain TCP, TLS, WebSocket), the TLS
//! and WebSocket layers, the client certificate's identity, and a listener's settings.

pub(crate) mod identity;
pub(crate) mod listener;
pub(crate) mod stream;
pub(crate) mod tls;
pub(crate) mod ws;
