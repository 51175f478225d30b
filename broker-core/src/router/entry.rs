//! What the router stores for one subscription.

use crate::codec::SubscriptionOptions;
use crate::types::SubscriptionId;

/// One subscription of one subscriber to one topic filter, as the router stores it.
///
/// `options.qos` is the **granted** maximum QoS (what the SUBACK returned), not the requested
/// one: the router downgrades each message to it ([MQTT-3.8.4-8], [MQTT-4.8.2-3]). The other
/// options are kept as the client sent them: `no_local` and `retain_as_published` act on every
/// message routed; `retain_handling` matters only when the subscription is made, which is
/// the session's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionEntry {
    /// The subscription options, with the granted QoS.
    pub options: SubscriptionOptions,
    /// The Subscription Identifier of the SUBSCRIBE that made or last replaced the
    /// subscription (MQTT 5.0 §3.8.2.1.2), sent back in every PUBLISH it causes.
    pub id: Option<SubscriptionId>,
}

impl SubscriptionEntry {
    /// An entry with these options and identifier.
    #[must_use]
    pub fn new(options: SubscriptionOptions, id: Option<SubscriptionId>) -> Self {
        SubscriptionEntry { options, id }
    }
}
