//! [`LinkState`]: what the link, its gRPC service and its per-peer tasks share: the
//! membership, this node's own routes and retained changes (with a watch that wakes the streams on each change),
//! the peers (fixed, or changed by discovery) and the copies of their routes, and the
//! shutdown signal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard};

use broker_core::cluster::{RetainedChange, RetainedStamp};
use broker_core::types::TopicName;
use tokio::sync::{watch, Notify};

use crate::cluster_config::ClusterConfig;
use crate::cursor::Cursor;
use crate::incarnation::Incarnation;
use crate::membership::Membership;
use crate::node_name::NodeName;
use crate::own_routes::{CatchUp, OwnRoutes, LOG_CAPACITY};
use crate::peer::{Attempt, Peer};
use crate::peer_routes::PeerRoutes;

/// The largest gRPC message either side takes (a route snapshot of many filters).
pub(crate) const MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// The peers' routes as this node holds them, one copy per peer.
pub(crate) type Copies = Arc<Mutex<HashMap<NodeName, PeerRoutes>>>;

/// An address discovery found that did not name itself yet (unreachable, or refused).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unnamed {
    /// `host:port`.
    pub(crate) address: String,
    /// What asking its name said.
    pub(crate) attempt: Attempt,
}

/// The state shared by the link and its tasks.
#[derive(Debug)]
pub(crate) struct LinkState {
    pub(crate) config: ClusterConfig,
    pub(crate) membership: Membership,
    own: Mutex<OwnRoutes>,
    /// The number of this node's last route change.
    own_changed: watch::Sender<u64>,
    /// The peers, static ones first, then those discovery found, in their order.
    peers: RwLock<Vec<Arc<Peer>>>,
    /// The peers' routes as this node recorded them (written by the gRPC service).
    pub(crate) copies: Copies,
    /// Addresses discovery found that did not say their name yet.
    unnamed: Mutex<Vec<Unnamed>>,
    /// Woken when discovery should resolve again now (a peer failed, a stranger called).
    pub(crate) resolve_now: Notify,
    /// Set once the node stops.
    pub(crate) shutdown: watch::Sender<bool>,
}

impl LinkState {
    /// The state of a node configured by `config`, in run `incarnation`. A static peer whose
    /// address tonic cannot dial is left out, with a log line.
    pub(crate) fn new(config: ClusterConfig, incarnation: Incarnation) -> Self {
        let peers = config
            .peers
            .iter()
            .filter_map(|peer| {
                Peer::new(peer.clone())
                    .map_err(|error| {
                        tracing::error!(%peer, %error, "Invalid peer address; the peer is left out.");
                    })
                    .ok()
                    .map(Arc::new)
            })
            .collect();
        LinkState {
            membership: Membership::new(&config, incarnation),
            own: Mutex::new(OwnRoutes::new(incarnation, LOG_CAPACITY)),
            own_changed: watch::Sender::new(0),
            peers: RwLock::new(peers),
            copies: Copies::default(),
            unnamed: Mutex::new(Vec::new()),
            resolve_now: Notify::new(),
            shutdown: watch::Sender::new(false),
            config,
        }
    }

    fn peer_list(&self) -> RwLockReadGuard<'_, Vec<Arc<Peer>>> {
        self.peers.read().unwrap_or_else(PoisonError::into_inner)
    }

    /// Every peer now.
    pub(crate) fn peers(&self) -> Vec<Arc<Peer>> {
        self.peer_list().clone()
    }

    /// Adds a discovered peer (its name is a member from now on). A copy of its routes left
    /// from before it was dropped is forgotten first: its route stream starts from a
    /// snapshot, so the router gets them all again.
    pub(crate) fn add_peer(&self, peer: Arc<Peer>) {
        self.copies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&peer.config.name);
        self.membership.add_peer(peer.config.name.clone());
        self.peers
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(peer);
    }

    /// Drops the discovered peer `name`: no longer a member, its route stream ends and its
    /// routes' copy is forgotten (a return starts from a snapshot). Returns it, if it was one.
    pub(crate) fn remove_peer(&self, name: &NodeName) -> Option<Arc<Peer>> {
        self.membership.remove_peer(name);
        let removed = {
            let mut peers = self.peers.write().unwrap_or_else(PoisonError::into_inner);
            let index = peers.iter().position(|p| &p.config.name == name)?;
            peers.remove(index)
        };
        removed.removed.send_replace(true);
        self.copies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(name);
        Some(removed)
    }

    /// How many routes `name` has announced to this node.
    pub(crate) fn peer_route_count(&self, name: &NodeName) -> usize {
        self.copies
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .map_or(0, PeerRoutes::len)
    }

    /// The addresses discovery found that did not name themselves.
    pub(crate) fn unnamed(&self) -> Vec<Unnamed> {
        self.unnamed
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Replaces the addresses that did not name themselves.
    pub(crate) fn set_unnamed(&self, unnamed: Vec<Unnamed>) {
        *self.unnamed.lock().unwrap_or_else(PoisonError::into_inner) = unnamed;
    }

    fn own(&self) -> MutexGuard<'_, OwnRoutes> {
        self.own.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// This node has a subscriber for `filter`: returns the change the peers must record.
    pub(crate) fn add_own(&self, filter: &str) -> u64 {
        let mut own = self.own();
        let seq = own.add(filter);
        self.own_changed.send_replace(seq);
        seq
    }

    /// This node changed a retained message: streamed to the peers with the routes.
    pub(crate) fn retained_own(&self, change: &RetainedChange) {
        let mut own = self.own();
        let seq = own.retained(change);
        self.own_changed.send_replace(seq);
    }

    /// A peer's change of `topic` stamped `stamp` was applied here: this node's older change
    /// of it leaves its snapshots.
    pub(crate) fn retained_superseded(&self, topic: &TopicName, stamp: &RetainedStamp) {
        self.own().retained_superseded(topic, stamp);
    }

    /// This node has no subscriber for `filter` any more.
    pub(crate) fn remove_own(&self, filter: &str) {
        let mut own = self.own();
        own.remove(filter);
        self.own_changed.send_replace(own.cursor().seq);
    }

    /// What a peer at `recorded` needs, and the change it brings the peer to.
    pub(crate) fn catch_up(&self, recorded: Option<Cursor>) -> (CatchUp, u64) {
        let own = self.own();
        (own.catch_up(recorded), own.cursor().seq)
    }

    /// Wakes at each change of this node's routes.
    pub(crate) fn watch_own(&self) -> watch::Receiver<u64> {
        self.own_changed.subscribe()
    }

    /// The peer called `name`.
    pub(crate) fn peer(&self, name: &str) -> Option<Arc<Peer>> {
        self.peer_list()
            .iter()
            .find(|p| p.config.name.as_str() == name)
            .cloned()
    }

    /// This node's routes, and its last change.
    pub(crate) fn own_routes(&self) -> (usize, u64) {
        let own = self.own();
        (own.len(), own.cursor().seq)
    }

    /// Whether the node is stopping.
    pub(crate) fn is_shut_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}
