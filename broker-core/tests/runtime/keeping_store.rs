//! A store that keeps messages, as the disk store of `skein` does, for the tests of the
//! durable queue: the in-memory store saying `keeps_messages`, whose enqueues wait while its
//! gate is shut, fail as a full disk does while it is full, and whose writes stop while it is
//! crashed (what a broker writes then never reaches it, as if the process had been killed).
//! It can also crash by itself at a chosen write, the removal of a client's session, so that
//! a test sees what the broker's writes before it, and only those, leave behind.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use broker_core::codec::ConnAck;
use broker_core::router::RetainedMessage;
use broker_core::session::QueuedMessage;
use broker_core::store::{MemoryStore, SessionStore, StoreError, StoredSession};
use broker_core::types::{ClientId, ProtocolVersion, TopicName};
use broker_core::Broker;
use tokio::sync::watch;

use crate::support;
use crate::support::{connect_packet, Client, V5, WAIT};

/// The in-memory store, saying it keeps messages.
pub(crate) struct KeepingStore {
    inner: MemoryStore,
    gate: watch::Receiver<bool>,
    full: AtomicBool,
    crashed: AtomicBool,
    /// The client whose session's removal crashes the store.
    tripwire: Mutex<Option<ClientId>>,
}

impl KeepingStore {
    /// A store with its gate open, and the sender that shuts (false) and opens (true) it.
    pub(crate) fn new() -> (Arc<KeepingStore>, watch::Sender<bool>) {
        let (open, gate) = watch::channel(true);
        let store = Arc::new(KeepingStore {
            inner: MemoryStore::new(),
            gate,
            full: AtomicBool::new(false),
            crashed: AtomicBool::new(false),
            tripwire: Mutex::new(None),
        });
        (store, open)
    }

    pub(crate) fn id(client: &str) -> ClientId {
        ClientId::new(client).unwrap()
    }

    /// Enqueues fail as on a full disk while `full` is set.
    pub(crate) fn set_full(&self, full: bool) {
        self.full.store(full, Ordering::SeqCst);
    }

    /// The messages the store holds for `client`, oldest first, with their numbers.
    pub(crate) async fn queued(&self, client: &str) -> Vec<(u64, QueuedMessage)> {
        self.inner.queued(&Self::id(client)).await.unwrap()
    }

    /// Waits (bounded) until the store holds `want` messages for `client`.
    pub(crate) async fn wait_queued(&self, client: &str, want: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = self.queued(client).await.len();
            if got == want {
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the store holds {got} messages for {client}, not {want}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// The store as a broker killed now leaves it: `broker` is stopped, and nothing it writes
    /// meanwhile (its sessions going offline) reaches the store; then a broker starts on it.
    pub(crate) async fn crash_and_restart(
        self: &Arc<Self>,
        broker: Broker,
    ) -> (Broker, SocketAddr) {
        self.crashed.store(true, Ordering::SeqCst);
        broker.shutdown().await;
        self.crashed.store(false, Ordering::SeqCst);
        start_on(Arc::clone(self)).await
    }

    /// The store crashes as it is about to remove the session of `client`: that removal and
    /// every later write never happen, as if the broker had been killed between its last
    /// write and this one. [`KeepingStore::crash_and_restart`] then starts a broker on what
    /// the store holds.
    /// Forgets the copies `seqs` of `client` behind the broker's back, as a store that lost
    /// them would.
    pub(crate) async fn lose(&self, client: &str, seqs: &[u64]) {
        for seq in seqs {
            self.inner
                .forget_queued(&Self::id(client), *seq)
                .await
                .unwrap();
        }
    }

    pub(crate) fn crash_at_removal_of(&self, client: &str) {
        *self.tripwire.lock().unwrap() = Some(Self::id(client));
    }

    /// Waits (bounded) until the store has crashed at its tripwire.
    pub(crate) async fn wait_crashed(&self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        while !self.crashed.load(Ordering::SeqCst) {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the store did not get to its tripwire"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Crashes the store if `client` is its tripwire.
    fn trip(&self, client: &ClientId) {
        let mut tripwire = self.tripwire.lock().unwrap();
        if tripwire.as_ref() == Some(client) {
            *tripwire = None;
            self.crashed.store(true, Ordering::SeqCst);
        }
    }

    /// Fails a write made while the store is crashed: it never happens.
    fn writable(&self) -> Result<(), StoreError> {
        if self.crashed.load(Ordering::SeqCst) {
            return Err(StoreError::Unavailable(
                "test: the broker was killed".into(),
            ));
        }
        Ok(())
    }
}

#[async_trait]
impl SessionStore for KeepingStore {
    async fn load(&self, c: &ClientId) -> Result<Option<StoredSession>, StoreError> {
        self.inner.load(c).await
    }
    async fn save(&self, s: &StoredSession) -> Result<(), StoreError> {
        self.writable()?;
        self.inner.save(s).await
    }
    async fn remove(&self, c: &ClientId) -> Result<bool, StoreError> {
        self.trip(c);
        self.writable()?;
        self.inner.remove(c).await
    }
    async fn sessions(&self) -> Result<Vec<ClientId>, StoreError> {
        self.inner.sessions().await
    }
    async fn enqueue(&self, c: &ClientId, m: &QueuedMessage) -> Result<u64, StoreError> {
        let mut gate = self.gate.clone();
        let _ = gate.wait_for(|open| *open).await;
        self.writable()?;
        if self.full.load(Ordering::SeqCst) {
            return Err(StoreError::Full("test: no space left".into()));
        }
        self.inner.enqueue(c, m).await
    }
    async fn queued(&self, c: &ClientId) -> Result<Vec<(u64, QueuedMessage)>, StoreError> {
        self.inner.queued(c).await
    }
    async fn ack_queued(&self, c: &ClientId, up_to: u64) -> Result<(), StoreError> {
        self.writable()?;
        self.inner.ack_queued(c, up_to).await
    }
    async fn forget_queued(&self, c: &ClientId, seq: u64) -> Result<(), StoreError> {
        self.writable()?;
        self.inner.forget_queued(c, seq).await
    }
    fn keeps_messages(&self) -> bool {
        true
    }
    async fn set_retained(&self, m: &RetainedMessage) -> Result<(), StoreError> {
        self.writable()?;
        self.inner.set_retained(m).await
    }
    async fn remove_retained(&self, t: &TopicName) -> Result<bool, StoreError> {
        self.writable()?;
        self.inner.remove_retained(t).await
    }
    async fn retained(&self) -> Result<Vec<RetainedMessage>, StoreError> {
        self.inner.retained().await
    }
}

/// A broker with the test configuration on `store`, and its listener's address.
pub(crate) async fn start_on(store: Arc<KeepingStore>) -> (Broker, SocketAddr) {
    support::start_built(
        Broker::builder()
            .config(support::config())
            .session_store(store),
    )
    .await
}

/// `client` with a persistent session: clean session 0 (3.1.1), or clean start 0 and a
/// Session Expiry Interval of 300 s (5.0).
pub(crate) async fn persistent(
    addr: SocketAddr,
    version: ProtocolVersion,
    client: &str,
) -> (Client, ConnAck) {
    let mut connect = connect_packet(version, client, false);
    if version == V5 {
        connect.properties.session_expiry_interval = Some(300);
    }
    Client::connect_with(addr, connect).await
}
