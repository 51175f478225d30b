//! What an administrative disconnect did.

/// The outcome of [`BrokerHandle::disconnect_client`].
///
/// [`BrokerHandle::disconnect_client`]: crate::BrokerHandle::disconnect_client
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Disconnection {
    /// The connection was closed (MQTT 5: DISCONNECT 0x98 Administrative action); a
    /// persistent session stays, offline.
    Disconnected,
    /// The connection was closed and its session ended with it.
    DisconnectedAndDiscarded,
    /// The session waited offline; it was ended.
    Discarded,
    /// The session waits offline and was left alone (no discard was asked).
    NotConnected,
    /// No session has this client identifier.
    NotFound,
}
