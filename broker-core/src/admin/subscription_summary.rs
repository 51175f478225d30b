//! One subscription as a listing shows it.

use crate::codec::SubscriptionOptions;
use crate::types::{ClientId, SubscriptionId, TopicFilter};

/// A client's subscription to a filter.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriptionSummary {
    /// The subscriber.
    pub client_id: ClientId,
    /// The filter (`$share/<group>/...` for a shared subscription).
    pub filter: TopicFilter,
    /// Its options, with the maximum QoS granted.
    pub options: SubscriptionOptions,
    /// The MQTT 5 Subscription Identifier.
    pub id: Option<SubscriptionId>,
}
