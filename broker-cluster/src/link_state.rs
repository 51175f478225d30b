//! [`LinkState`]: what the link, its gRPC service and its per-peer tasks share: the
//! membership, this node's own routes (with a watch that wakes the streams on each change),
//! each peer's status and client, and the shutdown signal.

use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};

use tokio::sync::watch;
use tonic::transport::Channel;

use crate::cluster_config::ClusterConfig;
use crate::cursor::Cursor;
use crate::incarnation::Incarnation;
use crate::membership::Membership;
use crate::own_routes::{CatchUp, OwnRoutes, LOG_CAPACITY};
use crate::peer_config::PeerConfig;
use crate::peer_status::PeerStatus;
use crate::proto::cluster_client::ClusterClient;

/// The largest gRPC message either side takes (a route snapshot of many filters).
pub(crate) const MAX_MESSAGE_SIZE: usize = 64 * 1024 * 1024;

/// One peer as the link holds it.
#[derive(Debug)]
pub(crate) struct Peer {
    /// Its name and address.
    pub(crate) config: PeerConfig,
    /// How far it has recorded this node's routes.
    pub(crate) status: watch::Sender<PeerStatus>,
    /// Its gRPC client, once the link started.
    pub(crate) client: OnceLock<ClusterClient<Channel>>,
}

/// The state shared by the link and its tasks.
#[derive(Debug)]
pub(crate) struct LinkState {
    pub(crate) config: ClusterConfig,
    pub(crate) membership: Membership,
    own: Mutex<OwnRoutes>,
    /// The number of this node's last route change.
    own_changed: watch::Sender<u64>,
    pub(crate) peers: Vec<Peer>,
    /// Set once the node stops.
    pub(crate) shutdown: watch::Sender<bool>,
}

impl LinkState {
    /// The state of a node configured by `config`, in run `incarnation`.
    pub(crate) fn new(config: ClusterConfig, incarnation: Incarnation) -> Self {
        let peers = config
            .peers
            .iter()
            .map(|peer| Peer {
                config: peer.clone(),
                status: watch::Sender::new(PeerStatus::DOWN),
                client: OnceLock::new(),
            })
            .collect();
        LinkState {
            membership: Membership::new(&config, incarnation),
            own: Mutex::new(OwnRoutes::new(incarnation, LOG_CAPACITY)),
            own_changed: watch::Sender::new(0),
            peers,
            shutdown: watch::Sender::new(false),
            config,
        }
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
    pub(crate) fn peer(&self, name: &str) -> Option<&Peer> {
        self.peers.iter().find(|p| p.config.name.as_str() == name)
    }

    /// Whether the node is stopping.
    pub(crate) fn is_shut_down(&self) -> bool {
        *self.shutdown.borrow()
    }
}
