//! The part of a session that outlives a network connection.

use std::collections::HashMap;
use std::num::NonZeroU16;

use crate::router::SubscriptionEntry;
use crate::types::{ClientId, TopicFilter};

use super::{InboundQos2, OutboundInflight};

/// What the server keeps of a session between network connections (MQTT 5.0 §4.1): the
/// subscriptions, the QoS 1 and 2 messages sent to the client and not completely
/// acknowledged, and the QoS 2 messages received from it and not yet released. Messages
/// waiting to be sent live in the client's queue, which the runtime owns.
#[derive(Debug, Clone)]
pub struct SessionState {
    client_id: ClientId,
    subscriptions: HashMap<TopicFilter, SubscriptionEntry>,
    pub(crate) outbound: OutboundInflight,
    pub(crate) inbound_qos2: InboundQos2,
}

impl SessionState {
    /// A new, empty session for `client_id`.
    #[must_use]
    pub fn new(client_id: ClientId) -> Self {
        SessionState {
            client_id,
            subscriptions: HashMap::new(),
            outbound: OutboundInflight::new(NonZeroU16::MAX),
            inbound_qos2: InboundQos2::new(NonZeroU16::MAX),
        }
    }

    /// The client identifier.
    #[must_use]
    pub fn client_id(&self) -> &ClientId {
        &self.client_id
    }

    /// The subscriptions, in no particular order.
    pub fn subscriptions(&self) -> impl Iterator<Item = (&TopicFilter, &SubscriptionEntry)> {
        self.subscriptions.iter()
    }

    /// The subscription on `filter`, if the session holds one.
    #[must_use]
    pub fn subscription(&self, filter: &TopicFilter) -> Option<&SubscriptionEntry> {
        self.subscriptions.get(filter)
    }

    /// How many subscriptions the session holds.
    #[must_use]
    pub fn subscription_count(&self) -> usize {
        self.subscriptions.len()
    }

    /// The QoS 1 and QoS 2 messages sent to the client and not completely acknowledged.
    #[must_use]
    pub fn outbound(&self) -> &OutboundInflight {
        &self.outbound
    }

    /// The QoS 2 messages received from the client and not yet released.
    #[must_use]
    pub fn inbound_qos2(&self) -> &InboundQos2 {
        &self.inbound_qos2
    }

    pub(crate) fn insert_subscription(
        &mut self,
        filter: TopicFilter,
        entry: SubscriptionEntry,
    ) -> Option<SubscriptionEntry> {
        self.subscriptions.insert(filter, entry)
    }

    pub(crate) fn remove_subscription(
        &mut self,
        filter: &TopicFilter,
    ) -> Option<SubscriptionEntry> {
        self.subscriptions.remove(filter)
    }
}
