//! The cluster seam as the runtime drives it, with a fake link that records its calls: route
//! announcements on a filter's first and last local subscriber, one forwarded copy per
//! message and peer, nothing forwarded back, nothing at all without peers.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;

use super::test_support::{filter, start, topic};
use crate::cluster::{
    ClusterError, ClusterLink, Forwarded, MovedSession, PeerName, RouteAck, Standalone,
};
use crate::session::Message;
use crate::types::{ClientId, QoS, TopicFilter};
use crate::Broker;

/// What the fake link was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Call {
    AddRoute(String),
    RemoveRoute(String),
    Forward(String, Vec<String>),
}

#[derive(Default)]
struct FakeLink {
    calls: Mutex<Vec<Call>>,
}

impl FakeLink {
    fn record(&self, call: Call) {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(call);
    }

    fn calls(&self) -> Vec<Call> {
        self.calls
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn forwarded(&self) -> Vec<Call> {
        self.calls()
            .into_iter()
            .filter(|call| matches!(call, Call::Forward(..)))
            .collect()
    }
}

#[async_trait]
impl ClusterLink for FakeLink {
    fn node_name(&self) -> &str {
        "a"
    }

    fn peers(&self) -> Vec<PeerName> {
        vec![PeerName::new("b")]
    }

    fn add_route(&self, filter: &TopicFilter) -> RouteAck {
        self.record(Call::AddRoute(filter.as_str().to_owned()));
        RouteAck::pending(async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            Ok(())
        })
    }

    fn remove_route(&self, filter: &TopicFilter) {
        self.record(Call::RemoveRoute(filter.as_str().to_owned()));
    }

    async fn forward(&self, peer: &PeerName, messages: Vec<Forwarded>) -> Result<(), ClusterError> {
        // A copy for a shared group shows the group: `topic for $share/g/filter`.
        let topics = messages
            .iter()
            .map(|m| match &m.shared_group {
                None => m.message.topic.as_str().to_owned(),
                Some(group) => format!("{} for {}", m.message.topic.as_str(), group.as_str()),
            })
            .collect();
        self.record(Call::Forward(peer.as_str().to_owned(), topics));
        Ok(())
    }

    async fn take_over(&self, _: &ClientId) -> Result<Option<MovedSession>, ClusterError> {
        Ok(None)
    }
}

