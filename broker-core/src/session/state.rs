//! The part of a session that outlives a network connection.

use std::collections::HashMap;
use std::num::NonZeroU16;

use crate::codec::Publish;
use crate::router::SubscriptionEntry;
use crate::types::{ClientId, PacketId, TopicFilter};

use super::{InboundQos2, InflightState, OutboundInflight};

/// What the server keeps of a session between network connections (MQTT 5.0 §4.1): the
/// subscriptions, the QoS 1 and 2 messages sent to the client and not completely
/// acknowledged, and the QoS 2 messages received from it and not yet released. Messages
/// waiting to be sent live in the client's queue, which the runtime owns.
///
/// It also remembers which in-flight messages came through a shared subscription, so that
/// they can go to another member of the group if the session ends before the client
/// acknowledges them (MQTT 5.0 §4.8.2).
#[derive(Debug, Clone)]
pub struct SessionState {
    pub(crate) client_id: ClientId,
    pub(crate) subscriptions: HashMap<TopicFilter, SubscriptionEntry>,
    pub(crate) outbound: OutboundInflight,
    pub(crate) inbound_qos2: InboundQos2,
    /// Packet identifier -> the shared filter its in-flight PUBLISH came through, until the
    /// PUBACK or PUBREC. Absent for a session with no shared subscription (boxed: an empty
    /// map is 48 bytes of every session, a box 8).
    #[allow(clippy::box_collection)]
    pub(crate) shared_outbound: Option<Box<HashMap<PacketId, TopicFilter>>>,
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
            shared_outbound: None,
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

    /// The in-flight PUBLISH packets the client has not acknowledged (no PUBACK, no PUBREC)
    /// that came through a shared subscription, in send order, with that subscription's
    /// filter: the messages another member of the group gets if this session ends
    /// (MQTT 5.0 §4.8.2).
    pub fn shared_inflight(&self) -> impl Iterator<Item = (&Publish, &TopicFilter)> + '_ {
        self.outbound.iter().filter_map(|(id, state)| {
            let filter = self.shared_outbound.as_ref()?.get(&id)?;
            match state {
                InflightState::AwaitingPubAck | InflightState::AwaitingPubRec => {
                    Some((self.outbound.publish(id)?, filter))
                }
                InflightState::AwaitingPubComp => None,
            }
        })
    }

    /// The shared filter the in-flight PUBLISH `id` came through, if it came through one and
    /// is still unacknowledged.
    #[must_use]
    pub fn shared_origin(&self, id: PacketId) -> Option<&TopicFilter> {
        self.shared_outbound.as_ref()?.get(&id)
    }

    /// Records that the PUBLISH sent with `id` came through the shared subscription `filter`.
    pub(crate) fn note_shared(&mut self, id: PacketId, filter: TopicFilter) {
        self.shared_outbound
            .get_or_insert_default()
            .insert(id, filter);
    }

    /// The client acknowledged (or refused) `id`: it is no longer another member's to take.
    pub(crate) fn forget_shared(&mut self, id: PacketId) {
        if let Some(shared) = &mut self.shared_outbound {
            shared.remove(&id);
        }
    }
}
