//! What a client's CONNECT said about it, kept in its registry entry for the admin
//! operations: set when the connection takes the client identifier, and kept while the
//! session waits offline (its last connection's).

use std::net::SocketAddr;
use std::time::SystemTime;

use crate::types::{MqttString, ProtocolVersion};

/// A connection's facts as its CONNECT set them.
#[derive(Debug, Clone)]
pub(crate) struct ConnectionFacts {
    /// The client's address.
    pub(crate) peer: SocketAddr,
    /// The protocol version.
    pub(crate) protocol: ProtocolVersion,
    /// The CONNECT User Name.
    pub(crate) username: Option<MqttString>,
    /// Clean Session (3.x) or Clean Start (5.0).
    pub(crate) clean_start: bool,
    /// The Keep Alive granted, in seconds.
    pub(crate) keep_alive: u16,
    /// The Session Expiry Interval granted, in seconds.
    pub(crate) session_expiry: u32,
    /// When the CONNECT was accepted.
    pub(crate) connected_at: SystemTime,
}
