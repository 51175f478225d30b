//! [`Forwarded`]: a message published on this node, on its way to a peer.

use crate::session::Message;
use crate::types::TopicFilter;

/// A message published on this node, on its way to a peer whose routes match it
/// ([`ClusterLink::forward`](super::ClusterLink::forward)): with the QoS and RETAIN flag of
/// the peer's copy, and, for a copy chosen for a shared subscription, the group's filter.
///
/// The receiving node delivers a copy with no group to its subscribers that are not in a
/// shared subscription, and a copy for a group to one member of that group among its own
/// (MQTT 5.0 §4.8.2): the publishing node picks one member of each group cluster-wide, a
/// peer standing for its members, so a group spanning nodes gets each message once.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Forwarded {
    /// The message.
    pub message: Message,
    /// The shared subscription (`$share/{ShareName}/{filter}`) the peer was chosen for, or
    /// `None` for its other subscriptions.
    pub shared_group: Option<TopicFilter>,
}

impl Forwarded {
    /// `message` for the peer's subscriptions outside shared groups.
    #[must_use]
    pub fn new(message: Message) -> Self {
        Forwarded {
            message,
            shared_group: None,
        }
    }

    /// `message` for one member of the shared subscription `group` on the peer.
    #[must_use]
    pub fn for_group(message: Message, group: TopicFilter) -> Self {
        Forwarded {
            message,
            shared_group: Some(group),
        }
    }
}
