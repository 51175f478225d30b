//! The cluster link as the runtime holds it, only when the node has peers: the link, how
//! many local subscriptions each filter has (so that the link hears of a filter's first and
//! last local subscriber only), and one outbox per peer.
//!
//! The outboxes are mailboxes: the router holds a peer's routes under its outbox's key, and
//! a publish pushes one copy per interested node into it, as into a client's mailbox.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::cluster::{ClusterLink, PeerName, RouteAck};
use crate::codec::SubscriptionOptions;
use crate::router::SubscriptionEntry;
use crate::runtime::queue::mailbox::{Mailbox, SubscriberKey};
use crate::session::QueueLimits;
use crate::types::{QoS, TopicFilter};

/// A node's link to its peers.
pub(crate) struct NodeLink {
    link: Arc<dyn ClusterLink>,
    /// Local subscriptions per filter; a filter leaves the map with its last one.
    routes: Mutex<HashMap<TopicFilter, usize>>,
    /// One outbox per peer, in the link's order.
    outboxes: Vec<(PeerName, SubscriberKey)>,
}

impl NodeLink {
    /// The runtime's side of `link`, with outboxes bounded by `limits`; `None` when the link
    /// has no peers (then nothing of the cluster costs anything).
    pub(crate) fn new(link: Arc<dyn ClusterLink>, limits: QueueLimits) -> Option<NodeLink> {
        let peers = link.peers();
        if peers.is_empty() {
            return None;
        }
        let outboxes = peers
            .into_iter()
            .map(|peer| (peer, SubscriberKey(Mailbox::new(limits))))
            .collect();
        Some(NodeLink {
            link,
            routes: Mutex::new(HashMap::new()),
            outboxes,
        })
    }

    fn routes(&self) -> MutexGuard<'_, HashMap<TopicFilter, usize>> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The link.
    pub(crate) fn link(&self) -> &Arc<dyn ClusterLink> {
        &self.link
    }

    /// A local subscription to `filter` was added (not replaced): its first one is announced
    /// to the peers, and the announcement's completion returned.
    pub(crate) fn subscribed(&self, filter: &TopicFilter) -> RouteAck {
        let first = {
            let mut routes = self.routes();
            let count = routes.entry(filter.clone()).or_insert(0);
            *count += 1;
            *count == 1
        };
        if first {
            self.link.add_route(filter)
        } else {
            RouteAck::ready()
        }
    }

    /// A local subscription to `filter` was removed: the peers hear of its last one.
    pub(crate) fn unsubscribed(&self, filter: &TopicFilter) {
        let last = {
            let mut routes = self.routes();
            match routes.get_mut(filter) {
                Some(count) if *count > 1 => {
                    *count -= 1;
                    false
                }
                Some(_) => {
                    routes.remove(filter);
                    true
                }
                None => false,
            }
        };
        if last {
            self.link.remove_route(filter);
        }
    }

    /// Every peer with its outbox.
    pub(crate) fn outboxes(&self) -> &[(PeerName, SubscriberKey)] {
        &self.outboxes
    }

    /// `peer`'s outbox, if it is a peer.
    pub(crate) fn outbox(&self, peer: &PeerName) -> Option<&SubscriberKey> {
        self.outboxes
            .iter()
            .find_map(|(name, key)| (name == peer).then_some(key))
    }

    /// Whether `key` is a peer's outbox, not a local subscriber.
    pub(crate) fn is_outbox(&self, key: &SubscriberKey) -> bool {
        self.outboxes.iter().any(|(_, outbox)| outbox == key)
    }

    /// The subscription a peer's route stands for: every QoS, the RETAIN flag as published;
    /// the peer applies its own subscribers' options.
    pub(crate) fn peer_entry() -> SubscriptionEntry {
        let mut options = SubscriptionOptions::qos(QoS::ExactlyOnce);
        options.retain_as_published = true;
        SubscriptionEntry::new(options, None)
    }
}

impl std::fmt::Debug for NodeLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeLink")
            .field("node", &self.link.node_name())
            .field("peers", &self.outboxes.len())
            .finish_non_exhaustive()
    }
}
