//! What the admin operations ask a live connection through its control slot
//! ([`ControlSlot`](super::control::ControlSlot)): what only its task knows, or to close.

use std::net::SocketAddr;

use tokio::sync::oneshot;

use crate::types::ProtocolVersion;

/// An admin request to a connection.
#[derive(Debug)]
pub(crate) enum AdminRequest {
    /// Its figures now, sent through the channel.
    Figures(oneshot::Sender<LiveFigures>),
    /// Close (MQTT 5: DISCONNECT 0x98 Administrative action); with `discard_session`, the
    /// session ends with the connection whatever its expiry interval.
    Close {
        /// End the session too.
        discard_session: bool,
    },
}

/// What a connection's task knows of its client and session now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LiveFigures {
    /// The client's address.
    pub(crate) peer: Option<SocketAddr>,
    /// The protocol version, once the CONNECT is taken in.
    pub(crate) protocol: Option<ProtocolVersion>,
    /// Clean Session (3.x) or Clean Start (5.0).
    pub(crate) clean_start: bool,
    /// The QoS 1 and 2 messages sent to the client and not acknowledged yet.
    pub(crate) inflight: usize,
    /// The session's subscriptions.
    pub(crate) subscriptions: usize,
    /// The Session Expiry Interval in force, in seconds.
    pub(crate) session_expiry: u32,
    /// The Keep Alive in force, in seconds.
    pub(crate) keep_alive: u16,
}
