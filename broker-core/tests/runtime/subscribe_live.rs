//! A subscription is live as soon as its SUBSCRIBE is read and authorized, before anything
//! else its SUBACK waits for: a PUBLISH the same client sent right behind the SUBSCRIBE, in
//! the same write, comes back to it, also when a hook takes its time to authorize the filter
//! (the connection carries its packets out in the order they came); and a PUBLISH from
//! another client while the cluster's peers are still recording the new route reaches the
//! subscriber. MQTT 5.0 §3.8.4 lets the server send matching PUBLISH packets before the
//! SUBACK, so the tests take the packets in either order.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use broker_core::cluster::{
    ClusterError, ClusterLink, Forwarded, MovedSession, PeerName, RouteAck,
};
use broker_core::codec::{
    Packet, Publish, QosPid, Subscribe, SubscribeProperties, Subscription, SubscriptionOptions,
};
use broker_core::hooks::{AuthzDecision, Interest};
use broker_core::types::{ClientId, ProtocolVersion, QoS, TopicFilter};
use broker_core::Broker;
use bytes::{Bytes, BytesMut};
use tokio::io::AsyncWriteExt;
use tokio::sync::{mpsc, watch};
use tokio::time::timeout;

use crate::support;
use crate::support::{filter, pid, topic, Client, V311, V5, WAIT};
use crate::test_hook::TestHook;

/// What a client got back: whether its SUBACK granted the filter, whether its PUBLISH was
/// acknowledged (QoS 1), and the payloads delivered to it.
#[derive(Debug, Default, PartialEq)]
struct Answers {
    granted: bool,
    acknowledged: bool,
    delivered: Vec<Bytes>,
}

/// Reads `n` packets and sorts them into [`Answers`].
async fn answers(client: &mut Client, n: usize) -> Answers {
    let mut answers = Answers::default();
    for _ in 0..n {
        match client.recv().await {
            Some(Packet::SubAck(ack)) => {
                assert_eq!(ack.packet_id, pid(1));
                answers.granted = ack.codes.iter().all(|code| !code.is_error());
            }
            Some(Packet::PubAck(ack)) => {
                assert_eq!(ack.packet_id, pid(2));
                answers.acknowledged = true;
            }
            Some(Packet::Publish(publish)) => answers.delivered.push(publish.payload),
            other => panic!("expected SUBACK, PUBACK or PUBLISH, got {other:?}"),
        }
    }
    answers
}

/// The SUBSCRIBE (packet identifier 1) to `t` at QoS 1.
fn subscribe(t: &str) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: pid(1),
        subscriptions: vec![Subscription {
            filter: filter(t),
            options: SubscriptionOptions::qos(QoS::AtLeastOnce),
        }],
        properties: SubscribeProperties::default(),
    })
}

/// Connects a client that writes a SUBSCRIBE to `t` and a PUBLISH to `t` at `qos` (packet
/// identifier 2) in one write, and checks that the message comes back to it.
async fn publish_behind_subscribe_comes_back(addr: SocketAddr, version: ProtocolVersion, qos: QoS) {
    let (mut client, _) = Client::connect(addr, version, "behind", true).await;
    let mut publish = Publish::new(topic("live/t"), Bytes::from_static(b"behind"));
    publish.qos_pid = match qos {
        QoS::AtMostOnce => QosPid::AtMostOnce,
        _ => QosPid::AtLeastOnce(pid(2)),
    };
    let mut bytes = BytesMut::new();
    subscribe("live/t").encode(version, &mut bytes).unwrap();
    Packet::Publish(publish)
        .encode(version, &mut bytes)
        .unwrap();
    timeout(WAIT, client.raw().write_all(&bytes))
        .await
        .unwrap()
        .unwrap();
    let acknowledged = qos != QoS::AtMostOnce;
    let got = answers(&mut client, 2 + usize::from(acknowledged)).await;
    let want = Answers {
        granted: true,
        acknowledged,
        delivered: vec![Bytes::from_static(b"behind")],
    };
    assert_eq!(got, want, "{version:?}, {qos:?}");
    client.disconnect().await;
}

