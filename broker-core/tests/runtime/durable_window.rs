//! A persistent session's queue past the window it holds in memory (256 messages), its client
//! away or connected and behind: the copies behind the window stay in the store only, and come back, in
//! order, as the client takes the ones before them ([MQTT-4.6.0-6]); a copy the store no
//! longer has is counted as dropped (`not_in_store`), not waited for.

use std::net::SocketAddr;
use std::sync::Arc;

use broker_core::codec::{Packet, Publish, QosPid};
use broker_core::types::QoS;

use crate::keeping_store::{persistent, start_on, KeepingStore};
use crate::support::{pid, topic, Client, V311};

/// Publishes `count` QoS 1 messages to `t`, each with its number as payload, one at a time.
async fn publish_numbered(addr: SocketAddr, t: &str, count: u16) {
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    for n in 1..=count {
        let mut publish = Publish::new(topic(t), n.to_string().into_bytes().into());
        publish.qos_pid = QosPid::AtLeastOnce(pid(n));
        publisher.send(Packet::Publish(publish)).await;
        match publisher.recv().await {
            Some(Packet::PubAck(ack)) => assert_eq!(ack.packet_id, pid(n)),
            other => panic!("expected the PUBACK of {n}, got {other:?}"),
        }
    }
    publisher.disconnect().await;
}

/// The next message's number.
async fn next_number(client: &mut Client) -> u16 {
    let publish = client.recv_publish().await;
    std::str::from_utf8(&publish.payload)
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn messages_past_the_window_come_back_from_the_store_in_order_mqtt_4_6_0_6() {
    let (store, _gate) = KeepingStore::new();
    let (broker, addr) = start_on(Arc::clone(&store)).await;
    let (mut keeper, _) = persistent(addr, V311, "keeper").await;
    keeper.subscribe(1, "kept/#", QoS::AtLeastOnce).await;
    keeper.disconnect().await;
    publish_numbered(addr, "kept/a", 600).await;

    let (mut keeper, ack) = persistent(addr, V311, "keeper").await;
    assert!(ack.session_present);
    for n in 1..=600 {
        assert_eq!(next_number(&mut keeper).await, n);
    }
    keeper.expect_nothing().await;
    store.wait_queued("keeper", 0).await;
    assert_eq!(broker.handle().stats().dropped.not_in_store, 0);
    keeper.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn a_copy_the_store_lost_is_counted_and_the_rest_come_in_order() {
    let (store, _gate) = KeepingStore::new();
    let (broker, addr) = start_on(Arc::clone(&store)).await;
    let (mut keeper, _) = persistent(addr, V311, "keeper").await;
    keeper.subscribe(1, "kept/#", QoS::AtLeastOnce).await;
    keeper.disconnect().await;
    publish_numbered(addr, "kept/a", 300).await;
    // The store loses messages 291 to 300: past the window, the queue kept only their
    // numbers.
    let queued = store.queued("keeper").await;
    assert_eq!(queued.len(), 300);
    let lost: Vec<u64> = queued.iter().skip(290).map(|(seq, _)| *seq).collect();
    store.lose("keeper", &lost).await;

    let (mut keeper, _) = persistent(addr, V311, "keeper").await;
    for n in 1..=290 {
        assert_eq!(next_number(&mut keeper).await, n);
    }
    keeper.expect_nothing().await;
    assert_eq!(broker.handle().stats().dropped.not_in_store, 10);
    keeper.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn a_connected_clients_backlog_past_the_window_waits_in_the_store_mqtt_4_6_0_6() {
    let (store, _gate) = KeepingStore::new();
    let (broker, addr) = start_on(Arc::clone(&store)).await;
    let (mut keeper, _) = persistent(addr, V311, "keeper").await;
    keeper.subscribe(1, "kept/#", QoS::AtLeastOnce).await;
    // Connected, but acknowledging nothing yet: 100 messages go out (the in-flight window of
    // a 3.1.1 session), 256 wait in memory, the rest in the store only.
    publish_numbered(addr, "kept/a", 600).await;
    let queued = store.queued("keeper").await;
    assert_eq!(queued.len(), 600);
    // The store loses the last ten: only a copy that waits in the store only can miss them.
    let lost: Vec<u64> = queued.iter().skip(590).map(|(seq, _)| *seq).collect();
    store.lose("keeper", &lost).await;
    for n in 1..=590 {
        assert_eq!(next_number(&mut keeper).await, n);
    }
    keeper.expect_nothing().await;
    assert_eq!(broker.handle().stats().dropped.not_in_store, 10);
    store.wait_queued("keeper", 0).await;
    keeper.disconnect().await;
    broker.shutdown().await;
}
