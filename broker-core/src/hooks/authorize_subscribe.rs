//! The request of the `authorize_subscribe` hook.

use std::sync::Arc;

use super::ClientInfo;
use crate::types::{QoS, TopicFilter};

/// May this client subscribe to this filter? Asked once per filter of a SUBSCRIBE, after
/// filter rewriting, unless a cached decision answers first. A refused filter gets its
/// refusal code (0x87 Not authorized by default) in SUBACK; the others are granted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeSubscribeRequest {
    /// The subscribing connection.
    pub client: Arc<ClientInfo>,
    /// The filter, after rewriting (with its `$share/{ShareName}/` prefix, if any).
    pub filter: TopicFilter,
    /// The maximum QoS the client asked for.
    pub qos: QoS,
}
