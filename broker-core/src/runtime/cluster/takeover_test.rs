//! A client identifier that another node holds: the runtime asks the link for the session at
//! CONNECT and resumes it as it resumes a local connection's ([`StoredSession`], the one form
//! a session has across a takeover); without quorum the CONNECT is refused.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::cluster::{ClusterError, ClusterLink, Forwarded, MovedSession, PeerName, RouteAck};
use crate::codec::SubscriptionOptions;
use crate::router::SubscriptionEntry;
use crate::session::{Message, WillMessage};
use crate::store::StoredSession;
use crate::types::{ClientId, QoS, TopicFilter, TopicName};
use crate::Broker;

/// A link whose peer holds one session, or has no quorum.
struct HoldingLink {
    answer: Mutex<Option<Result<Option<MovedSession>, ClusterError>>>,
    asked: Mutex<Vec<String>>,
    routes: Mutex<Vec<String>>,
}

impl HoldingLink {
    fn new(answer: Result<Option<MovedSession>, ClusterError>) -> Arc<Self> {
        Arc::new(HoldingLink {
            answer: Mutex::new(Some(answer)),
            asked: Mutex::default(),
            routes: Mutex::default(),
        })
    }
}

#[async_trait]
impl ClusterLink for HoldingLink {
    fn node_name(&self) -> &str {
        "a"
    }

    fn peers(&self) -> Vec<PeerName> {
        vec![PeerName::new("b")]
    }

    fn add_route(&self, filter: &TopicFilter) -> RouteAck {
        let mut routes = self.routes.lock().unwrap_or_else(PoisonError::into_inner);
        routes.push(filter.as_str().to_owned());
        RouteAck::ready()
    }

    fn remove_route(&self, _filter: &TopicFilter) {}

    async fn forward(&self, _: &PeerName, _: Vec<Forwarded>) -> Result<(), ClusterError> {
        Ok(())
    }

    async fn take_over(&self, client_id: &ClientId) -> Result<Option<MovedSession>, ClusterError> {
        let mut asked = self.asked.lock().unwrap_or_else(PoisonError::into_inner);
        asked.push(client_id.as_str().to_owned());
        let mut answer = self.answer.lock().unwrap_or_else(PoisonError::into_inner);
        answer.take().unwrap_or(Ok(None))
    }
}

/// The session node "b" holds for "cid": a subscription to `t/#` at QoS 1 and, if asked, a
/// will with a delay.
fn remote_session(will: bool) -> MovedSession {
    let will = will.then(|| WillMessage {
        message: Message::new(
            TopicName::new("w").unwrap(),
            Bytes::from_static(b"gone"),
            QoS::AtMostOnce,
            false,
            crate::codec::PublishProperties::default(),
            crate::runtime::clock::now(),
        ),
        delay: 600,
    });
    let session = StoredSession {
        client_id: ClientId::new("cid").unwrap(),
        session_expiry: 3_600,
        subscriptions: vec![(
            TopicFilter::new("t/#").unwrap(),
            SubscriptionEntry::new(SubscriptionOptions::qos(QoS::AtLeastOnce), None),
        )],
        outbound: Vec::new(),
        shared_outbound: Vec::new(),
        inbound_qos2: Vec::new(),
        stored_outbound: Vec::new(),
        will,
    };
    MovedSession::new(session, Vec::new())
}

async fn start(link: Arc<HoldingLink>) -> (Broker, TcpStream) {
    let bind = "127.0.0.1:0".parse().unwrap();
    let broker = Broker::builder()
        .no_listeners()
        .listener(crate::config::ListenerConfig::tcp("test", bind))
        .cluster_link(link as Arc<dyn ClusterLink>)
        .start()
        .await
        .unwrap();
    let socket = TcpStream::connect(broker.local_addrs()[0].1).await.unwrap();
    (broker, socket)
}

/// MQTT 3.1.1 CONNECT of client "cid", keep alive 60, clean session as given.
fn connect(clean: bool) -> Vec<u8> {
    let flags = if clean { 0x02 } else { 0x00 };
    let mut packet = b"\x10\x0f\x00\x04MQTT\x04".to_vec();
    packet.extend_from_slice(&[flags, 0x00, 0x3c, 0x00, 0x03]);
    packet.extend_from_slice(b"cid");
    packet
}

/// Reads exactly `n` bytes, or fails after two seconds.
async fn read_exact(socket: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    tokio::time::timeout(Duration::from_secs(2), socket.read_exact(&mut buf))
        .await
        .expect("the broker answered in time")
        .unwrap();
    buf
}

#[tokio::test]
async fn a_session_held_by_another_node_is_resumed_here_mqtt_3_2_2_2() {
    let link = HoldingLink::new(Ok(Some(remote_session(false))));
    let (broker, mut socket) = start(Arc::clone(&link)).await;
    socket.write_all(&connect(false)).await.unwrap();
    // Session Present 1: the session came from node b.
    assert_eq!(read_exact(&mut socket, 4).await, b"\x20\x02\x01\x00");
    assert_eq!(*link.asked.lock().unwrap(), ["cid"]);
    // Its subscription is in this node's router, and announced to the peers.
    assert_eq!(*link.routes.lock().unwrap(), ["t/#"]);
    let handle = broker.handle();
    let topic = TopicName::new("t/1").unwrap();
    let payload = Bytes::from_static(b"hi");
    handle
        .publish(topic, payload, QoS::AtMostOnce, false)
        .await
        .unwrap();
    assert_eq!(read_exact(&mut socket, 9).await, b"\x30\x07\x00\x03t/1hi");
    broker.shutdown().await;
}

#[tokio::test]
async fn a_clean_start_ends_the_remote_session_and_publishes_its_will_mqtt_3_1_2_8() {
    let link = HoldingLink::new(Ok(Some(remote_session(true))));
    let (broker, mut socket) = start(Arc::clone(&link)).await;
    let handle = broker.handle();
    let will_topic = TopicFilter::new("w").unwrap();
    let mut wills = handle.subscribe(will_topic, QoS::AtMostOnce).await.unwrap();
    socket.write_all(&connect(true)).await.unwrap();
    // Session Present 0: the session ended, so its will goes out despite its delay.
    assert_eq!(read_exact(&mut socket, 4).await, b"\x20\x02\x00\x00");
    let will = tokio::time::timeout(Duration::from_secs(2), wills.recv()).await;
    let will = will.ok().flatten().map(|message| message.payload);
    assert_eq!(will, Some(Bytes::from_static(b"gone")));
    // Nothing of the old session stays: its subscription is not in the router.
    assert_eq!(*link.routes.lock().unwrap(), ["w"]);
    broker.shutdown().await;
}

#[tokio::test]
async fn without_quorum_a_new_client_is_refused_as_server_unavailable() {
    let link = HoldingLink::new(Err(ClusterError::NoQuorum));
    let (broker, mut socket) = start(link).await;
    socket.write_all(&connect(false)).await.unwrap();
    // 3.1.1 return code 3: Server unavailable (MQTT 5: 0x88).
    assert_eq!(read_exact(&mut socket, 4).await, b"\x20\x02\x00\x03");
    broker.shutdown().await;
}

#[tokio::test]
async fn an_unreachable_holder_leaves_the_client_a_new_session() {
    let link = HoldingLink::new(Err(ClusterError::PeerUnreachable {
        peer: "b".to_owned(),
        reason: "gone".to_owned(),
    }));
    let (broker, mut socket) = start(link).await;
    socket.write_all(&connect(false)).await.unwrap();
    assert_eq!(read_exact(&mut socket, 4).await, b"\x20\x02\x00\x00");
    broker.shutdown().await;
}
