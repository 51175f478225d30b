//! Retained messages across the cluster seam, with a fake link that records the retained
//! changes it is told: a node with peers reports each change it makes, stamped, and applies
//! a peer's change only when it is newer than what it holds (last writer wins), delivering
//! nothing and telling no peer; a non-retained publish and a node without peers call nothing.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::test_support::{filter, start, topic};
use crate::cluster::{
    ClusterError, ClusterLink, Forwarded, MovedSession, PeerName, RetainedChange, RetainedStamp,
    RouteAck,
};
use crate::codec::PublishProperties;
use crate::session::Message;
use crate::types::{ClientId, QoS, TopicFilter};
use crate::{Broker, BrokerHandle};

/// A link that records retained changes and forwards; `peers` says whether it has any.
struct RecordingLink {
    peers: Vec<PeerName>,
    retained: Mutex<Vec<RetainedChange>>,
    forwarded: Mutex<usize>,
}

impl RecordingLink {
    fn new(peers: &[&str]) -> Arc<Self> {
        Arc::new(RecordingLink {
            peers: peers.iter().map(|p| PeerName::new(*p)).collect(),
            retained: Mutex::new(Vec::new()),
            forwarded: Mutex::new(0),
        })
    }

    fn changes(&self) -> Vec<RetainedChange> {
        self.retained
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

#[async_trait]
impl ClusterLink for RecordingLink {
    fn node_name(&self) -> &str {
        "a"
    }

    fn peers(&self) -> Vec<PeerName> {
        self.peers.clone()
    }

    fn add_route(&self, _: &TopicFilter) -> RouteAck {
        RouteAck::ready()
    }

    fn remove_route(&self, _: &TopicFilter) {}

    fn retained_changed(&self, change: &RetainedChange) {
        self.retained
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(change.clone());
    }

    async fn forward(&self, _: &PeerName, messages: Vec<Forwarded>) -> Result<(), ClusterError> {
        *self
            .forwarded
            .lock()
            .unwrap_or_else(PoisonError::into_inner) += messages.len();
        Ok(())
    }

    async fn take_over(&self, _: &ClientId) -> Result<Option<MovedSession>, ClusterError> {
        Ok(None)
    }
}

/// A change from peer `node` at `ms`: `payload` retained on `t`, or a clear.
fn from_peer(t: &str, payload: Option<&'static [u8]>, ms: u64, node: &str) -> RetainedChange {
    let message = payload.map(|p| {
        Message::new(
            topic(t),
            Bytes::from_static(p),
            QoS::AtLeastOnce,
            true,
            PublishProperties::default(),
            crate::runtime::clock::now(),
        )
    });
    RetainedChange::new(
        topic(t),
        message,
        RetainedStamp::new(ms, PeerName::new(node)),
    )
}

/// What a new subscription to `t` gets as retained ([MQTT-3.3.1-6]), within a bound.
async fn retained_for_new_subscriber(handle: &BrokerHandle, t: &str) -> Option<Bytes> {
    let subscription = handle.subscribe(filter(t), QoS::AtLeastOnce).await;
    let mut subscription = subscription.unwrap_or_else(|error| panic!("{error}"));
    let received = tokio::time::timeout(Duration::from_millis(300), subscription.recv()).await;
    received.ok().flatten().map(|m| m.payload)
}

async fn apply(handle: &BrokerHandle, change: RetainedChange) -> bool {
    handle
        .apply_peer_retained(change)
        .await
        .unwrap_or_else(|error| panic!("{error}"))
}

#[tokio::test]
async fn each_retained_change_is_reported_stamped_and_nothing_else() {
    let link = RecordingLink::new(&["b"]);
    let (broker, handle) = start(Arc::clone(&link)).await;
    let publish = |t: &'static str, payload: &'static [u8], retain: bool| {
        let handle = handle.clone();
        async move {
            let sent = handle.publish(
                topic(t),
                Bytes::from_static(payload),
                QoS::AtMostOnce,
                retain,
            );
            assert!(sent.await.is_ok());
        }
    };
    publish("plain", b"x", false).await;
    assert!(
        link.changes().is_empty(),
        "a non-retained publish reports nothing"
    );
    publish("r/1", b"on", true).await;
    // [MQTT-3.3.1-10]: a retained PUBLISH with an empty payload clears the topic.
    publish("r/1", b"", true).await;
    let changes = link.changes();
    assert_eq!(changes.len(), 2);
    let (set, clear) = (&changes[0], &changes[1]);
    assert_eq!(set.topic, topic("r/1"));
    assert_eq!(
        set.message.as_ref().map(|m| m.payload.clone()),
        Some(Bytes::from_static(b"on"))
    );
    assert_eq!(set.stamp.node().as_str(), "a");
    assert!(clear.message.is_none());
    assert!(clear.stamp > set.stamp, "a later change has a later stamp");
    broker.shutdown().await;
}

#[tokio::test]
async fn a_newer_peer_change_is_applied_without_delivery_or_echo() {
    let link = RecordingLink::new(&["b"]);
    let (broker, handle) = start(Arc::clone(&link)).await;
    let mut live = handle
        .subscribe(filter("r/#"), QoS::AtLeastOnce)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(handle.add_peer_route(&PeerName::new("b"), &filter("#")));
    assert!(apply(&handle, from_peer("r/t", Some(b"v1"), 100, "b")).await);
    let delivered = tokio::time::timeout(Duration::from_millis(200), live.recv()).await;
    assert!(
        delivered.is_err(),
        "a peer's retained change is not a live message"
    );
    // [MQTT-3.3.1-6]: a new subscription gets it.
    assert_eq!(
        retained_for_new_subscriber(&handle, "r/t").await,
        Some(Bytes::from_static(b"v1"))
    );
    assert!(link.changes().is_empty(), "not told back to the peers");
    assert_eq!(
        *link
            .forwarded
            .lock()
            .unwrap_or_else(PoisonError::into_inner),
        0
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn the_last_writer_wins_clears_included() {
    let link = RecordingLink::new(&["b", "c"]);
    let (broker, handle) = start(Arc::clone(&link)).await;
    assert!(apply(&handle, from_peer("t", Some(b"new"), 200, "b")).await);
    assert!(!apply(&handle, from_peer("t", Some(b"old"), 100, "c")).await);
    assert!(
        !apply(&handle, from_peer("t", Some(b"same"), 200, "a")).await,
        "a tie goes to b"
    );
    assert_eq!(
        retained_for_new_subscriber(&handle, "t").await,
        Some(Bytes::from_static(b"new"))
    );
    // [MQTT-3.3.1-11]: once cleared, a new subscription gets nothing retained.
    assert!(apply(&handle, from_peer("t", None, 300, "c")).await);
    assert!(
        !apply(&handle, from_peer("t", Some(b"late"), 250, "b")).await,
        "the tombstone holds"
    );
    assert_eq!(retained_for_new_subscriber(&handle, "t").await, None);
    // A local change after what this node saw wins over it, whatever the clocks say.
    assert!(apply(&handle, from_peer("u", Some(b"future"), u64::MAX / 2, "b")).await);
    let sent = handle.publish(
        topic("u"),
        Bytes::from_static(b"here"),
        QoS::AtMostOnce,
        true,
    );
    assert!(sent.await.is_ok());
    let reported = link.changes();
    assert_eq!(reported.len(), 1);
    assert!(reported[0].stamp > RetainedStamp::new(u64::MAX / 2, PeerName::new("b")));
    broker.shutdown().await;
}

#[tokio::test]
async fn a_node_without_peers_stamps_nothing_and_applies_nothing() {
    let link = RecordingLink::new(&[]);
    let (broker, handle) = start(Arc::clone(&link)).await;
    let sent = handle.publish(topic("t"), Bytes::from_static(b"x"), QoS::AtMostOnce, true);
    assert!(sent.await.is_ok());
    assert!(link.changes().is_empty());
    assert!(!apply(&handle, from_peer("t", Some(b"y"), 1, "b")).await);
    assert_eq!(
        retained_for_new_subscriber(&handle, "t").await,
        Some(Bytes::from_static(b"x"))
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn a_peer_change_reaches_the_session_store_as_a_local_one_would() {
    use crate::store::{MemoryStore, SessionStore};

    let store = Arc::new(MemoryStore::new());
    let link = RecordingLink::new(&["b"]);
    let broker = Broker::builder()
        .no_listeners()
        .session_store(Arc::clone(&store) as _)
        .cluster_link(link)
        .start()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let handle = broker.handle();
    let stored = || async {
        let retained = store
            .retained()
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        retained
            .into_iter()
            .map(|m| (m.topic.as_str().to_owned(), m.payload))
            .collect::<Vec<_>>()
    };
    assert!(apply(&handle, from_peer("s/t", Some(b"kept"), 10, "b")).await);
    let mut seen = Vec::new();
    for _ in 0..200 {
        seen = stored().await;
        if !seen.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(seen, [("s/t".to_owned(), Bytes::from_static(b"kept"))]);
    assert!(apply(&handle, from_peer("s/t", None, 11, "b")).await);
    for _ in 0..200 {
        seen = stored().await;
        if seen.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(seen.is_empty(), "the clear reached the store: {seen:?}");
    broker.shutdown().await;
}
