//! The `disconnect` overflow policy over real sockets: a subscriber that takes nothing while
//! its small queue is full is disconnected once `queue_full_wait` has passed, and the
//! publisher goes on.

use std::num::NonZeroU16;
use std::time::{Duration, Instant};

use broker_core::codec::Packet;
use broker_core::config::BrokerConfig;
use broker_core::session::OverflowPolicy;
use broker_core::types::{ProtocolVersion, QoS, ReasonCode};

use crate::support;
use crate::support::{connect_packet, Client, V311, V5};

const STALL: Duration = Duration::from_millis(100);

/// Queues of 2 messages under the Disconnect policy, one QoS 1 message in flight per 3.x
/// client, and publishers that wait [`STALL`] for a stalled subscriber.
fn config() -> BrokerConfig {
    let mut config = support::config();
    config.queue_full_wait = STALL;
    config.session.queue.max_messages = 2;
    config.session.queue.overflow = OverflowPolicy::Disconnect;
    config.session.max_inflight_v3 = NonZeroU16::MIN;
    config
}

/// A subscriber to `slow/#` at QoS 1 that can hold one message in flight and never
/// acknowledges it; a publisher that sends four QoS 1 messages: one in flight, two queued,
/// the fourth finds the queue full and the subscriber taking nothing. Returns what the
/// subscriber received until the broker closed its connection.
async fn stall(version: ProtocolVersion) -> Vec<Packet> {
    let (broker, addr) = support::start_with(config()).await;
    let mut connect = connect_packet(version, "slow", true);
    connect.properties.receive_maximum = NonZeroU16::new(1);
    let (mut slow, ack) = Client::connect_with(addr, connect).await;
    assert_eq!(ack.code, ReasonCode::Success);
    slow.subscribe(1, "slow/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Client::connect(addr, version, "pub", true).await;
    let started = Instant::now();
    for id in 1..=4 {
        publisher
            .publish("slow/t", "m", QoS::AtLeastOnce, false, id)
            .await;
    }
    // The fourth PUBACK waited for the stalled subscriber, no longer than the stall time
    // (with slack for a loaded machine).
    let waited = started.elapsed();
    assert!(waited >= STALL, "the publisher waited {waited:?}");
    let received = slow.until_closed().await;
    // The publisher is unaffected.
    publisher.ping().await;
    publisher.disconnect().await;
    broker.shutdown().await;
    received
}

// MQTT 5.0 §4.13.2 / reason code 0x97 (Quota exceeded): the server closes a client that
// exceeds a quota, here its queue under `queue_overflow = "disconnect"`, after the
// one PUBLISH it could take.
#[tokio::test]
async fn stalled_v5_subscriber_gets_disconnect_0x97() {
    let received = stall(V5).await;
    match received.as_slice() {
        [Packet::Publish(_), Packet::Disconnect(d)] => {
            assert_eq!(d.code, ReasonCode::QuotaExceeded);
        }
        other => panic!("expected PUBLISH then DISCONNECT 0x97, got {other:?}"),
    }
}

// 3.1.1 has no server DISCONNECT ([MQTT-3.14.0-1] is client to server only): the connection
// is just closed.
#[tokio::test]
async fn stalled_v311_subscriber_is_closed() {
    let received = stall(V311).await;
    match received.as_slice() {
        [Packet::Publish(_)] => {}
        other => panic!("expected one PUBLISH then the close, got {other:?}"),
    }
}