/// Waits (bounded) until `done` holds.
async fn eventually(mut done: impl FnMut() -> bool) -> bool {
    for _ in 0..200 {
        if done() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    done()
}

#[tokio::test]
async fn only_a_filters_first_and_last_local_subscriber_are_announced() {
    let link = Arc::new(FakeLink::default());
    let (broker, handle) = start(Arc::clone(&link)).await;
    let first = handle.subscribe(filter("a/+"), QoS::AtLeastOnce).await;
    let second = handle.subscribe(filter("a/+"), QoS::AtMostOnce).await;
    assert_eq!(link.calls(), [Call::AddRoute("a/+".into())]);
    drop(first);
    assert_eq!(link.calls(), [Call::AddRoute("a/+".into())]);
    drop(second);
    assert_eq!(
        link.calls(),
        [
            Call::AddRoute("a/+".into()),
            Call::RemoveRoute("a/+".into())
        ]
    );
    broker.shutdown().await;
}

#[tokio::test]
async fn a_publish_goes_once_to_each_interested_peer() {
    let link = Arc::new(FakeLink::default());
    let (broker, handle) = start(Arc::clone(&link)).await;
    let peer = PeerName::new("b");
    assert!(handle.add_peer_route(&peer, &filter("x/#")));
    assert!(handle.add_peer_route(&peer, &filter("x/y")));
    assert!(!handle.add_peer_route(&PeerName::new("z"), &filter("x/#")));
    let sent = handle
        .publish(
            topic("x/y"),
            Bytes::from_static(b"1"),
            QoS::AtLeastOnce,
            false,
        )
        .await;
    assert!(sent.is_ok());
    let published = handle.publish(topic("other"), Bytes::new(), QoS::AtMostOnce, false);
    assert!(published.await.is_ok());
    assert!(eventually(|| !link.forwarded().is_empty()).await);
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(
        link.forwarded(),
        [Call::Forward("b".into(), vec!["x/y".into()])]
    );
    assert!(handle.remove_peer_route(&peer, &filter("x/#")));
    assert!(handle.remove_peer_route(&peer, &filter("x/y")));
    let published = handle.publish(topic("x/y"), Bytes::new(), QoS::AtMostOnce, false);
    assert!(published.await.is_ok());
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert_eq!(link.forwarded().len(), 1, "no route, nothing forwarded");
    broker.shutdown().await;
}

#[tokio::test]
async fn a_message_from_a_peer_reaches_local_subscribers_and_no_peer() {
    let link = Arc::new(FakeLink::default());
    let (broker, handle) = start(Arc::clone(&link)).await;
    assert!(handle.add_peer_route(&PeerName::new("b"), &filter("x/#")));
    let subscription = handle.subscribe(filter("x/y"), QoS::AtMostOnce).await;
    let mut subscription = subscription.unwrap_or_else(|error| panic!("{error}"));
    let message = Message::new(
        topic("x/y"),
        Bytes::from_static(b"from b"),
        QoS::AtMostOnce,
        false,
        crate::codec::PublishProperties::default(),
        crate::runtime::clock::now(),
    );
    assert!(handle
        .publish_from_peer(&[Forwarded::new(message)])
        .await
        .is_ok());
    let received = tokio::time::timeout(Duration::from_secs(1), subscription.recv()).await;
    let received = received.ok().flatten().map(|m| m.payload);
    assert_eq!(received, Some(Bytes::from_static(b"from b")));
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(link.forwarded().is_empty());
    broker.shutdown().await;
}

#[tokio::test]
async fn a_link_without_peers_adds_nothing() {
    let broker = Broker::builder()
        .no_listeners()
        .cluster_link(Arc::new(Standalone::new("alone")))
        .start()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let handle = broker.handle();
    assert!(!handle.add_peer_route(&PeerName::new("b"), &filter("x/#")));
    broker.shutdown().await;
}

/// A link whose route announcements complete when the test says so.
struct GatedLink {
    gate: Mutex<Option<tokio::sync::oneshot::Receiver<()>>>,
    inner: FakeLink,
}

#[async_trait]
impl ClusterLink for GatedLink {
    fn node_name(&self) -> &str {
        "a"
    }

    fn peers(&self) -> Vec<PeerName> {
        vec![PeerName::new("b")]
    }

    fn add_route(&self, filter: &TopicFilter) -> RouteAck {
        self.inner
            .record(Call::AddRoute(filter.as_str().to_owned()));
        let gate = self
            .gate
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        RouteAck::pending(async move {
            if let Some(gate) = gate {
                let _ = gate.await;
            }
            Ok(())
        })
    }

    fn remove_route(&self, filter: &TopicFilter) {
        self.inner.remove_route(filter);
    }

    async fn forward(&self, peer: &PeerName, messages: Vec<Forwarded>) -> Result<(), ClusterError> {
        self.inner.forward(peer, messages).await
    }

    async fn take_over(&self, client_id: &ClientId) -> Result<Option<MovedSession>, ClusterError> {
        self.inner.take_over(client_id).await
    }
}

/// Reads from `socket` until `want` bytes came or `wait` passed.
async fn read_some(socket: &mut tokio::net::TcpStream, want: usize, wait: Duration) -> Vec<u8> {
    use tokio::io::AsyncReadExt;
    let mut got = Vec::new();
    let mut buf = [0u8; 64];
    let deadline = tokio::time::Instant::now() + wait;
    while got.len() < want {
        match tokio::time::timeout_at(deadline, socket.read(&mut buf)).await {
            Ok(Ok(n)) if n > 0 => got.extend_from_slice(&buf[..n]),
            _ => break,
        }
    }
    got
}

#[tokio::test]
async fn a_network_suback_waits_until_the_peers_recorded_the_route() {
    use tokio::io::AsyncWriteExt;
    let (open, gate) = tokio::sync::oneshot::channel();
    let link = Arc::new(GatedLink {
        gate: Mutex::new(Some(gate)),
        inner: FakeLink::default(),
    });
    let bind = "127.0.0.1:0"
        .parse()
        .unwrap_or_else(|error| panic!("{error}"));
    let broker = Broker::builder()
        .no_listeners()
        .listener(crate::config::ListenerConfig::tcp("test", bind))
        .cluster_link(Arc::clone(&link) as Arc<dyn ClusterLink>)
        .start()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let addr = broker.local_addrs()[0].1;
    let mut socket = tokio::net::TcpStream::connect(addr)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    // MQTT 3.1.1 CONNECT (client "cid", clean session, keep alive 60), then SUBSCRIBE a/b
    // at QoS 1 with packet identifier 1.
    let connect = b"\x10\x0f\x00\x04MQTT\x04\x02\x00\x3c\x00\x03cid";
    let subscribe = b"\x82\x08\x00\x01\x00\x03a/b\x01";
    socket
        .write_all(connect)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert_eq!(
        read_some(&mut socket, 4, Duration::from_secs(2)).await,
        b"\x20\x02\x00\x00"
    );
    socket
        .write_all(subscribe)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(eventually(|| !link.inner.calls().is_empty()).await);
    assert_eq!(link.inner.calls(), [Call::AddRoute("a/b".into())]);
    assert!(
        read_some(&mut socket, 5, Duration::from_millis(100))
            .await
            .is_empty(),
        "no SUBACK before the peers recorded the route"
    );
    let _ = open.send(());
    assert_eq!(
        read_some(&mut socket, 5, Duration::from_secs(2)).await,
        b"\x90\x03\x00\x01\x01"
    );
    drop(socket);
    assert!(
        eventually(|| link
            .inner
            .calls()
            .contains(&Call::RemoveRoute("a/b".into())))
        .await,
        "the clean session's end removes its route"
    );
    broker.shutdown().await;
}

/// MQTT 5.0 §4.8.2 across nodes: a peer with a member of a shared group is one member of the
/// group here, so each message goes to one member cluster-wide: to the local member, or
/// forwarded for the group (never both, never to the peer's other subscribers).
#[tokio::test]
async fn a_shared_group_spanning_nodes_gets_each_message_once() {
    let link = Arc::new(FakeLink::default());
    let (broker, handle) = start(Arc::clone(&link)).await;
    let group = filter("$share/g/x/#");
    assert!(handle.add_peer_route(&PeerName::new("b"), &group));
    let mut member = handle
        .subscribe(group.clone(), QoS::AtLeastOnce)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    for n in 0..10u8 {
        let sent = handle.publish(topic("x/y"), Bytes::from(vec![n]), QoS::AtLeastOnce, false);
        assert!(sent.await.is_ok());
    }
    let mut local = Vec::new();
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_millis(100), member.recv()).await
    {
        local.push(message.payload[0]);
    }
    assert!(eventually(|| local.len() + forwarded_count(&link) == 10).await);
    let forwarded = link.forwarded();
    for call in &forwarded {
        let Call::Forward(peer, topics) = call else {
            unreachable!("only forwards")
        };
        assert_eq!(peer, "b");
        assert!(
            topics.iter().all(|t| t == "x/y for $share/g/x/#"),
            "{topics:?}"
        );
    }
    assert!(!local.is_empty(), "the local member got none");
    assert!(forwarded_count(&link) > 0, "the peer got none");
    broker.shutdown().await;
}

