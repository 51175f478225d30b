//! Lifecycle events, delivered to hooks off the hot path.

use std::sync::Arc;

use super::ClientInfo;
use crate::session::{CloseReason, DropReason};
use crate::types::{ClientId, QoS, TopicFilter, TopicName};

/// Something that happened to a client. Events are notifications: a hook cannot change
/// anything by receiving one, and a hook that fails or is slow only delays later events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A connection was accepted (CONNACK 0x00 sent).
    Connected {
        /// The connection.
        client: Arc<ClientInfo>,
        /// Whether a stored session was resumed.
        session_present: bool,
    },
    /// A connection ended.
    Disconnected {
        /// The client.
        client_id: ClientId,
        /// Why it ended.
        reason: CloseReason,
    },
    /// A filter was granted.
    Subscribed {
        /// The client.
        client_id: ClientId,
        /// The filter, after rewriting.
        filter: TopicFilter,
        /// The QoS granted.
        qos: QoS,
    },
    /// A filter was removed at the client's request.
    Unsubscribed {
        /// The client.
        client_id: ClientId,
        /// The filter, after rewriting.
        filter: TopicFilter,
    },
    /// A message was handed to the client's connection (sent; QoS 1 and 2 may still await
    /// their acknowledgement).
    MessageDelivered {
        /// The receiving client.
        client_id: ClientId,
        /// The message's topic.
        topic: TopicName,
        /// The QoS it was sent with.
        qos: QoS,
    },
    /// A message for the client was discarded.
    MessageDropped {
        /// The client it was for.
        client_id: ClientId,
        /// The message's topic.
        topic: TopicName,
        /// The QoS it would have been sent with.
        qos: QoS,
        /// Why it was discarded.
        reason: DropReason,
    },
}

impl Event {
    /// The client the event is about.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        match self {
            Event::Connected { client, .. } => &client.client_id,
            Event::Disconnected { client_id, .. }
            | Event::Subscribed { client_id, .. }
            | Event::Unsubscribed { client_id, .. }
            | Event::MessageDelivered { client_id, .. }
            | Event::MessageDropped { client_id, .. } => client_id,
        }
    }
}
