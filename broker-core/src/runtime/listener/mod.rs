//! The listeners' side of connections: the task that accepts a listener's connections
//! ([`accept`]) and the handshakes a TLS or WebSocket connection does in its own task before
//! it speaks MQTT ([`handshake`]).

pub(crate) mod accept;
mod accept_rate;
pub(crate) mod handshake;
mod proxy_header;