fn forwarded_count(link: &FakeLink) -> usize {
    link.forwarded()
        .iter()
        .map(|call| match call {
            Call::Forward(_, topics) => topics.len(),
            _ => 0,
        })
        .sum()
}

/// A message forwarded for a shared group goes to one local member of that group only; one
/// forwarded without a group goes to the subscribers outside shared groups only (the
/// publishing node chose the groups' members).
#[tokio::test]
async fn a_forwarded_message_reaches_its_group_or_the_plain_subscribers() {
    let link = Arc::new(FakeLink::default());
    let (broker, handle) = start(Arc::clone(&link)).await;
    let group = filter("$share/g/x/#");
    let mut member = handle
        .subscribe(group.clone(), QoS::AtLeastOnce)
        .await
        .unwrap();
    let mut plain = handle
        .subscribe(filter("x/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let message = |payload: &'static [u8]| {
        Message::new(
            topic("x/y"),
            Bytes::from_static(payload),
            QoS::AtLeastOnce,
            false,
            crate::codec::PublishProperties::default(),
            crate::runtime::clock::now(),
        )
    };
    assert!(handle
        .publish_from_peer(&[Forwarded::new(message(b"plain"))])
        .await
        .is_ok());
    assert!(handle
        .publish_from_peer(&[Forwarded::for_group(message(b"grouped"), group.clone())])
        .await
        .is_ok());
    // A group whose filter does not match the topic is refused, not delivered.
    let wrong = filter("$share/g/z/#");
    assert!(handle
        .publish_from_peer(&[Forwarded::for_group(message(b"wrong"), wrong.clone())])
        .await
        .is_ok());
    assert_eq!(
        next_payload(&mut plain).await,
        Some(Bytes::from_static(b"plain"))
    );
    assert_eq!(next_payload(&mut plain).await, None);
    assert_eq!(
        next_payload(&mut member).await,
        Some(Bytes::from_static(b"grouped"))
    );
    assert_eq!(next_payload(&mut member).await, None);
    broker.shutdown().await;
}

/// The next message's payload within 200 ms, if one comes.
async fn next_payload(subscription: &mut crate::Subscription) -> Option<Bytes> {
    let recv = tokio::time::timeout(Duration::from_millis(200), subscription.recv());
    recv.await.ok().flatten().map(|m| m.payload)
}

/// A link whose peers come and go (discovery): none at start.
#[derive(Default)]
struct DiscoveringLink {
    inner: FakeLink,
}

#[async_trait]
impl ClusterLink for DiscoveringLink {
    fn node_name(&self) -> &str {
        "a"
    }

    fn peers(&self) -> Vec<PeerName> {
        Vec::new()
    }

    fn dynamic_peers(&self) -> bool {
        true
    }

    fn add_route(&self, filter: &TopicFilter) -> RouteAck {
        self.inner.add_route(filter)
    }

    fn remove_route(&self, filter: &TopicFilter) {
        self.inner.remove_route(filter);
    }

    async fn forward(&self, peer: &PeerName, messages: Vec<Forwarded>) -> Result<(), ClusterError> {
        self.inner.forward(peer, messages).await
    }

    async fn take_over(&self, client_id: &ClientId) -> Result<Option<MovedSession>, ClusterError> {
        self.inner.take_over(client_id).await
    }
}

#[tokio::test]
async fn a_peer_added_during_the_run_gets_its_copies_until_it_is_removed() {
    let link = Arc::new(DiscoveringLink::default());
    let broker = Broker::builder()
        .no_listeners()
        .cluster_link(Arc::clone(&link) as Arc<dyn ClusterLink>)
        .start()
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    let handle = broker.handle();
    let peer = PeerName::new("b");
    assert!(
        !handle.add_peer_route(&peer, &filter("x/#")),
        "not a peer yet"
    );
    assert!(handle.add_peer(&peer));
    assert!(!handle.add_peer(&peer), "added once");
    assert!(handle.add_peer_route(&peer, &filter("x/#")));
    assert_eq!(handle.peer_outbox_depth(&peer), Some(0));
    let sent = handle.publish(
        topic("x/y"),
        Bytes::from_static(b"1"),
        QoS::AtLeastOnce,
        false,
    );
    assert!(sent.await.is_ok());
    assert!(eventually(|| !link.inner.forwarded().is_empty()).await);
    assert!(handle.remove_peer(&peer));
    assert!(!handle.remove_peer(&peer), "removed once");
    assert_eq!(handle.peer_outbox_depth(&peer), None);
    assert!(!handle.add_peer_route(&peer, &filter("x/#")));
    let sent = handle.publish(topic("x/y"), Bytes::new(), QoS::AtMostOnce, false);
    assert!(sent.await.is_ok());
    assert_eq!(link.inner.forwarded().len(), 1, "its routes left with it");
    assert!(handle.add_peer(&peer), "it can come back");
    assert!(handle.add_peer_route(&peer, &filter("x/#")));
    broker.shutdown().await;
}

/// A shared group picks a member on an unreachable peer only when no other member can
/// receive: while peer b's stream is down, the local member gets every message; once b is
/// reachable again, b gets its turn.
#[tokio::test]
async fn a_shared_group_skips_a_member_on_an_unreachable_peer() {
    let link = Arc::new(FakeLink::default());
    let (broker, handle) = start(Arc::clone(&link)).await;
    let peer = PeerName::new("b");
    let group = filter("$share/g/x/#");
    assert!(handle.add_peer_route(&peer, &group));
    let mut member = handle
        .subscribe(group.clone(), QoS::AtLeastOnce)
        .await
        .unwrap_or_else(|error| panic!("{error}"));
    assert!(handle.set_peer_reachable(&peer, false));
    assert!(!handle.set_peer_reachable(&PeerName::new("z"), false));
    for n in 0..6u8 {
        let sent = handle.publish(topic("x/y"), Bytes::from(vec![n]), QoS::AtLeastOnce, false);
        assert!(sent.await.is_ok());
    }
    for n in 0..6u8 {
        assert_eq!(next_payload(&mut member).await, Some(Bytes::from(vec![n])));
    }
    assert_eq!(
        forwarded_count(&link),
        0,
        "nothing for the unreachable peer"
    );
    assert!(handle.set_peer_reachable(&peer, true));
    for n in 0..6u8 {
        let sent = handle.publish(topic("x/y"), Bytes::from(vec![n]), QoS::AtLeastOnce, false);
        assert!(sent.await.is_ok());
    }
    assert!(
        eventually(|| forwarded_count(&link) > 0).await,
        "b's turn again"
    );
    broker.shutdown().await;
}
