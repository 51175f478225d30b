//! The request and decision of the `rewrite_publish_topic` hook.

use std::sync::Arc;

use super::ClientInfo;
use crate::types::TopicName;

/// The topic of a PUBLISH, before routing and before authorization. Each hook in the chain
/// sees the topic as the hooks before it left it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewritePublishRequest {
    /// The publishing connection.
    pub client: Arc<ClientInfo>,
    /// The topic so far.
    pub topic: TopicName,
}

/// What one hook does to a publish topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicRewrite {
    /// Leave it as it is.
    Keep,
    /// Use this topic instead.
    Replace(TopicName),
}
