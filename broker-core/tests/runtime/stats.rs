//! The broker's figures after known traffic: `BrokerHandle::stats()` counts packets, bytes
//! and PUBLISH packets exactly, and the `$SYS/broker/...` topics report them, retained, to
//! `$SYS` subscribers only ([MQTT-4.7.2-1]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use broker_core::codec::{
    Ack, Packet, Publish, QosPid, Subscribe, SubscribeProperties, Subscription, SubscriptionOptions,
};
use broker_core::types::{ProtocolVersion, QoS, ReasonCode};
use broker_core::{Broker, BrokerStats, PerQos};
use bytes::BytesMut;

use crate::support::*;

/// The encoded size of `packet`.
fn size(packet: &Packet, version: ProtocolVersion) -> u64 {
    let mut buf = BytesMut::new();
    packet.encode(version, &mut buf).unwrap();
    buf.len() as u64
}

/// Sends `packet` and adds its size to `bytes`.
async fn send(client: &mut Client, packet: Packet, bytes: &mut u64) {
    *bytes += size(&packet, client.version);
    client.send(packet).await;
}

/// Receives one packet and adds its size to `bytes`.
async fn recv(client: &mut Client, bytes: &mut u64) -> Packet {
    let packet = client.recv().await.expect("a packet");
    *bytes += size(&packet, client.version);
    packet
}

fn publish(topic_name: &str, payload: &'static [u8], qos_pid: QosPid) -> Packet {
    let mut publish = Publish::new(topic(topic_name), payload.into());
    publish.qos_pid = qos_pid;
    Packet::Publish(publish)
}

