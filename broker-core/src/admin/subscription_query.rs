//! Which subscriptions a listing shows.

use crate::admin::page::DEFAULT_LIMIT;

/// The filter and page of a subscription listing ([`BrokerHandle::subscriptions`]). Every
/// condition set must hold.
///
/// [`BrokerHandle::subscriptions`]: crate::BrokerHandle::subscriptions
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriptionQuery {
    /// The subscriber's client identifier is this.
    pub client_id: Option<String>,
    /// The subscription's filter is this one, character for character (`$share/...`
    /// included).
    pub filter: Option<String>,
    /// The most subscriptions on the page (1 to [`MAX_LIMIT`](crate::admin::MAX_LIMIT)).
    pub limit: usize,
    /// Only subscriptions after this cursor (the previous page's `next`).
    pub after: Option<String>,
}

impl Default for SubscriptionQuery {
    /// Every client's subscriptions, the first [`DEFAULT_LIMIT`] of them.
    fn default() -> Self {
        SubscriptionQuery {
            client_id: None,
            filter: None,
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}
