//! One client as a listing shows it.

use std::net::SocketAddr;
use std::time::SystemTime;

use crate::types::{ClientId, MqttString, ProtocolVersion};

/// A client and its session. The address, protocol, Keep Alive and Clean Start are its
/// connection's, known while it is connected (and its connection answered within 2 seconds);
/// the user name and connection time are those of its last CONNECT, kept while the session
/// waits offline (a session the broker loaded from its store at start has neither until its
/// client connects).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientSummary {
    /// The client identifier.
    pub client_id: ClientId,
    /// Whether a connection holds the session now (otherwise it waits offline).
    pub connected: bool,
    /// The CONNECT User Name.
    pub username: Option<MqttString>,
    /// The client's address; `None` while offline, and for a stream handed over without
    /// one (`BrokerHandle::serve_stream`).
    pub remote_addr: Option<SocketAddr>,
    /// The protocol version.
    pub protocol: Option<ProtocolVersion>,
    /// The Keep Alive in force, in seconds (0: none).
    pub keep_alive: Option<u16>,
    /// Clean Session (3.x) or Clean Start (5.0).
    pub clean_start: Option<bool>,
    /// The Session Expiry Interval, in seconds (`u32::MAX`: never).
    pub session_expiry: Option<u32>,
    /// When the CONNECT was accepted.
    pub connected_at: Option<SystemTime>,
    /// How many subscriptions the session has; `None` when its connection did not say in
    /// time.
    pub subscriptions: Option<usize>,
    /// The messages queued for the client, not sent yet.
    pub queued_messages: usize,
    /// Their payload and topic bytes.
    pub queued_bytes: usize,
    /// The QoS 1 and 2 messages sent to the client and not acknowledged yet; `None` when its
    /// connection did not say in time.
    pub inflight: Option<usize>,
}