/// The stats once `done` holds for them (bounded wait).
async fn stats_when(broker: &Broker, done: impl Fn(&BrokerStats) -> bool) -> BrokerStats {
    let deadline = Instant::now() + WAIT;
    loop {
        let stats = broker.handle().stats();
        if done(&stats) || Instant::now() > deadline {
            return stats;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn stats_count_packets_bytes_and_publishes_exactly() {
    let (broker, addr) = start().await;
    let (mut sent_by_clients, mut received_by_clients) = (0u64, 0u64);

    let mut sub = Client::open(addr, V311).await;
    let connect = Packet::Connect(Box::new(connect_packet(V311, "sub", true)));
    send(&mut sub, connect, &mut sent_by_clients).await;
    assert!(matches!(
        recv(&mut sub, &mut received_by_clients).await,
        Packet::ConnAck(_)
    ));
    let subscribe = Packet::Subscribe(Subscribe {
        packet_id: pid(1),
        subscriptions: vec![Subscription {
            filter: filter("t/#"),
            options: SubscriptionOptions::qos(QoS::AtLeastOnce),
        }],
        properties: SubscribeProperties::default(),
    });
    send(&mut sub, subscribe, &mut sent_by_clients).await;
    assert!(matches!(
        recv(&mut sub, &mut received_by_clients).await,
        Packet::SubAck(_)
    ));

    let mut publisher = Client::open(addr, V5).await;
    let connect = Packet::Connect(Box::new(connect_packet(V5, "pub", true)));
    send(&mut publisher, connect, &mut sent_by_clients).await;
    assert!(matches!(
        recv(&mut publisher, &mut received_by_clients).await,
        Packet::ConnAck(_)
    ));
    for n in 1..=3 {
        let packet = publish("t/1", b"hello", QosPid::AtLeastOnce(pid(n)));
        send(&mut publisher, packet, &mut sent_by_clients).await;
        assert!(matches!(
            recv(&mut publisher, &mut received_by_clients).await,
            Packet::PubAck(_)
        ));
    }
    for _ in 0..2 {
        let packet = publish("t/2", b"xy", QosPid::AtMostOnce);
        send(&mut publisher, packet, &mut sent_by_clients).await;
    }
    for _ in 0..5 {
        match recv(&mut sub, &mut received_by_clients).await {
            Packet::Publish(message) => {
                if let QosPid::AtLeastOnce(id) = message.qos_pid {
                    let ack = Packet::PubAck(Ack::new(id));
                    send(&mut sub, ack, &mut sent_by_clients).await;
                }
            }
            other => panic!("expected PUBLISH, got {other:?}"),
        }
    }

    // sub: CONNECT, SUBSCRIBE, 3 PUBACK; pub: CONNECT, 5 PUBLISH.
    let stats = stats_when(&broker, |s| s.packets_received == 11).await;
    assert_eq!(stats.packets_received, 11);
    // sub: CONNACK, SUBACK, 5 PUBLISH; pub: CONNACK, 3 PUBACK.
    assert_eq!(stats.packets_sent, 11);
    assert_eq!(stats.bytes_received, sent_by_clients);
    assert_eq!(stats.bytes_sent, received_by_clients);
    let expected = PerQos {
        qos0: 2,
        qos1: 3,
        qos2: 0,
    };
    assert_eq!(stats.publish_received, expected);
    assert_eq!(stats.publish_sent, expected);
    let bytes = PerQos {
        qos0: 2 * 2,
        qos1: 3 * 5,
        qos2: 0,
    };
    assert_eq!(stats.publish_bytes_received, bytes);
    assert_eq!(stats.publish_bytes_sent, bytes);
    assert_eq!(stats.messages_received(), 5);
    assert_eq!(stats.connections_accepted, 2);
    assert_eq!(stats.clients_connected, 2);
    assert_eq!(stats.clients_maximum, 2);
    assert_eq!(stats.subscriptions, 1);
    assert_eq!(stats.messages_dropped(), 0);

    publisher.disconnect().await;
    let stats = stats_when(&broker, |s| s.clients_connected == 1).await;
    assert_eq!(stats.clients_connected, 1);
    assert_eq!(stats.clients_maximum, 2);
    broker.shutdown().await;
}

/// Reads `$SYS` messages until every `(topic, value)` of `wanted` was the topic's latest
/// value (bounded); returns the latest values.
async fn sys_values_until(client: &mut Client, wanted: &[(&str, &str)]) -> HashMap<String, String> {
    let deadline = Instant::now() + WAIT;
    let mut latest = HashMap::new();
    while Instant::now() < deadline {
        let done = wanted
            .iter()
            .all(|(t, v)| latest.get(*t).map(String::as_str) == Some(*v));
        if done {
            return latest;
        }
        let message = client.recv_publish().await;
        let name = message
            .topic
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        latest.insert(name, String::from_utf8_lossy(&message.payload).into_owned());
    }
    panic!("never saw {wanted:?}; latest {latest:?}");
}

#[tokio::test]
async fn sys_topics_report_known_activity_to_sys_subscribers_only_mqtt_4_7_2_1() {
    let mut config = config();
    config.sys_interval = Some(Duration::from_millis(100));
    let (broker, addr) = start_with(config).await;

    let (mut everything, _) = Client::connect(addr, V311, "hash", true).await;
    everything.subscribe(1, "#", QoS::AtMostOnce).await;
    let (mut sys, _) = Client::connect(addr, V311, "sys", true).await;
    sys.subscribe(1, "$SYS/broker/#", QoS::AtMostOnce).await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    for _ in 0..4 {
        publisher
            .publish("a/b", "data", QoS::AtMostOnce, false, 0)
            .await;
    }
    let latest = sys_values_until(
        &mut sys,
        &[
            ("$SYS/broker/publish/messages/received", "4"),
            ("$SYS/broker/publish/bytes/received", "16"),
            ("$SYS/broker/clients/connected", "3"),
            ("$SYS/broker/subscriptions/count", "2"),
        ],
    )
    .await;
    assert!(latest.contains_key("$SYS/broker/uptime"), "{latest:?}");

    // `#` got the four messages and no `$SYS` message ([MQTT-4.7.2-1]).
    for _ in 0..4 {
        let message = everything.recv_publish().await;
        assert_eq!(message.topic, Some(topic("a/b")));
    }
    tokio::time::sleep(Duration::from_millis(250)).await;
    everything.expect_nothing().await;

    // The values are retained: a late subscriber gets them at once.
    let (mut late, _) = Client::connect(addr, V5, "late", true).await;
    late.subscribe(1, "$SYS/broker/version", QoS::AtMostOnce)
        .await;
    let version = late.recv_publish().await;
    assert!(version.retain);
    let text = String::from_utf8_lossy(&version.payload).into_owned();
    assert!(text.starts_with("skein version "), "{text}");
    broker.shutdown().await;
}

#[tokio::test]
async fn no_sys_topics_when_the_interval_is_off() {
    let mut config = config();
    config.sys_interval = None;
    let (broker, addr) = start_with(config).await;
    let (mut sys, _) = Client::connect(addr, V311, "sys", true).await;
    sys.subscribe(1, "$SYS/#", QoS::AtMostOnce).await;
    sys.expect_nothing().await;
    assert_eq!(broker.handle().stats().retained_messages, 0);
    broker.shutdown().await;
}

#[tokio::test]
async fn clients_may_not_publish_to_sys_topics() {
    let mut config = config();
    config.sys_interval = Some(Duration::from_millis(50));
    let (broker, addr) = start_with(config).await;
    let (mut watcher, _) = Client::connect(addr, V311, "watcher", true).await;
    watcher
        .subscribe(1, "$SYS/broker/version", QoS::AtMostOnce)
        .await;
    let version = watcher.recv_publish().await;
    assert!(version.retain);

    // MQTT 5: refused with 0x87 Not authorized.
    let (mut v5, _) = Client::connect(addr, V5, "spoof5", true).await;
    let mut spoof = Publish::new(topic("$SYS/broker/version"), "fake".into());
    spoof.qos_pid = QosPid::AtLeastOnce(pid(1));
    spoof.retain = true;
    v5.send(Packet::Publish(spoof)).await;
    match v5.recv().await {
        Some(Packet::PubAck(ack)) => assert_eq!(ack.code, ReasonCode::NotAuthorized),
        other => panic!("expected PUBACK, got {other:?}"),
    }
    // MQTT 3.1.1: acknowledged as usual, and dropped.
    let (mut v3, _) = Client::connect(addr, V311, "spoof3", true).await;
    v3.publish("$SYS/broker/version", "fake", QoS::AtLeastOnce, true, 1)
        .await;
    v3.publish("$SYS", "fake", QoS::AtLeastOnce, false, 2).await;
    watcher.expect_nothing().await;

    // The retained value is still the broker's.
    let (mut late, _) = Client::connect(addr, V311, "late", true).await;
    late.subscribe(1, "$SYS/broker/version", QoS::AtMostOnce)
        .await;
    assert_eq!(late.recv_publish().await.payload, version.payload);
    assert_eq!(broker.handle().stats().dropped.not_authorized, 3);
    broker.shutdown().await;
}
