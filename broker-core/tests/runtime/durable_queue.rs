//! A store that keeps messages (as the sled store of `skein` does): a persistent session's
//! QoS 1 and 2 copies are in the store before their publisher is answered, acknowledgements
//! keep their order while the store works, and the store forgets a copy once the subscriber
//! has finished with it. A store that cannot take a copy (full) refuses the message: MQTT 5
//! with 0x97, MQTT 3.1.1 by leaving it unacknowledged.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use broker_core::codec::{ConnAck, Packet, Publish, QosPid};
use broker_core::router::RetainedMessage;
use broker_core::session::QueuedMessage;
use broker_core::store::{MemoryStore, SessionStore, StoreError, StoredSession};
use broker_core::types::{ClientId, ProtocolVersion, QoS, ReasonCode, TopicName};
use broker_core::Broker;
use tokio::sync::watch;

use crate::log_capture::LogCapture;
use crate::support;
use crate::support::{connect_packet, pid, topic, Client, V311, V5, WAIT};

/// The in-memory store, saying it keeps messages, whose enqueues wait while its gate is shut
/// and fail as a full disk does while `full` is set.
struct KeepingStore {
    inner: MemoryStore,
    gate: watch::Receiver<bool>,
    full: AtomicBool,
}

impl KeepingStore {
    /// A store with its gate open, and the sender that shuts (false) and opens (true) it.
    fn new() -> (Arc<KeepingStore>, watch::Sender<bool>) {
        let (open, gate) = watch::channel(true);
        let store = Arc::new(KeepingStore {
            inner: MemoryStore::new(),
            gate,
            full: AtomicBool::new(false),
        });
        (store, open)
    }

    fn id(client: &str) -> ClientId {
        ClientId::new(client).unwrap()
    }

    /// Waits (bounded) until the store holds `want` messages for `client`.
    async fn wait_queued(&self, client: &str, want: usize) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let got = self.inner.queued(&Self::id(client)).await.unwrap().len();
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
}

#[async_trait]
impl SessionStore for KeepingStore {
    async fn load(&self, c: &ClientId) -> Result<Option<StoredSession>, StoreError> {
        self.inner.load(c).await
    }
    async fn save(&self, s: &StoredSession) -> Result<(), StoreError> {
        self.inner.save(s).await
    }
    async fn remove(&self, c: &ClientId) -> Result<bool, StoreError> {
        self.inner.remove(c).await
    }
    async fn sessions(&self) -> Result<Vec<ClientId>, StoreError> {
        self.inner.sessions().await
    }
    async fn enqueue(&self, c: &ClientId, m: &QueuedMessage) -> Result<u64, StoreError> {
        let mut gate = self.gate.clone();
        let _ = gate.wait_for(|open| *open).await;
        if self.full.load(Ordering::SeqCst) {
            return Err(StoreError::Full("test: no space left".into()));
        }
        self.inner.enqueue(c, m).await
    }
    async fn queued(&self, c: &ClientId) -> Result<Vec<(u64, QueuedMessage)>, StoreError> {
        self.inner.queued(c).await
    }
    async fn ack_queued(&self, c: &ClientId, up_to: u64) -> Result<(), StoreError> {
        self.inner.ack_queued(c, up_to).await
    }
    async fn forget_queued(&self, c: &ClientId, seq: u64) -> Result<(), StoreError> {
        self.inner.forget_queued(c, seq).await
    }
    fn keeps_messages(&self) -> bool {
        true
    }
    async fn set_retained(&self, m: &RetainedMessage) -> Result<(), StoreError> {
        self.inner.set_retained(m).await
    }
    async fn remove_retained(&self, t: &TopicName) -> Result<bool, StoreError> {
        self.inner.remove_retained(t).await
    }
    async fn retained(&self) -> Result<Vec<RetainedMessage>, StoreError> {
        self.inner.retained().await
    }
}

/// "keeper" with a persistent session: clean session 0 (3.1.1), or clean start 0 and a
/// Session Expiry Interval of 300 s (5.0).
async fn persistent(addr: SocketAddr, version: ProtocolVersion) -> (Client, ConnAck) {
    let mut connect = connect_packet(version, "keeper", false);
    if version == V5 {
        connect.properties.session_expiry_interval = Some(300);
    }
    Client::connect_with(addr, connect).await
}

async fn start_on(store: Arc<KeepingStore>) -> (Broker, SocketAddr) {
    support::start_built(
        Broker::builder()
            .config(support::config())
            .session_store(store),
    )
    .await
}

