//! The cluster link as the runtime holds it, only when the node has peers: the link, how
//! many local subscriptions each filter has (so that the link hears of a filter's first and
//! last local subscriber only), and one outbox per peer.
//!
//! The outboxes are mailboxes: the router holds a peer's routes under its outbox's key, and
//! a publish pushes one copy per interested node into it, as into a client's mailbox. A link
//! with [`dynamic_peers`](ClusterLink::dynamic_peers) adds and removes outboxes during the
//! run ([`NodeLink::add_peer`], [`NodeLink::remove_peer`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use tokio::sync::watch;

use crate::cluster::{ClusterLink, PeerName, RouteAck};
use crate::codec::SubscriptionOptions;
use crate::router::SubscriptionEntry;
use crate::runtime::queue::mailbox::{Mailbox, SubscriberKey};
use crate::session::QueueLimits;
use crate::types::{QoS, TopicFilter};

/// One peer's outbox, and the signal that stops the task draining it.
struct Outbox {
    peer: PeerName,
    key: SubscriberKey,
    removed: watch::Sender<bool>,
}

/// A new outbox, for the task that drains it: the peer, its mailbox, and a watch that turns
/// `true` when the peer is removed.
pub(crate) struct NewOutbox {
    pub(crate) peer: PeerName,
    pub(crate) mailbox: Arc<Mailbox>,
    pub(crate) removed: watch::Receiver<bool>,
}

/// A node's link to its peers.
pub(crate) struct NodeLink {
    link: Arc<dyn ClusterLink>,
    /// Local subscriptions per filter; a filter leaves the map with its last one.
    routes: Mutex<HashMap<TopicFilter, usize>>,
    /// One outbox per peer, in the order the peers came.
    outboxes: RwLock<Vec<Outbox>>,
    /// The bounds of a new outbox.
    limits: QueueLimits,
}

impl NodeLink {
    /// The runtime's side of `link`, with outboxes bounded by `limits`; `None` when the link
    /// has no peers and none can join (then nothing of the cluster costs anything). An
    /// outbox queues QoS 0 messages too while its peer is unreachable (offline): they are the
    /// peer's subscribers' to lose, not the outbox's.
    pub(crate) fn new(link: Arc<dyn ClusterLink>, mut limits: QueueLimits) -> Option<NodeLink> {
        limits.queue_qos0 = true;
        let peers = link.peers();
        if peers.is_empty() && !link.dynamic_peers() {
            return None;
        }
        let node = NodeLink {
            link,
            routes: Mutex::new(HashMap::new()),
            outboxes: RwLock::new(Vec::new()),
            limits,
        };
        for peer in peers {
            // The receiver is taken again by `started_outboxes`.
            drop(node.add_peer(peer));
        }
        Some(node)
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

    /// Local subscriptions to `filters` were added: [`subscribed`](Self::subscribed) for each,
    /// and the announcements still to complete (the ready ones are dropped).
    pub(crate) fn subscribed_all<'a>(
        &self,
        filters: impl IntoIterator<Item = &'a TopicFilter>,
    ) -> Vec<RouteAck> {
        filters
            .into_iter()
            .map(|filter| self.subscribed(filter))
            .filter(|ack| !ack.is_ready())
            .collect()
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

    fn outboxes(&self) -> RwLockReadGuard<'_, Vec<Outbox>> {
        self.outboxes.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every peer's outbox, for the tasks started with the broker.
    pub(crate) fn started_outboxes(&self) -> Vec<NewOutbox> {
        self.outboxes()
            .iter()
            .map(|outbox| NewOutbox {
                peer: outbox.peer.clone(),
                mailbox: Arc::clone(outbox.key.mailbox()),
                removed: outbox.removed.subscribe(),
            })
            .collect()
    }

    /// Gives `peer` an outbox, returned for its task; `None` if it has one already.
    pub(crate) fn add_peer(&self, peer: PeerName) -> Option<NewOutbox> {
        let mut outboxes = self
            .outboxes
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        if outboxes.iter().any(|outbox| outbox.peer == peer) {
            return None;
        }
        let mailbox = Mailbox::new(self.limits);
        let (removed, watch) = watch::channel(false);
        outboxes.push(Outbox {
            peer: peer.clone(),
            key: SubscriberKey(Arc::clone(&mailbox)),
            removed,
        });
        Some(NewOutbox {
            peer,
            mailbox,
            removed: watch,
        })
    }

    /// Takes `peer`'s outbox away and tells its task to stop (take its routes out of the
    /// router first); returns the outbox's key, or `None` if `peer` has none.
    pub(crate) fn remove_peer(&self, peer: &PeerName) -> Option<SubscriberKey> {
        let mut outboxes = self
            .outboxes
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let index = outboxes.iter().position(|outbox| &outbox.peer == peer)?;
        let outbox = outboxes.remove(index);
        outbox.removed.send_replace(true);
        Some(outbox.key)
    }

    /// `peer`'s outbox, if it is a peer.
    pub(crate) fn outbox(&self, peer: &PeerName) -> Option<SubscriberKey> {
        self.outboxes()
            .iter()
            .find_map(|outbox| (&outbox.peer == peer).then(|| outbox.key.clone()))
    }

    /// Whether `key` is a peer's outbox, not a local subscriber.
    pub(crate) fn is_outbox(&self, key: &SubscriberKey) -> bool {
        self.outboxes().iter().any(|outbox| &outbox.key == key)
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
            .field("peers", &self.outboxes().len())
            .finish_non_exhaustive()
    }
}
