//! Takeover of a client identifier across nodes, through the cluster seam: node B's link asks
//! node A for the session (`ClusterLink::take_over`), and A gives it up with
//! `BrokerHandle::hand_over_session`, as `broker-cluster` does over gRPC. The client resumes
//! on B with Session Present 1, its subscriptions, its in-flight messages and its queue; A
//! holds nothing of it any more.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use async_trait::async_trait;
use broker_core::admin::ClientQuery;
use broker_core::cluster::{
    ClusterError, ClusterLink, Forwarded, MovedSession, PeerName, RouteAck,
};
use broker_core::codec::{Packet, QosPid};
use broker_core::types::{ClientId, QoS, ReasonCode, TopicFilter};
use broker_core::{Broker, BrokerHandle};
use bytes::Bytes;

use crate::keeping_store::{persistent, start_on, KeepingStore};
use crate::support::{self, topic, Client, V311, V5};

/// Node B's link: its one peer is node A, reached through A's handle.
#[derive(Default)]
struct RelayLink {
    a: OnceLock<BrokerHandle>,
}

#[async_trait]
impl ClusterLink for RelayLink {
    fn node_name(&self) -> &str {
        "b"
    }

    fn peers(&self) -> Vec<PeerName> {
        vec![PeerName::new("a")]
    }

    fn add_route(&self, _filter: &TopicFilter) -> RouteAck {
        RouteAck::ready()
    }

    fn remove_route(&self, _filter: &TopicFilter) {}

    async fn forward(
        &self,
        _peer: &PeerName,
        _messages: Vec<Forwarded>,
    ) -> Result<(), ClusterError> {
        Ok(())
    }

    async fn take_over(&self, client_id: &ClientId) -> Result<Option<MovedSession>, ClusterError> {
        let unreachable = |reason: String| ClusterError::PeerUnreachable {
            peer: "a".to_owned(),
            reason,
        };
        let a = self
            .a
            .get()
            .ok_or_else(|| unreachable("not linked".into()))?;
        a.hand_over_session(client_id)
            .await
            .map_err(|error| unreachable(error.to_string()))
    }
}

/// A node, its MQTT address and its store.
type Node = (Broker, SocketAddr, Arc<KeepingStore>);

/// Node A (no peers) and node B (linked to A), each with a store of its own that keeps
/// messages.
async fn two_nodes() -> (Node, Node) {
    let (store_a, _gate_a) = KeepingStore::new();
    let (a, addr_a) = start_on(Arc::clone(&store_a)).await;
    let link = Arc::new(RelayLink::default());
    let _ = link.a.set(a.handle());
    let (store_b, _gate_b) = KeepingStore::new();
    let (b, addr_b) = support::start_built(
        Broker::builder()
            .config(support::config())
            .session_store(Arc::clone(&store_b) as Arc<dyn broker_core::store::SessionStore>)
            .cluster_link(link as Arc<dyn ClusterLink>),
    )
    .await;
    ((a, addr_a, store_a), (b, addr_b, store_b))
}

async fn publish_on(handle: &BrokerHandle, t: &str, payload: &'static str) {
    handle
        .publish(
            topic(t),
            Bytes::from_static(payload.as_bytes()),
            QoS::AtLeastOnce,
            false,
        )
        .await
        .unwrap();
}