#[tokio::test]
async fn a_publish_right_behind_a_subscribe_comes_back_to_its_client() {
    let (broker, addr) = support::start().await;
    for version in [V311, V5] {
        for qos in [QoS::AtMostOnce, QoS::AtLeastOnce] {
            publish_behind_subscribe_comes_back(addr, version, qos).await;
        }
    }
    broker.shutdown().await;
}

#[tokio::test]
async fn a_publish_behind_a_subscribe_a_slow_hook_authorizes_comes_back_to_its_client() {
    let hook = TestHook::new("slow", Interest::AUTHORIZE_SUBSCRIBE)
        .on_subscribe(|_| Ok(AuthzDecision::allow()))
        .slow_subscribe(Duration::from_millis(50));
    let calls = hook.calls.clone();
    let builder = Broker::builder().hook(hook).config(support::config());
    let (broker, addr) = support::start_built(builder).await;
    for version in [V311, V5] {
        publish_behind_subscribe_comes_back(addr, version, QoS::AtLeastOnce).await;
    }
    assert_eq!(calls.count("subscribe:live/t"), 2);
    broker.shutdown().await;
}

/// A link to one peer that records a new route only when the test lets it: every route
/// added is announced on `added`, and its acknowledgement waits until `open` is true.
struct HeldRoutes {
    added: mpsc::UnboundedSender<String>,
    open: watch::Receiver<bool>,
}

#[async_trait]
impl ClusterLink for HeldRoutes {
    fn node_name(&self) -> &str {
        "a"
    }

    fn peers(&self) -> Vec<PeerName> {
        vec![PeerName::new("b")]
    }

    fn add_route(&self, filter: &TopicFilter) -> RouteAck {
        let _ = self.added.send(filter.as_str().to_owned());
        let mut open = self.open.clone();
        RouteAck::pending(async move {
            let _ = open.wait_for(|open| *open).await;
            Ok(())
        })
    }

    fn remove_route(&self, _filter: &TopicFilter) {}

    async fn forward(&self, _: &PeerName, _: Vec<Forwarded>) -> Result<(), ClusterError> {
        Ok(())
    }

    async fn take_over(&self, _: &ClientId) -> Result<Option<MovedSession>, ClusterError> {
        Ok(None)
    }
}

#[tokio::test]
async fn a_publish_while_the_peers_record_a_new_route_reaches_the_subscriber() {
    let (added, mut routes) = mpsc::unbounded_channel();
    let (open, gate) = watch::channel(false);
    let link = Arc::new(HeldRoutes { added, open: gate });
    let builder = Broker::builder()
        .cluster_link(link)
        .config(support::config());
    let (broker, addr) = support::start_built(builder).await;
    let (mut subscriber, _) = Client::connect(addr, V5, "subscriber", true).await;
    subscriber.send(subscribe("live/t")).await;
    // The route is in this node's router before the peers are asked to record it.
    let route = timeout(WAIT, routes.recv()).await.unwrap();
    assert_eq!(route.as_deref(), Some("live/t"));

    // Its SUBACK waits for the peers; a message published here meanwhile is routed to it
    // (the PUBACK comes once it is).
    let (mut publisher, _) = Client::connect(addr, V5, "publisher", true).await;
    publisher
        .publish("live/t", "meanwhile", QoS::AtLeastOnce, false, 2)
        .await;
    open.send(true).unwrap();
    let got = answers(&mut subscriber, 2).await;
    let want = Answers {
        granted: true,
        acknowledged: false,
        delivered: vec![Bytes::from_static(b"meanwhile")],
    };
    assert_eq!(got, want);
    publisher.disconnect().await;
    subscriber.disconnect().await;
    broker.shutdown().await;
}
