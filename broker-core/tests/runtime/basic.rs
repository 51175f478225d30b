//! The runtime over real sockets: CONNECT/CONNACK, QoS 0/1/2 round trips, retained messages.

use broker_core::codec::Packet;
use broker_core::types::{QoS, ReasonCode};

use crate::support;
use crate::support::{Client, V311, V5};

#[tokio::test]
async fn connack_for_3_1_1_and_5() {
    let (broker, addr) = support::start().await;
    let (c311, ack) = Client::connect(addr, V311, "c311", true).await;
    assert!(!ack.session_present);
    let (c5, ack) = Client::connect(addr, V5, "c5", true).await;
    assert!(!ack.session_present);
    c311.disconnect().await;
    c5.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn ping_is_answered() {
    let (broker, addr) = support::start().await;
    let (mut client, _) = Client::connect(addr, V311, "pinger", true).await;
    client.ping().await;
    client.disconnect().await;
    broker.shutdown().await;
}

async fn round_trip(version: broker_core::types::ProtocolVersion, qos: QoS) {
    let (broker, addr) = support::start().await;
    let (mut sub, _) = Client::connect(addr, version, "sub", true).await;
    let ack = sub.subscribe(1, "a/+", QoS::ExactlyOnce).await;
    assert_eq!(ack.codes.len(), 1);
    let (mut publisher, _) = Client::connect(addr, version, "pub", true).await;
    for (i, payload) in ["one", "two", "three"].into_iter().enumerate() {
        publisher
            .publish("a/b", payload, qos, false, 10 + i as u16)
            .await;
    }
    for payload in ["one", "two", "three"] {
        let got = sub.recv_publish().await;
        assert_eq!(got.topic.as_ref().map(|t| t.as_str()), Some("a/b"));
        assert_eq!(&got.payload[..], payload.as_bytes());
        assert_eq!(got.qos_pid.qos(), qos);
        assert!(!got.retain);
    }
    sub.expect_nothing().await;
    publisher.disconnect().await;
    sub.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn qos0_round_trip() {
    round_trip(V311, QoS::AtMostOnce).await;
}

#[tokio::test]
async fn qos1_round_trip() {
    round_trip(V311, QoS::AtLeastOnce).await;
}

#[tokio::test]
async fn qos2_round_trip() {
    round_trip(V311, QoS::ExactlyOnce).await;
}

#[tokio::test]
async fn qos2_round_trip_v5() {
    round_trip(V5, QoS::ExactlyOnce).await;
}

#[tokio::test]
async fn qos_is_downgraded_to_the_granted_one() {
    let (broker, addr) = support::start().await;
    let (mut sub, _) = Client::connect(addr, V311, "sub", true).await;
    sub.subscribe(1, "t", QoS::AtMostOnce).await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("t", "x", QoS::ExactlyOnce, false, 7)
        .await;
    let got = sub.recv_publish().await;
    assert_eq!(got.qos_pid.qos(), QoS::AtMostOnce);
    broker.shutdown().await;
}

#[tokio::test]
async fn retained_message_delivered_on_subscribe_then_deleted_by_empty_payload() {
    let (broker, addr) = support::start().await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("r/1", "kept", QoS::AtLeastOnce, true, 1)
        .await;

    let (mut sub, _) = Client::connect(addr, V311, "sub1", true).await;
    sub.subscribe(1, "r/#", QoS::AtLeastOnce).await;
    let got = sub.recv_publish().await;
    assert_eq!(&got.payload[..], b"kept");
    assert!(
        got.retain,
        "a retained message sent on subscribe has RETAIN set"
    );
    sub.disconnect().await;

    // An empty retained payload deletes it; current subscribers still get it.
    publisher
        .publish("r/1", "", QoS::AtLeastOnce, true, 2)
        .await;
    let (mut sub, _) = Client::connect(addr, V311, "sub2", true).await;
    sub.subscribe(1, "r/#", QoS::AtLeastOnce).await;
    sub.expect_nothing().await;
    sub.disconnect().await;
    publisher.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn garbage_gets_the_connection_closed() {
    let (broker, addr) = support::start().await;
    let (mut client, _) = Client::connect(addr, V5, "bad", true).await;
    // A PUBLISH with QoS 3 is malformed: v5 gets DISCONNECT 0x81, then the close.
    use tokio::io::AsyncWriteExt;
    let _ = client_stream_write(&mut client, &[0x36, 0x00]).await;
    let packets = client.until_closed().await;
    match packets.as_slice() {
        [Packet::Disconnect(d)] => assert_eq!(d.code, ReasonCode::MalformedPacket),
        other => panic!("expected DISCONNECT 0x81, got {other:?}"),
    }
    broker.shutdown().await;

    async fn client_stream_write(client: &mut Client, bytes: &[u8]) -> std::io::Result<()> {
        client.raw().write_all(bytes).await
    }
}

#[tokio::test]
async fn a_packet_only_a_server_sends_is_a_protocol_error_from_its_first_byte_mqtt_5_0_sec_2_1_2() {
    use tokio::io::AsyncWriteExt;
    // SUBACK, CONNACK, UNSUBACK and PINGRESP flow from server to client only: refused from the
    // fixed header with 0x82, even when the body would not parse (here a SUBACK claiming
    // 1,000 bytes, of which two are sent).
    for first in [0x90u8, 0x20, 0xb0, 0xd0] {
        let (broker, addr) = support::start().await;
        let (mut client, _) = Client::connect(addr, V5, "server-only", true).await;
        client
            .raw()
            .write_all(&[first, 0xe8, 0x07, 0x00, 0x01])
            .await
            .unwrap();
        let packets = client.until_closed().await;
        match packets.as_slice() {
            [Packet::Disconnect(d)] => assert_eq!(d.code, ReasonCode::ProtocolError, "{first:#x}"),
            other => panic!("{first:#x}: expected DISCONNECT 0x82, got {other:?}"),
        }
        broker.shutdown().await;
    }
}

#[tokio::test]
async fn a_subscriber_that_never_reads_slows_nobody_and_its_queue_stays_bounded() {
    // Default queue bounds: 1000 messages.
    let (broker, addr) = support::start().await;
    let (mut stalled, _) = Client::connect(addr, V311, "stalled", true).await;
    stalled.subscribe(1, "flood", QoS::AtLeastOnce).await;
    let (mut fast, _) = Client::connect(addr, V311, "fast", true).await;
    fast.subscribe(1, "flood", QoS::AtMostOnce).await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    // 16 MiB through a subscriber that reads nothing: more than the socket buffers hold.
    // QoS 1, so the publisher goes at the pace of its acknowledgements.
    const N: usize = 4 * 1024;
    let payload: &'static str = Box::leak("x".repeat(4 * 1024).into_boxed_str());
    let reader = tokio::spawn(async move {
        let mut got = 0usize;
        while let Ok(Some(packet)) = fast.recv_within(support::WAIT).await {
            if matches!(packet, Packet::Publish(_)) {
                got += 1;
            }
            if got == N {
                break;
            }
        }
        got
    });
    for _ in 0..16 * 1024 {
        publisher
            .publish("flood", payload, QoS::AtMostOnce, false, 0)
            .await;
    }
    publisher.ping().await;
    let got = tokio::time::timeout(support::WAIT * 4, reader)
        .await
        .expect("the fast subscriber kept up")
        .unwrap();
    assert_eq!(got, N, "the fast subscriber lost nothing");
    assert!(broker.handle().stats().messages_dropped() > 0);
    stalled.raw().set_nodelay(true).unwrap();
    broker.shutdown().await;
}
