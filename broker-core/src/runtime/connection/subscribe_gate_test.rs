//! A publish that matched nobody while another connection was carrying out a SUBSCRIBE is
//! matched again once that SUBSCRIBE's filters are in the router (issue 17: client B sends
//! SUBSCRIBE, client A publishes to the topic at once; MQTT orders nothing across
//! connections, but users expect the message to arrive). The test holds a ticket itself, as
//! a SUBSCRIBE carried out on another worker would, so that the order is certain.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::broker::Broker;
use crate::config::ListenerConfig;
use crate::runtime::state::shared::Shared;

async fn start() -> (Broker, Arc<Shared>) {
    let bind = "127.0.0.1:0".parse().unwrap();
    let broker = Broker::builder()
        .no_listeners()
        .listener(ListenerConfig::tcp("test", bind))
        .start()
        .await
        .unwrap();
    let shared = Arc::clone(broker.handle().shared());
    (broker, shared)
}

/// Reads exactly `n` bytes, or fails after five seconds.
async fn read_exact(socket: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut buf = vec![0; n];
    tokio::time::timeout(Duration::from_secs(5), socket.read_exact(&mut buf))
        .await
        .expect("the broker answered in time")
        .unwrap();
    buf
}

/// A connected MQTT 3.1.1 client with the one-letter client identifier `id`.
async fn client(broker: &Broker, id: u8) -> TcpStream {
    let mut socket = TcpStream::connect(broker.local_addrs()[0].1).await.unwrap();
    let mut connect = b"\x10\x0d\x00\x04MQTT\x04\x02\x00\x3c\x00\x01".to_vec();
    connect.push(id);
    socket.write_all(&connect).await.unwrap();
    assert_eq!(read_exact(&mut socket, 4).await, b"\x20\x02\x00\x00");
    socket
}

/// Waits until `waited` publishes have waited at the gate.
async fn until_waited(shared: &Shared, waited: u64) {
    let waiting = async {
        while shared.subscribe_gate().waited() < waited {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("the publish waited at the gate");
}

/// QoS 1 PUBLISH of "hi" to topic "t", packet identifier 1.
const PUBLISH_T: &[u8] = b"\x32\x07\x00\x01t\x00\x01hi";
/// SUBSCRIBE to "t" at QoS 0, packet identifier 1.
const SUBSCRIBE_T: &[u8] = b"\x82\x06\x00\x01\x00\x01t\x00";

#[tokio::test]
async fn a_publish_that_matched_nobody_waits_for_a_subscribe_being_carried_out() {
    let (broker, shared) = start().await;
    shared.subscribe_gate().set_limit(Duration::from_secs(60));
    let mut publisher = client(&broker, b'a').await;
    let mut subscriber = client(&broker, b'b').await;
    // Another connection's SUBSCRIBE, read before this PUBLISH and not in the router yet.
    let ticket = shared.subscribe_gate().begin();
    publisher.write_all(PUBLISH_T).await.unwrap();
    until_waited(&shared, 1).await;
    subscriber.write_all(SUBSCRIBE_T).await.unwrap();
    assert_eq!(
        read_exact(&mut subscriber, 5).await,
        b"\x90\x03\x00\x01\x00"
    );
    drop(ticket);
    // Matched again once the filter was in: the subscriber gets it (at its QoS 0), and the
    // PUBACK follows the routing.
    assert_eq!(read_exact(&mut subscriber, 7).await, b"\x30\x05\x00\x01thi");
    assert_eq!(read_exact(&mut publisher, 4).await, b"\x40\x02\x00\x01");
    assert_eq!(broker.handle().stats().publishes_held_for_subscribe, 1);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_publish_with_a_subscriber_or_no_subscribe_under_way_does_not_wait() {
    let (broker, shared) = start().await;
    shared.subscribe_gate().set_limit(Duration::from_secs(60));
    let mut publisher = client(&broker, b'a').await;
    let mut subscriber = client(&broker, b'b').await;
    // No SUBSCRIBE under way: a message for nobody is acknowledged at once.
    publisher.write_all(PUBLISH_T).await.unwrap();
    assert_eq!(read_exact(&mut publisher, 4).await, b"\x40\x02\x00\x01");
    subscriber.write_all(SUBSCRIBE_T).await.unwrap();
    assert_eq!(
        read_exact(&mut subscriber, 5).await,
        b"\x90\x03\x00\x01\x00"
    );
    // A SUBSCRIBE under way elsewhere does not hold back a message that has a subscriber.
    let _ticket = shared.subscribe_gate().begin();
    publisher.write_all(PUBLISH_T).await.unwrap();
    assert_eq!(read_exact(&mut subscriber, 7).await, b"\x30\x05\x00\x01thi");
    assert_eq!(read_exact(&mut publisher, 4).await, b"\x40\x02\x00\x01");
    assert_eq!(shared.subscribe_gate().waited(), 0);
    broker.shutdown().await;
}
