//! The request and decision of the `rewrite_subscribe_filter` hook.

use std::sync::Arc;

use super::ClientInfo;
use crate::types::TopicFilter;

/// One filter of a SUBSCRIBE (or UNSUBSCRIBE, so the client can remove what it added),
/// before authorization. Each hook in the chain sees the filter as the hooks before it left
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RewriteSubscribeRequest {
    /// The subscribing connection.
    pub client: Arc<ClientInfo>,
    /// The filter so far.
    pub filter: TopicFilter,
}

/// What one hook does to a subscription filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FilterRewrite {
    /// Leave it as it is.
    Keep,
    /// Use this filter instead.
    Replace(TopicFilter),
}
