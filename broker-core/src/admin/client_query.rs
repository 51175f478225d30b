//! Which clients a listing shows.

use crate::admin::page::DEFAULT_LIMIT;

/// The filter and page of a client listing ([`BrokerHandle::clients`]). Every condition set
/// must hold.
///
/// [`BrokerHandle::clients`]: crate::BrokerHandle::clients
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ClientQuery {
    /// The client identifier starts with this.
    pub prefix: Option<String>,
    /// The client identifier contains this.
    pub contains: Option<String>,
    /// Connected now (`true`) or a persistent session waiting offline (`false`).
    pub connected: Option<bool>,
    /// The CONNECT User Name is this.
    pub username: Option<String>,
    /// The most clients on the page (1 to [`MAX_LIMIT`](crate::admin::MAX_LIMIT)).
    pub limit: usize,
    /// Only client identifiers after this one (the previous page's `next`).
    pub after: Option<String>,
}

impl Default for ClientQuery {
    /// Every client, the first [`DEFAULT_LIMIT`] of them.
    fn default() -> Self {
        ClientQuery {
            prefix: None,
            contains: None,
            connected: None,
            username: None,
            limit: DEFAULT_LIMIT,
            after: None,
        }
    }
}

impl ClientQuery {
    /// Whether a client with this identifier, connection state and user name is asked for.
    pub(crate) fn admits(&self, client_id: &str, connected: bool, username: Option<&str>) -> bool {
        self.after.as_deref().is_none_or(|after| client_id > after)
            && self
                .prefix
                .as_deref()
                .is_none_or(|prefix| client_id.starts_with(prefix))
            && self
                .contains
                .as_deref()
                .is_none_or(|part| client_id.contains(part))
            && self.connected.is_none_or(|wanted| wanted == connected)
            && self
                .username
                .as_deref()
                .is_none_or(|wanted| username == Some(wanted))
    }
}
