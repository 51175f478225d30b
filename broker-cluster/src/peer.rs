//! [`Peer`]: one peer as the link holds it: its name and address, its gRPC client, how far
//! it has recorded this node's routes, what the last connection attempt said, and the
//! signal that stops its route stream when discovery drops it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use tokio::sync::watch;
use tonic::transport::{Channel, Endpoint};

use crate::forward_stream::{ForwardStream, StreamBroken};
use crate::incarnation::Incarnation;
use crate::link_state::MAX_MESSAGE_SIZE;
use crate::peer_config::PeerConfig;
use crate::peer_status::PeerStatus;
use crate::proto::cluster_client::ClusterClient;

/// How long a connection attempt to a peer takes at most.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// HTTP/2 pings on idle connections: a peer that stops answering is noticed within about
/// interval + timeout.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(5);
const KEEPALIVE_TIMEOUT: Duration = Duration::from_secs(5);

/// What the last attempt to reach a peer said, while its route stream is down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Attempt {
    /// No attempt has ended yet.
    Pending,
    /// The peer answered but refused this node (another cluster, another name), or someone
    /// else answered at its address.
    Refused(String),
    /// The peer could not be reached, or the stream broke.
    Failed(String),
}

/// One peer as the link holds it.
#[derive(Debug)]
pub(crate) struct Peer {
    /// Its name and address.
    pub(crate) config: PeerConfig,
    /// How far it has recorded this node's routes.
    pub(crate) status: watch::Sender<PeerStatus>,
    /// Where its gRPC endpoint is.
    endpoint: Endpoint,
    /// Its gRPC client, made at first use (within the runtime; it connects lazily).
    client: OnceLock<ClusterClient<Channel>>,
    /// Its run, as its last hello said (0: not heard yet).
    incarnation: AtomicU64,
    /// The last attempt's outcome.
    attempt: Mutex<Attempt>,
    /// Set when discovery drops the peer: its route stream ends.
    pub(crate) removed: watch::Sender<bool>,
    /// The stream forwarded messages go out on, once opened.
    forward: Mutex<Option<Arc<ForwardStream>>>,
}

impl Peer {
    /// The peer `config` names, with a client for its address.
    ///
    /// # Errors
    ///
    /// The address is not a URI tonic can dial.
    pub(crate) fn new(config: PeerConfig) -> Result<Peer, tonic::transport::Error> {
        let endpoint = Endpoint::from_shared(config.uri())?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
            .keep_alive_timeout(KEEPALIVE_TIMEOUT)
            .keep_alive_while_idle(true);
        Ok(Peer {
            config,
            status: watch::Sender::new(PeerStatus::DOWN),
            endpoint,
            client: OnceLock::new(),
            incarnation: AtomicU64::new(0),
            attempt: Mutex::new(Attempt::Pending),
            removed: watch::Sender::new(false),
            forward: Mutex::new(None),
        })
    }

    /// Its gRPC client. Call it within the Tokio runtime.
    pub(crate) fn client(&self) -> ClusterClient<Channel> {
        self.client
            .get_or_init(|| {
                ClusterClient::new(self.endpoint.connect_lazy())
                    .max_decoding_message_size(MAX_MESSAGE_SIZE)
            })
            .clone()
    }

    /// The open stream for forwarded messages, opened now if there is none or it broke (one
    /// task per peer forwards, so two never open one at once).
    pub(crate) async fn forward_stream(&self) -> Result<Arc<ForwardStream>, StreamBroken> {
        let open = self
            .forward
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .filter(|stream| stream.is_open())
            .cloned();
        if let Some(stream) = open {
            return Ok(stream);
        }
        let stream =
            Arc::new(ForwardStream::open(self.client(), self.config.name.to_string()).await?);
        *self.forward.lock().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&stream));
        Ok(stream)
    }

    /// Its run, once it said hello.
    pub(crate) fn incarnation(&self) -> Option<Incarnation> {
        match self.incarnation.load(Ordering::Relaxed) {
            0 => None,
            run => Some(Incarnation::from_wire(run)),
        }
    }

    /// It said hello from run `incarnation`.
    pub(crate) fn set_incarnation(&self, incarnation: u64) {
        self.incarnation.store(incarnation, Ordering::Relaxed);
    }

    fn attempt_lock(&self) -> MutexGuard<'_, Attempt> {
        self.attempt.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the last attempt said.
    pub(crate) fn attempt(&self) -> Attempt {
        self.attempt_lock().clone()
    }

    /// Records what the last attempt said.
    pub(crate) fn set_attempt(&self, attempt: Attempt) {
        *self.attempt_lock() = attempt;
    }

    /// Whether discovery dropped it.
    pub(crate) fn is_removed(&self) -> bool {
        *self.removed.borrow()
    }
}