/// [MQTT-3.2.2-3] across nodes: an offline persistent session held by node A resumes on node
/// B with Session Present 1, and the QoS 1 messages queued for it on A come in order
/// ([MQTT-4.6.0-6]), kept in B's store before they are sent; its subscription is in B's
/// router; A's store no longer has it.
#[tokio::test]
async fn an_offline_session_moves_with_its_queue_to_the_node_its_client_connects_to_mqtt_3_2_2_3() {
    let ((a, addr_a, store_a), (b, addr_b, store_b)) = two_nodes().await;
    let (mut mover, ack) = persistent(addr_a, V5, "mover").await;
    assert_eq!(ack.code, ReasonCode::Success);
    mover.subscribe(1, "t/#", QoS::AtLeastOnce).await;
    mover.disconnect().await;
    for payload in ["one", "two", "three"] {
        publish_on(&a.handle(), "t/x", payload).await;
    }
    store_a.wait_queued("mover", 3).await;

    let (mut mover, ack) = persistent(addr_b, V5, "mover").await;
    assert_eq!(ack.code, ReasonCode::Success);
    assert!(ack.session_present, "the session came from node a");
    // Not acknowledged yet: all three are in b's store.
    store_b.wait_queued("mover", 3).await;
    for payload in ["one", "two", "three"] {
        let publish = mover.recv_publish().await;
        assert_eq!(publish.payload, payload.as_bytes());
    }
    // The subscription came too: a message published on b reaches it.
    publish_on(&b.handle(), "t/y", "four").await;
    assert_eq!(mover.recv_publish().await.payload, "four".as_bytes());

    // Nothing of it stays on a: no session, no record, no queue.
    let id = ClientId::new("mover").unwrap();
    assert_eq!(a.handle().client(&id).await.unwrap(), None);
    assert!(store_a.queued("mover").await.is_empty());
    let listed = a.handle().clients(&ClientQuery::default()).await.unwrap();
    assert!(listed.items.is_empty(), "{:?}", listed.items);
    a.shutdown().await;
    b.shutdown().await;
}

/// [MQTT-3.1.4-3] across nodes: a client identifier connecting on node B closes the
/// connection holding it on node A, which an MQTT 5 client learns from DISCONNECT 0x8E
/// (Session taken over); the message it had not acknowledged on A is sent again on B with
/// DUP set ([MQTT-4.4.0-1]).
#[tokio::test]
async fn a_live_connection_on_another_node_is_closed_with_0x8e_and_its_inflight_moves_mqtt_3_1_4_3()
{
    let ((a, addr_a, _store_a), (b, addr_b, _store_b)) = two_nodes().await;
    let (mut first, _) = persistent(addr_a, V5, "mover").await;
    first.subscribe(1, "t/#", QoS::AtLeastOnce).await;
    publish_on(&a.handle(), "t/x", "unacknowledged").await;
    // Received and not acknowledged: in flight on node a.
    match first.recv().await {
        Some(Packet::Publish(publish)) => assert_eq!(publish.payload, "unacknowledged".as_bytes()),
        other => panic!("expected PUBLISH, got {other:?}"),
    }

    let (mut second, ack) = persistent(addr_b, V5, "mover").await;
    assert_eq!(ack.code, ReasonCode::Success);
    assert!(ack.session_present);
    let disconnect = first.expect_disconnect().await;
    assert_eq!(disconnect.code, ReasonCode::SessionTakenOver);

    match second.recv().await {
        Some(Packet::Publish(publish)) => {
            assert!(publish.dup, "a resent PUBLISH has DUP set");
            assert_eq!(publish.payload, "unacknowledged".as_bytes());
            assert!(matches!(publish.qos_pid, QosPid::AtLeastOnce(_)));
        }
        other => panic!("expected the PUBLISH again, got {other:?}"),
    }
    a.shutdown().await;
    b.shutdown().await;
}

/// [MQTT-3.1.2-4] across nodes (3.1.1: [MQTT-3.1.2-6], clean session 1): a client that
/// connects on another node with a clean start ends its old session there: Session Present 0
/// on B, the old connection closed, and nothing of the session on A.
#[tokio::test]
async fn a_clean_start_on_another_node_ends_the_old_session_mqtt_3_1_2_4() {
    let ((a, addr_a, _store_a), (b, addr_b, _store_b)) = two_nodes().await;
    let (mut first, _) = Client::connect(addr_a, V311, "cleaner", false).await;
    first.subscribe(1, "t/#", QoS::AtLeastOnce).await;
    let (_second, ack) = Client::connect(addr_b, V311, "cleaner", true).await;
    assert!(!ack.session_present);
    // 3.1.1 has no DISCONNECT from the server: the old connection is closed.
    first.until_closed().await;
    let id = ClientId::new("cleaner").unwrap();
    assert_eq!(a.handle().client(&id).await.unwrap(), None);
    a.shutdown().await;
    b.shutdown().await;
}
