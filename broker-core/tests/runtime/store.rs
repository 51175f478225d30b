//! The runtime and the session store: persistent sessions and retained messages survive a
//! broker restart on the same store; a clean start removes the stored session; a store that
//! fails refuses the CONNECT that needs it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use broker_core::codec::Packet;
use broker_core::router::RetainedMessage;
use broker_core::session::QueuedMessage;
use broker_core::store::{MemoryStore, SessionStore, StoreError, StoredSession};
use broker_core::types::{ClientId, QoS, ReasonCode, TopicName};
use broker_core::Broker;

use crate::support;
use crate::support::{connect_packet, Client, V311, V5, WAIT};

/// A broker with the test configuration on `store`.
async fn start_on(store: Arc<dyn SessionStore>) -> (Broker, SocketAddr) {
    support::init_logging();
    let broker = tokio::time::timeout(
        WAIT,
        Broker::builder()
            .config(support::config())
            .session_store(store)
            .start(),
    )
    .await
    .expect("start timed out")
    .expect("broker starts");
    let addr = broker.local_addrs()[0].1;
    (broker, addr)
}

fn id(s: &str) -> ClientId {
    ClientId::new(s).unwrap()
}

/// Waits (bounded) until the store's record of `client` is present or absent as `want`.
async fn wait_stored(store: &MemoryStore, client: &str, want: bool) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let present = store.load(&id(client)).await.unwrap().is_some();
        if present == want {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "stored session of {client} never became present={want}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Connects `client` with clean session 0, subscribes to `filter` at QoS 1 and disconnects.
async fn leave_persistent_session(addr: SocketAddr, client: &str, filter: &str) {
    let (mut c, ack) = Client::connect(addr, V311, client, false).await;
    assert!(!ack.session_present);
    c.subscribe(1, filter, QoS::AtLeastOnce).await;
    c.disconnect().await;
}

// [MQTT-3.1.2-4], [MQTT-3.2.2-2]: a session resumed with clean session 0 is the one the
// server kept, here across a restart on the same store; its subscriptions work at once.
#[tokio::test]
async fn persistent_session_saved_by_one_broker_is_resumed_by_the_next_mqtt_3_2_2_2() {
    let store = Arc::new(MemoryStore::new());
    let (first, addr) = start_on(store.clone()).await;
    leave_persistent_session(addr, "keeper", "keep/#").await;
    first.shutdown().await;
    let record = store.load(&id("keeper")).await.unwrap().expect("saved");
    assert_eq!(record.subscriptions.len(), 1);
    assert_eq!(record.subscriptions[0].0.as_str(), "keep/#");

    let (second, addr) = start_on(store.clone()).await;
    let (mut keeper, ack) = Client::connect(addr, V311, "keeper", false).await;
    assert!(ack.session_present, "the stored session is resumed");
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("keep/a", "after restart", QoS::AtLeastOnce, false, 1)
        .await;
    let got = keeper.recv_publish().await;
    assert_eq!(&got.payload[..], b"after restart");
    keeper.disconnect().await;
    publisher.disconnect().await;
    second.shutdown().await;
}

// [MQTT-3.1.2-5]: the session loaded at start is offline: messages published before the
// client comes back are queued for it.
#[tokio::test]
async fn stored_session_queues_messages_before_its_client_returns_mqtt_3_1_2_5() {
    let store = Arc::new(MemoryStore::new());
    let (first, addr) = start_on(store.clone()).await;
    leave_persistent_session(addr, "late", "late/#").await;
    first.shutdown().await;

    let (second, addr) = start_on(store.clone()).await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("late/a", "waited", QoS::AtLeastOnce, false, 1)
        .await;
    let (mut late, ack) = Client::connect(addr, V311, "late", false).await;
    assert!(ack.session_present);
    let got = late.recv_publish().await;
    assert_eq!(&got.payload[..], b"waited");
    late.disconnect().await;
    publisher.disconnect().await;
    second.shutdown().await;
}

// [MQTT-3.2.2-2]: a session the running broker does not know but the store holds (written
// by another node, say) is loaded when its client connects with clean start 0.
#[tokio::test]
async fn session_written_to_the_store_later_is_loaded_on_connect_mqtt_3_2_2_2() {
    let store = Arc::new(MemoryStore::new());
    let (donor, addr) = start_on(store.clone()).await;
    leave_persistent_session(addr, "roamer", "roam/#").await;
    donor.shutdown().await;
    let record = store.load(&id("roamer")).await.unwrap().expect("saved");

    let other = Arc::new(MemoryStore::new());
    let (broker, addr) = start_on(other.clone()).await;
    other.save(&record).await.unwrap();
    let (mut roamer, ack) = Client::connect(addr, V311, "roamer", false).await;
    assert!(ack.session_present, "loaded from the store");
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("roam/x", "found", QoS::AtLeastOnce, false, 1)
        .await;
    assert_eq!(&roamer.recv_publish().await.payload[..], b"found");
    roamer.disconnect().await;
    publisher.disconnect().await;
    broker.shutdown().await;
}

// [MQTT-3.3.1-5], [MQTT-3.3.1-6], [MQTT-3.3.1-10]: retained messages set and deleted on one
// broker are what the next one on the same store delivers.
#[tokio::test]
async fn retained_messages_survive_a_restart_on_the_same_store_mqtt_3_3_1_5() {
    let store = Arc::new(MemoryStore::new());
    let (first, addr) = start_on(store.clone()).await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("r/kept", "kept", QoS::AtLeastOnce, true, 1)
        .await;
    publisher
        .publish("r/gone", "gone", QoS::AtLeastOnce, true, 2)
        .await;
    // [MQTT-3.3.1-6]: an empty retained payload deletes the topic's retained message.
    publisher
        .publish("r/gone", "", QoS::AtLeastOnce, true, 3)
        .await;
    // QoS 0: not acknowledged, still stored in order.
    publisher
        .publish("r/zero", "zero", QoS::AtMostOnce, true, 0)
        .await;
    publisher.disconnect().await;
    first.shutdown().await;
    let mut topics: Vec<String> = store
        .retained()
        .await
        .unwrap()
        .iter()
        .map(|m| m.topic.as_str().to_owned())
        .collect();
    topics.sort();
    assert_eq!(topics, ["r/kept", "r/zero"]);

    let (second, addr) = start_on(store.clone()).await;
    let (mut reader, _) = Client::connect(addr, V311, "reader", true).await;
    reader.subscribe(1, "r/#", QoS::AtLeastOnce).await;
    let mut got = Vec::new();
    for _ in 0..2 {
        let publish = reader.recv_publish().await;
        assert!(publish.retain, "[MQTT-3.3.1-8]: sent with RETAIN set");
        got.push(String::from_utf8(publish.payload.to_vec()).unwrap());
    }
    got.sort();
    assert_eq!(got, ["kept", "zero"]);
    reader.expect_nothing().await;
    reader.disconnect().await;
    second.shutdown().await;
}

// [MQTT-3.3.2-5]: the time a retained message spent in the store counts against its
// Message Expiry Interval; one that expired meanwhile is not loaded.
#[tokio::test]
async fn retained_message_expired_in_the_store_is_not_loaded_mqtt_3_3_2_5() {
    let store = Arc::new(MemoryStore::new());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let retained = |t: &str, expiry: u32, stored_at: u64| {
        let properties = broker_core::codec::PublishProperties {
            message_expiry_interval: Some(expiry),
            ..Default::default()
        };
        RetainedMessage::new(
            TopicName::new(t).unwrap(),
            "x".into(),
            QoS::AtMostOnce,
            properties,
            stored_at,
        )
    };
    store
        .set_retained(&retained("e/old", 10, now - 60))
        .await
        .unwrap();
    store
        .set_retained(&retained("e/fresh", 100, now - 30))
        .await
        .unwrap();
    let (broker, addr) = start_on(store.clone()).await;
    let (mut reader, _) = Client::connect(addr, V5, "reader", true).await;
    reader.subscribe(1, "e/#", QoS::AtMostOnce).await;
    let publish = reader.recv_publish().await;
    assert_eq!(publish.topic.as_ref().unwrap().as_str(), "e/fresh");
    let left = publish.properties.message_expiry_interval.unwrap();
    assert!(
        (60..=70).contains(&left),
        "[MQTT-3.3.2-6] remaining expiry {left}"
    );
    reader.expect_nothing().await;
    broker.shutdown().await;
}

// [MQTT-3.1.2-4]: clean start discards the session, in the store too.
#[tokio::test]
async fn clean_start_removes_the_stored_session_mqtt_3_1_2_4() {
    let store = Arc::new(MemoryStore::new());
    let (first, addr) = start_on(store.clone()).await;
    leave_persistent_session(addr, "fresh", "fresh/#").await;
    first.shutdown().await;
    assert!(store.load(&id("fresh")).await.unwrap().is_some());

    let (second, addr) = start_on(store.clone()).await;
    let (mut fresh, ack) = Client::connect(addr, V311, "fresh", true).await;
    assert!(!ack.session_present, "[MQTT-3.2.2-1]");
    wait_stored(&store, "fresh", false).await;
    // The old subscription is gone with the session.
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("fresh/a", "nobody", QoS::AtLeastOnce, false, 1)
        .await;
    fresh.expect_nothing().await;
    // A clean session is never saved.
    fresh.disconnect().await;
    publisher.disconnect().await;
    second.shutdown().await;
    assert!(store.load(&id("fresh")).await.unwrap().is_none());
    assert!(store.sessions().await.unwrap().is_empty());
}

// MQTT 5.0 §3.1.2.11.2: a session whose Session Expiry Interval is 0 at close ends; a v5
// client that resumes a stored session and then sets it to 0 at DISCONNECT removes it.
#[tokio::test]
async fn session_ended_by_session_expiry_0_is_removed_from_the_store() {
    let store = Arc::new(MemoryStore::new());
    let (broker, addr) = start_on(store.clone()).await;
    let mut connect = connect_packet(V5, "v5p", false);
    connect.properties.session_expiry_interval = Some(600);
    let (c, ack) = Client::connect_with(addr, connect.clone()).await;
    assert_eq!(ack.code, ReasonCode::Success);
    c.disconnect().await;
    wait_stored(&store, "v5p", true).await;
    assert_eq!(
        store
            .load(&id("v5p"))
            .await
            .unwrap()
            .unwrap()
            .session_expiry,
        600
    );

    let (mut c, ack) = Client::connect_with(addr, connect).await;
    assert!(ack.session_present);
    let mut disconnect = broker_core::codec::Disconnect::new(ReasonCode::Success);
    disconnect.properties.session_expiry_interval = Some(0);
    c.send(Packet::Disconnect(disconnect)).await;
    assert!(c.until_closed().await.is_empty());
    wait_stored(&store, "v5p", false).await;
    broker.shutdown().await;
}

/// A store whose loads fail.
#[derive(Debug, Default)]
struct BrokenLoads(MemoryStore);

#[async_trait]
impl SessionStore for BrokenLoads {
    async fn load(&self, _: &ClientId) -> Result<Option<StoredSession>, StoreError> {
        Err(StoreError::Unavailable("test".into()))
    }
    async fn save(&self, session: &StoredSession) -> Result<(), StoreError> {
        self.0.save(session).await
    }
    async fn remove(&self, client_id: &ClientId) -> Result<bool, StoreError> {
        self.0.remove(client_id).await
    }
    async fn sessions(&self) -> Result<Vec<ClientId>, StoreError> {
        self.0.sessions().await
    }
    async fn enqueue(&self, c: &ClientId, m: &QueuedMessage) -> Result<u64, StoreError> {
        self.0.enqueue(c, m).await
    }
    async fn queued(&self, c: &ClientId) -> Result<Vec<(u64, QueuedMessage)>, StoreError> {
        self.0.queued(c).await
    }
    async fn ack_queued(&self, c: &ClientId, up_to: u64) -> Result<(), StoreError> {
        self.0.ack_queued(c, up_to).await
    }
    async fn forget_queued(&self, c: &ClientId, seq: u64) -> Result<(), StoreError> {
        self.0.forget_queued(c, seq).await
    }
    async fn set_retained(&self, m: &RetainedMessage) -> Result<(), StoreError> {
        Err(StoreError::Backend(format!("test: {}", m.topic)))
    }
    async fn remove_retained(&self, topic: &TopicName) -> Result<bool, StoreError> {
        self.0.remove_retained(topic).await
    }
    async fn retained(&self) -> Result<Vec<RetainedMessage>, StoreError> {
        self.0.retained().await
    }
}

// The store's durability contract: an error refuses the operation. A CONNECT that must load
// its session gets CONNACK 0x80 (v5) / return code 3 (3.1.1), then the identifier is free
// again; a clean start needs no load and is accepted.
#[tokio::test]
async fn failed_load_refuses_the_connect_with_0x80() {
    let (broker, addr) = start_on(Arc::new(BrokenLoads::default())).await;
    let (mut refused, ack) = Client::connect_with(addr, connect_packet(V5, "unlucky", false)).await;
    assert_eq!(ack.code, ReasonCode::UnspecifiedError);
    assert!(!ack.session_present);
    assert!(refused.until_closed().await.is_empty());
    let (c, ack) = Client::connect_with(addr, connect_packet(V311, "unlucky", false)).await;
    assert_eq!(
        ack.code,
        ReasonCode::ServerUnavailable,
        "3.1.1: return code 3"
    );
    drop(c);
    let (c, _) = Client::connect(addr, V5, "unlucky", true).await;
    c.disconnect().await;
    broker.shutdown().await;
}

// The store's durability contract: a retained QoS 1 message the store could not take is
// acknowledged with 0x80 (PUBACK), though it was routed.
#[tokio::test]
async fn failed_retained_write_answers_puback_0x80() {
    let (broker, addr) = start_on(Arc::new(BrokenLoads::default())).await;
    let (mut publisher, _) = Client::connect(addr, V5, "pub", true).await;
    let mut publish = broker_core::codec::Publish::new(support::topic("r/t"), "x".into());
    publish.retain = true;
    publish.qos_pid = broker_core::codec::QosPid::AtLeastOnce(support::pid(1));
    publisher.send(Packet::Publish(publish)).await;
    match publisher.recv().await {
        Some(Packet::PubAck(ack)) => assert_eq!(ack.code, ReasonCode::UnspecifiedError),
        other => panic!("expected PUBACK, got {other:?}"),
    }
    publisher.disconnect().await;
    broker.shutdown().await;
}
