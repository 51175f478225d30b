//! A store that keeps messages (as the disk store of `skein` does): a persistent session's
//! QoS 1 and 2 copies are in the store before their publisher is answered, acknowledgements
//! keep their order while the store works, and the store forgets a copy once the subscriber
//! has finished with it. A store that cannot take a copy (full) refuses the message: MQTT 5
//! with 0x97, MQTT 3.1.1 by leaving it unacknowledged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use broker_core::codec::{ConnAck, Packet, Publish, QosPid};
use broker_core::types::{ProtocolVersion, QoS, ReasonCode};

// Re-exported: other modules of the binary reach the store from here.
use crate::keeping_store::start_on;
pub(crate) use crate::keeping_store::KeepingStore;
use crate::log_capture::LogCapture;
use crate::support::{pid, topic, Client, V311, V5, WAIT};

/// "keeper" with a persistent session.
async fn persistent(addr: SocketAddr, version: ProtocolVersion) -> (Client, ConnAck) {
    crate::keeping_store::persistent(addr, version, "keeper").await
}

/// [MQTT-4.6.0-2] (3.1.1: PUBACKs in the order the PUBLISH packets came): while the store
/// holds up the copy of the second message, neither its PUBACK nor any later one goes out,
/// though the later messages need no store; once it lets go, the PUBACKs come in order. The
/// persistent subscriber gets the message only once the store has it.
#[tokio::test]
async fn acknowledgements_wait_for_the_store_and_keep_their_order_mqtt_4_6_0_2() {
    let (store, gate) = KeepingStore::new();
    let (broker, addr) = start_on(Arc::clone(&store)).await;
    let (mut keeper, _) = Client::connect(addr, V311, "keeper", false).await;
    keeper.subscribe(1, "kept/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;

    gate.send(false).unwrap();
    for n in 1..=6u16 {
        // Message 2 goes to the persistent subscriber; the others match nobody.
        let to = if n == 2 { "kept/a" } else { "other/a" };
        let mut publish = Publish::new(topic(to), "x".into());
        publish.qos_pid = QosPid::AtLeastOnce(pid(n));
        publisher.send(Packet::Publish(publish)).await;
    }
    match publisher.recv().await {
        Some(Packet::PubAck(ack)) => assert_eq!(ack.packet_id, pid(1)),
        other => panic!("expected the PUBACK of 1, got {other:?}"),
    }
    publisher.expect_nothing().await;
    keeper.expect_nothing().await;

    gate.send(true).unwrap();
    for n in 2..=6u16 {
        match publisher.recv().await {
            Some(Packet::PubAck(ack)) => assert_eq!(ack.packet_id, pid(n), "PUBACK order"),
            other => panic!("expected the PUBACK of {n}, got {other:?}"),
        }
    }
    let got = keeper.recv_publish().await;
    assert_eq!(got.topic.as_ref().map(|t| t.as_str()), Some("kept/a"));
    keeper.disconnect().await;
    publisher.disconnect().await;
    broker.shutdown().await;
}

/// The copy for a persistent subscriber is in the store when the publisher's PUBACK (QoS 1)
/// or PUBREC (QoS 2) arrives, and the store forgets it once the subscriber has finished the
/// exchange (PUBACK; PUBREC, PUBREL, PUBCOMP) [MQTT-4.3.2-*], [MQTT-4.3.3-*].
#[tokio::test]
async fn the_store_has_the_copy_before_the_answer_and_forgets_it_after_the_subscriber() {
    for (qos, version) in [(QoS::AtLeastOnce, V311), (QoS::ExactlyOnce, V5)] {
        let (store, _gate) = KeepingStore::new();
        let (broker, addr) = start_on(Arc::clone(&store)).await;
        let (mut keeper, _) = persistent(addr, version).await;
        keeper.subscribe(1, "kept/#", qos).await;
        keeper.disconnect().await;
        let (mut publisher, _) = Client::connect(addr, version, "pub", true).await;
        publisher.publish_for_ack("kept/a", qos, 7).await;
        // Answered: the copy is in the store already.
        assert_eq!(
            store.queued("keeper").await.len(),
            1,
            "{qos:?}: the PUBACK / PUBREC came before the store had the copy"
        );
        let (mut keeper, ack) = persistent(addr, version).await;
        assert!(ack.session_present);
        let got = keeper.recv_publish().await;
        assert_eq!(got.qos_pid.qos(), qos);
        store.wait_queued("keeper", 0).await;
        keeper.disconnect().await;
        publisher.disconnect().await;
        broker.shutdown().await;
    }
}

/// A store that cannot take a persistent session's copy (full) refuses the message: MQTT 5
/// publishers get PUBACK / PUBREC 0x97 Quota exceeded and stay connected. An MQTT 3.1.1
/// publisher gets no PUBACK (it would say the broker owns the message, [MQTT-4.3.2-2]): its
/// connection is closed, with a log line saying why, so it keeps the PUBLISH unacknowledged
/// ([MQTT-4.3.2-1]). With clean session 0 it sends it again with DUP on its next connection
/// ([MQTT-4.4.0-1]); once the store has room, that copy is acknowledged and the subscriber
/// gets it, and nothing that was refused.
#[tokio::test]
async fn a_message_the_full_store_refuses_is_0x97_in_v5_and_unacknowledged_in_v3_mqtt_4_3_2_1() {
    let logs = LogCapture::global();
    let (store, _gate) = KeepingStore::new();
    let (broker, addr) = start_on(Arc::clone(&store)).await;
    let (mut keeper, _) = persistent(addr, V311).await;
    keeper.subscribe(1, "kept/#", QoS::ExactlyOnce).await;
    keeper.disconnect().await;
    store.set_full(true);

    let (mut v5, _) = Client::connect(addr, V5, "full-pub5", true).await;
    for (qos, id) in [(QoS::AtLeastOnce, 1), (QoS::ExactlyOnce, 2)] {
        let ack = v5.publish_for_ack("kept/a", qos, id).await;
        assert_eq!(ack.code, ReasonCode::QuotaExceeded, "v5 {qos:?}");
    }
    v5.expect_nothing().await;

    let (mut v3, _) = Client::connect(addr, V311, "full-pub3", false).await;
    let mut publish = Publish::new(topic("kept/v3"), "v3".into());
    publish.qos_pid = QosPid::AtLeastOnce(pid(7));
    v3.send(Packet::Publish(publish.clone())).await;
    // Closed at once, not at the connection's next event (its park check, 2 s later).
    let answered = tokio::time::timeout(Duration::from_secs(1), v3.until_closed())
        .await
        .expect("the connection of the refused v3 publisher is closed at once");
    assert!(answered.is_empty(), "a refused v3 PUBLISH got {answered:?}");
    let deadline = tokio::time::Instant::now() + WAIT;
    while !logs.text().lines().any(|line| {
        line.contains("full-pub3") && line.contains("could not be kept (Quota exceeded)")
    }) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no log line says why full-pub3 was disconnected"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    store.set_full(false);
    let (mut v3, ack) = Client::connect(addr, V311, "full-pub3", false).await;
    assert!(ack.session_present);
    publish.dup = true;
    v3.send(Packet::Publish(publish)).await;
    match v3.recv().await {
        Some(Packet::PubAck(ack)) => assert_eq!(ack.packet_id, pid(7)),
        other => panic!("expected the PUBACK of the resent message, got {other:?}"),
    }
    let (mut keeper, ack) = persistent(addr, V311).await;
    assert!(ack.session_present);
    let got = keeper.recv_publish().await;
    assert_eq!(got.topic.as_ref().map(|t| t.as_str()), Some("kept/v3"));
    keeper.expect_nothing().await;
    keeper.disconnect().await;
    v3.disconnect().await;
    v5.disconnect().await;
    broker.shutdown().await;
}
