//! A client's rate limit ([`ClientRate`]): past it, the broker stops reading from the client
//! until its bucket has refilled. Nothing is refused and nothing is lost; the client just
//! goes slower. The tests count what arrives and the listener's `throttled` pauses, never
//! how long anything took.

use std::num::NonZeroU32;

use broker_core::codec::{Packet, Publish, QosPid};
use broker_core::config::{BrokerConfig, ClientRate};
use broker_core::types::{ProtocolVersion, QoS, ReasonCode};
use broker_core::Broker;
use bytes::BytesMut;
use tokio::io::AsyncWriteExt;
use tokio::time::timeout;

use crate::support::{
    config, connect_packet, filter, pid, start_with, topic, Client, V311, V5, WAIT,
};

/// A configuration whose listener limits each client to `rate`.
fn limited(rate: ClientRate) -> BrokerConfig {
    let mut config = config();
    config.listeners[0].client_rate = rate;
    config
}

fn messages(per_second: u32) -> ClientRate {
    ClientRate::new(NonZeroU32::new(per_second), None)
}

/// `count` PUBLISH packets to `rate/N` with payload `N` as 4 bytes (QoS 1 with packet
/// identifiers from 1, or QoS 0), encoded for `version` as one buffer.
fn burst(version: ProtocolVersion, count: u16, qos: QoS, payload_len: usize) -> BytesMut {
    let mut bytes = BytesMut::new();
    for n in 0..count {
        let mut payload = u32::from(n).to_be_bytes().to_vec();
        payload.resize(payload_len.max(4), 0);
        let mut publish = Publish::new(topic(&format!("rate/{n}")), payload.into());
        if qos == QoS::AtLeastOnce {
            publish.qos_pid = QosPid::AtLeastOnce(pid(n + 1));
        }
        Packet::Publish(publish)
            .encode(version, &mut bytes)
            .unwrap();
    }
    bytes
}

fn throttled(broker: &Broker) -> u64 {
    broker.handle().listener_stats()[0].throttled
}

/// An MQTT 3.1.1 client that publishes three times its per-second rate at once: every
/// message arrives, in order, and is acknowledged; the broker paused its reads to do it.
#[tokio::test]
async fn a_v3_client_past_its_message_rate_is_slowed_down_and_loses_nothing() {
    let (broker, addr) = start_with(limited(messages(100))).await;
    let mut sub = broker
        .handle()
        .subscribe(filter("rate/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let (mut client, _) = Client::connect(addr, V311, "fast", true).await;
    let bytes = burst(V311, 300, QoS::AtLeastOnce, 4);
    client.raw().write_all(&bytes).await.unwrap();
    for n in 0..300u32 {
        let message = timeout(WAIT, sub.recv())
            .await
            .unwrap_or_else(|_| panic!("message {n} never came"))
            .unwrap();
        assert_eq!(
            &message.payload[..4],
            n.to_be_bytes(),
            "in order, none lost"
        );
    }
    let mut acked = 0;
    while acked < 300 {
        match client.recv().await {
            Some(Packet::PubAck(_)) => acked += 1,
            other => panic!("expected PUBACK {acked}, got {other:?}"),
        }
    }
    assert!(throttled(&broker) >= 1, "the broker paused its reads");
    broker.shutdown().await;
}

/// The same burst on a listener without a limit is never paused: a client without a rate
/// costs nothing of it.
#[tokio::test]
async fn a_client_without_a_rate_is_never_paused() {
    let (broker, addr) = start_with(config()).await;
    let (mut client, _) = Client::connect(addr, V311, "free", true).await;
    client
        .raw()
        .write_all(&burst(V311, 300, QoS::AtLeastOnce, 4))
        .await
        .unwrap();
    for acked in 0..300 {
        assert!(
            matches!(client.recv().await, Some(Packet::PubAck(_))),
            "PUBACK {acked}"
        );
    }
    assert_eq!(throttled(&broker), 0);
    broker.shutdown().await;
}

/// An MQTT 5 client past its byte rate is not disconnected (no DISCONNECT 0x96 Message rate
/// too high) and gets no refusing PUBACK (0x97 Quota exceeded): the broker reads on once
/// the bucket has refilled, and every message arrives.
#[tokio::test]
async fn a_v5_client_past_its_byte_rate_is_paused_not_refused() {
    let rate = ClientRate::new(None, NonZeroU32::new(16 * 1024));
    let (broker, addr) = start_with(limited(rate)).await;
    let mut sub = broker
        .handle()
        .subscribe(filter("rate/#"), QoS::AtMostOnce)
        .await
        .unwrap();
    let (mut client, _) = Client::connect(addr, V5, "bulky", true).await;
    // Five 8 KiB messages: 40 KiB at 16 KiB a second.
    let bytes = burst(V5, 5, QoS::AtLeastOnce, 8 * 1024);
    client.raw().write_all(&bytes).await.unwrap();
    for n in 0..5u32 {
        let message = timeout(WAIT, sub.recv()).await.unwrap().unwrap();
        assert_eq!(&message.payload[..4], n.to_be_bytes());
    }
    for _ in 0..5 {
        match client.recv().await {
            Some(Packet::PubAck(ack)) => assert_eq!(ack.code, ReasonCode::Success, "{ack:?}"),
            other => panic!("expected PUBACK, got {other:?}"),
        }
    }
    client.ping().await;
    assert!(throttled(&broker) >= 1);
    broker.shutdown().await;
}

/// [MQTT-3.1.2-22]: the Keep Alive is about a client that sends nothing. A client the broker
/// keeps waiting longer than one and a half times its Keep Alive is not timed out: its
/// messages were sent, the broker was not reading them.
#[tokio::test]
async fn a_paused_client_is_not_timed_out_by_its_keep_alive_mqtt_3_1_2_22() {
    let (broker, addr) = start_with(limited(messages(2))).await;
    let mut sub = broker
        .handle()
        .subscribe(filter("rate/#"), QoS::AtMostOnce)
        .await
        .unwrap();
    let mut connect = connect_packet(V5, "patient", true);
    connect.keep_alive = 1;
    let (mut client, _) = Client::connect_with(addr, connect).await;
    // Six messages at two a second: four in debt, two seconds without reading, longer
    // than the 1.5 s the Keep Alive of 1 allows.
    client
        .raw()
        .write_all(&burst(V5, 6, QoS::AtMostOnce, 4))
        .await
        .unwrap();
    for n in 0..6u32 {
        let message = timeout(WAIT, sub.recv())
            .await
            .unwrap_or_else(|_| panic!("message {n} never came"))
            .unwrap();
        assert_eq!(&message.payload[..4], n.to_be_bytes());
    }
    client.ping().await;
    assert!(throttled(&broker) >= 1);
    broker.shutdown().await;
}
