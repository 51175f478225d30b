//! One client in full.

use crate::admin::client_summary::ClientSummary;
use crate::admin::subscription_summary::SubscriptionSummary;

/// A client, its session and its subscriptions ([`BrokerHandle::client`]).
///
/// [`BrokerHandle::client`]: crate::BrokerHandle::client
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientDetails {
    /// The client and its session.
    pub summary: ClientSummary,
    /// Its subscriptions, by filter.
    pub subscriptions: Vec<SubscriptionSummary>,
}