/// [MQTT-4.6.0-2] (3.1.1: PUBACKs in the order the PUBLISH packets came): while the store
/// holds up the copy of the second message, neither its PUBACK nor any later one goes out,
/// though the later messages need no store; once it lets go, the PUBACKs come in order. The
/// persistent subscriber gets the message only once the store has it.
#[tokio::test]
async fn acknowledgements_wait_for_the_store_and_keep_their_order_mqtt_4_6_0_2() {
    let (store, gate) = KeepingStore::new();
    let (broker, addr) = start_on(Arc::clone(&store)).await;
    let (mut keeper, _) = Client::connect(addr, V311, "keeper", false).await;
    keeper.subscribe(1, "kept/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;

    gate.send(false).unwrap();
    for n in 1..=6u16 {
        // Message 2 goes to the persistent subscriber; the others match nobody.
        let to = if n == 2 { "kept/a" } else { "other/a" };
        let mut publish = Publish::new(topic(to), "x".into());
        publish.qos_pid = QosPid::AtLeastOnce(pid(n));
        publisher.send(Packet::Publish(publish)).await;
    }
    match publisher.recv().await {
        Some(Packet::PubAck(ack)) => assert_eq!(ack.packet_id, pid(1)),
        other => panic!("expected the PUBACK of 1, got {other:?}"),
    }
    publisher.expect_nothing().await;
    keeper.expect_nothing().await;

    gate.send(true).unwrap();
    for n in 2..=6u16 {
        match publisher.recv().await {
            Some(Packet::PubAck(ack)) => assert_eq!(ack.packet_id, pid(n), "PUBACK order"),
            other => panic!("expected the PUBACK of {n}, got {other:?}"),
        }
    }
    let got = keeper.recv_publish().await;
    assert_eq!(got.topic.as_ref().map(|t| t.as_str()), Some("kept/a"));
    keeper.disconnect().await;
    publisher.disconnect().await;
    broker.shutdown().await;
}

/// The copy for a persistent subscriber is in the store when the publisher's PUBACK (QoS 1)
/// or PUBREC (QoS 2) arrives, and the store forgets it once the subscriber has finished the
/// exchange (PUBACK; PUBREC, PUBREL, PUBCOMP) [MQTT-4.3.2-*], [MQTT-4.3.3-*].
#[tokio::test]
async fn the_store_has_the_copy_before_the_answer_and_forgets_it_after_the_subscriber() {
    for (qos, version) in [(QoS::AtLeastOnce, V311), (QoS::ExactlyOnce, V5)] {
        let (store, _gate) = KeepingStore::new();
        let (broker, addr) = start_on(Arc::clone(&store)).await;
        let (mut keeper, _) = persistent(addr, version).await;
        keeper.subscribe(1, "kept/#", qos).await;
        keeper.disconnect().await;
        let (mut publisher, _) = Client::connect(addr, version, "pub", true).await;
        publisher.publish_for_ack("kept/a", qos, 7).await;
        // Answered: the copy is in the store already.
        assert_eq!(
            store
                .inner
                .queued(&KeepingStore::id("keeper"))
                .await
                .unwrap()
                .len(),
            1,
            "{qos:?}: the PUBACK / PUBREC came before the store had the copy"
        );
        let (mut keeper, ack) = persistent(addr, version).await;
        assert!(ack.session_present);
        let got = keeper.recv_publish().await;
        assert_eq!(got.qos_pid.qos(), qos);
        store.wait_queued("keeper", 0).await;
        keeper.disconnect().await;
        publisher.disconnect().await;
        broker.shutdown().await;
    }
}

/// A store that cannot take a persistent session's copy (full) refuses the message: MQTT 5
/// publishers get PUBACK / PUBREC 0x97 Quota exceeded and stay connected. An MQTT 3.1.1
/// publisher gets no PUBACK (it would say the broker owns the message, [MQTT-4.3.2-2]): its
/// connection is closed, with a log line saying why, so it keeps the PUBLISH unacknowledged
/// ([MQTT-4.3.2-1]). With clean session 0 it sends it again with DUP on its next connection
/// ([MQTT-4.4.0-1]); once the store has room, that copy is acknowledged and the subscriber
/// gets it, and nothing that was refused.
#[tokio::test]
async fn a_message_the_full_store_refuses_is_0x97_in_v5_and_unacknowledged_in_v3_mqtt_4_3_2_1() {
    let logs = LogCapture::global();
    let (store, _gate) = KeepingStore::new();
    let (broker, addr) = start_on(Arc::clone(&store)).await;
    let (mut keeper, _) = persistent(addr, V311).await;
    keeper.subscribe(1, "kept/#", QoS::ExactlyOnce).await;
    keeper.disconnect().await;
    store.full.store(true, Ordering::SeqCst);

    let (mut v5, _) = Client::connect(addr, V5, "full-pub5", true).await;
    for (qos, id) in [(QoS::AtLeastOnce, 1), (QoS::ExactlyOnce, 2)] {
        let ack = v5.publish_for_ack("kept/a", qos, id).await;
        assert_eq!(ack.code, ReasonCode::QuotaExceeded, "v5 {qos:?}");
    }
    v5.expect_nothing().await;

    let (mut v3, _) = Client::connect(addr, V311, "full-pub3", false).await;
    let mut publish = Publish::new(topic("kept/v3"), "v3".into());
    publish.qos_pid = QosPid::AtLeastOnce(pid(7));
    v3.send(Packet::Publish(publish.clone())).await;
    // Closed at once, not at the connection's next event (its park check, 2 s later).
    let answered = tokio::time::timeout(Duration::from_secs(1), v3.until_closed())
        .await
        .expect("the connection of the refused v3 publisher is closed at once");
    assert!(answered.is_empty(), "a refused v3 PUBLISH got {answered:?}");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !logs.text().lines().any(|line| {
        line.contains("full-pub3") && line.contains("could not be kept (Quota exceeded)")
    }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no log line says why full-pub3 was disconnected"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    store.full.store(false, Ordering::SeqCst);
    let (mut v3, ack) = Client::connect(addr, V311, "full-pub3", false).await;
    assert!(ack.session_present);
    publish.dup = true;
    v3.send(Packet::Publish(publish)).await;
    match v3.recv().await {
        Some(Packet::PubAck(ack)) => assert_eq!(ack.packet_id, pid(7)),
        other => panic!("expected the PUBACK of the resent message, got {other:?}"),
    }
    let (mut keeper, ack) = persistent(addr, V311).await;
    assert!(ack.session_present);
    let got = keeper.recv_publish().await;
    assert_eq!(got.topic.as_ref().map(|t| t.as_str()), Some("kept/v3"));
    keeper.expect_nothing().await;
    keeper.disconnect().await;
    v3.disconnect().await;
    v5.disconnect().await;
    broker.shutdown().await;
}
