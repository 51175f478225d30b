//! Which retained messages a listing shows.

use crate::admin::page::DEFAULT_LIMIT;
use crate::types::TopicFilter;

/// The filter and page of a retained-message listing ([`BrokerHandle::retained`]).
///
/// [`BrokerHandle::retained`]: crate::BrokerHandle::retained
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetainedQuery {
    /// The messages whose topic matches this filter; `None`: `#`, every topic but those
    /// beginning with `$` (`$SYS/#` asks for the broker's own).
    pub filter: Option<TopicFilter>,
    /// The most messages on the page (1 to [`MAX_LIMIT`](crate::admin::MAX_LIMIT)).
    pub limit: usize,
    /// Only topics after this one (the previous page's `next`).
    pub after: Option<String>,
}

impl Default for RetainedQuery {
    /// Every retained message, the first [`DEFAULT_LIMIT`] of them.
    fn default() -> Self {
        RetainedQuery {
            filter: None,
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}
