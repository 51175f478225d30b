//! The request of the `authorize_publish` hook.

use std::sync::Arc;

use super::ClientInfo;
use crate::types::{QoS, TopicName};

/// May this client publish this message? Asked for every PUBLISH (and will message) after
/// topic rewriting, unless a cached decision answers first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizePublishRequest {
    /// The publishing connection.
    pub client: Arc<ClientInfo>,
    /// The topic, after rewriting.
    pub topic: TopicName,
    /// The message's QoS.
    pub qos: QoS,
    /// The message's RETAIN flag.
    pub retain: bool,
}
