//! Idle connections parked without a task of their own, and everything that resumes them:
//! a packet, a message, a takeover, an admin request, the Keep Alive deadline, the client
//! closing, the broker shutting down. A parked connection must behave exactly as one that never parked.

use std::time::Duration;

use broker_core::admin::Disconnection;
use broker_core::codec::{Connect, Packet, Will, WillProperties};
use broker_core::types::{ClientId, QoS, ReasonCode};
use broker_core::{Broker, BrokerStats};

use crate::support;
use crate::support::{connect_packet, topic, Client, V311, V5, WAIT};

/// The park delay of these tests.
const PARK: Duration = Duration::from_millis(100);

async fn start() -> (Broker, std::net::SocketAddr) {
    let mut config = support::config();
    config.park_idle_after = Some(PARK);
    support::start_with(config).await
}

/// Waits (bounded) until `parked` connections are parked.
async fn parked(broker: &Broker, parked: usize) -> BrokerStats {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let stats = broker.handle().stats();
        if stats.clients_parked == parked {
            return stats;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{} parked, expected {parked}",
            stats.clients_parked
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn with_will(mut connect: Connect, t: &str) -> Connect {
    connect.will = Some(Will {
        topic: topic(t),
        payload: "gone".into(),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties::default(),
    });
    connect
}

#[tokio::test]
async fn an_idle_client_parks_and_answers_a_ping_when_it_comes() {
    let (broker, addr) = start().await;
    let (mut client, _) = Client::connect(addr, V311, "idle", true).await;
    let stats = parked(&broker, 1).await;
    assert_eq!(stats.clients_connected, 1);
    // [MQTT-3.12.4-1]: the PINGREQ of a parked connection is answered.
    client.ping().await;
    // It parks again after the next idle period.
    parked(&broker, 1).await;
    client.ping().await;
    client.disconnect().await;
    parked(&broker, 0).await;
}

#[tokio::test]
async fn a_parked_subscriber_receives_messages_at_every_qos() {
    let (broker, addr) = start().await;
    let (mut sub, _) = Client::connect(addr, V5, "sub", true).await;
    sub.subscribe(1, "t/#", QoS::ExactlyOnce).await;
    parked(&broker, 1).await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    for (n, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .enumerate()
    {
        // Both park between the messages.
        parked(&broker, 2).await;
        publisher.publish("t/x", "hello", qos, false, 1).await;
        let received = sub.recv_publish().await;
        assert_eq!(received.payload.as_ref(), b"hello", "message {n}");
        assert_eq!(received.qos_pid.qos(), qos);
    }
    // In-process publishes reach a parked subscriber too.
    parked(&broker, 2).await;
    broker
        .handle()
        .publish(topic("t/local"), "local".into(), QoS::AtLeastOnce, false)
        .await
        .unwrap();
    assert_eq!(sub.recv_publish().await.payload.as_ref(), b"local");
}

#[tokio::test]
async fn a_parked_publisher_publishes_and_gets_its_acknowledgement() {
    let (broker, addr) = start().await;
    let (mut sub, _) = Client::connect(addr, V311, "sub", true).await;
    sub.subscribe(1, "p", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Client::connect(addr, V5, "pub", true).await;
    parked(&broker, 2).await;
    publisher
        .publish("p", "after parking", QoS::AtLeastOnce, false, 7)
        .await;
    assert_eq!(sub.recv_publish().await.payload.as_ref(), b"after parking");
}

#[tokio::test]
async fn a_parked_client_is_taken_over_and_its_session_moves() {
    // [MQTT-3.1.4-3]: the server closes the existing connection of the client identifier;
    // v5 says why with DISCONNECT 0x8E (Session taken over).
    let (broker, addr) = start().await;
    let persistent = || {
        let mut connect = connect_packet(V5, "same", false);
        connect.properties.session_expiry_interval = Some(60);
        connect
    };
    let (mut old, _) = Client::connect_with(addr, persistent()).await;
    old.subscribe(1, "kept/#", QoS::AtLeastOnce).await;
    parked(&broker, 1).await;
    let (mut new, ack) = Client::connect_with(addr, persistent()).await;
    // [MQTT-3.2.2-3]: the session is resumed.
    assert!(ack.session_present);
    assert_eq!(
        old.expect_disconnect().await.code,
        ReasonCode::SessionTakenOver
    );
    broker
        .handle()
        .publish(
            topic("kept/1"),
            "still subscribed".into(),
            QoS::AtLeastOnce,
            false,
        )
        .await
        .unwrap();
    assert_eq!(
        new.recv_publish().await.payload.as_ref(),
        b"still subscribed"
    );
}

#[tokio::test]
async fn a_parked_client_that_goes_silent_times_out_and_its_will_is_published() {
    // [MQTT-3.1.2-22]: silent for one and a half times its Keep Alive, the client is
    // disconnected; [MQTT-3.1.2-8]: its will is published.
    let (broker, addr) = start().await;
    let (mut watcher, _) = Client::connect(addr, V311, "watcher", true).await;
    watcher.subscribe(1, "wills/#", QoS::AtLeastOnce).await;
    let mut connect = with_will(connect_packet(V5, "silent", true), "wills/silent");
    connect.keep_alive = 1;
    let (mut silent, _) = Client::connect_with(addr, connect).await;
    parked(&broker, 2).await;
    assert_eq!(
        silent.expect_disconnect().await.code,
        ReasonCode::KeepAliveTimeout
    );
    let will = watcher.recv_publish().await;
    assert_eq!(
        will.topic.as_ref().map(|t| t.as_str()),
        Some("wills/silent")
    );
}

#[tokio::test]
async fn a_parked_client_that_closes_its_socket_leaves_its_will() {
    let (broker, addr) = start().await;
    let (mut watcher, _) = Client::connect(addr, V311, "watcher", true).await;
    watcher.subscribe(1, "wills/#", QoS::AtLeastOnce).await;
    let connect = with_will(connect_packet(V311, "dying", true), "wills/dying");
    let (dying, _) = Client::connect_with(addr, connect).await;
    parked(&broker, 2).await;
    drop(dying);
    let will = watcher.recv_publish().await;
    assert_eq!(will.topic.as_ref().map(|t| t.as_str()), Some("wills/dying"));
    let stats = parked(&broker, 1).await;
    assert_eq!(stats.clients_connected, 1);
}

#[tokio::test]
async fn a_persistent_session_parked_then_disconnected_keeps_its_queued_messages() {
    let (broker, addr) = start().await;
    let (mut client, _) = Client::connect(addr, V311, "durable", false).await;
    client.subscribe(1, "q", QoS::AtLeastOnce).await;
    parked(&broker, 1).await;
    client.disconnect().await;
    broker
        .handle()
        .publish(topic("q"), "while away".into(), QoS::AtLeastOnce, false)
        .await
        .unwrap();
    let (mut client, ack) = Client::connect(addr, V311, "durable", false).await;
    assert!(ack.session_present);
    assert_eq!(client.recv_publish().await.payload.as_ref(), b"while away");
}

#[tokio::test]
async fn shutdown_resumes_parked_clients_to_say_goodbye() {
    let (broker, addr) = start().await;
    let (mut v5, _) = Client::connect(addr, V5, "five", true).await;
    let (mut v3, _) = Client::connect(addr, V311, "three", true).await;
    parked(&broker, 2).await;
    tokio::time::timeout(WAIT, broker.shutdown())
        .await
        .expect("shutdown in time");
    // A v5 client gets DISCONNECT 0x8B (Server shutting down); both are closed.
    assert_eq!(
        v5.expect_disconnect().await.code,
        ReasonCode::ServerShuttingDown
    );
    assert!(v5.until_closed().await.is_empty());
    assert!(v3.until_closed().await.is_empty());
}

#[tokio::test]
async fn a_broker_that_never_parks_keeps_every_task() {
    let mut config = support::config();
    config.park_idle_after = None;
    let (broker, addr) = support::start_with(config).await;
    let (mut client, _) = Client::connect(addr, V311, "busy", true).await;
    tokio::time::sleep(PARK * 4).await;
    assert_eq!(broker.handle().stats().clients_parked, 0);
    client.ping().await;
}

#[tokio::test]
async fn many_parked_clients_each_get_their_own_message() {
    let (broker, addr) = start().await;
    let mut clients = Vec::new();
    for n in 0..50 {
        let id = format!("c{n}");
        let (mut client, _) = Client::connect(addr, V311, &id, true).await;
        client
            .subscribe(1, &format!("to/{id}"), QoS::AtLeastOnce)
            .await;
        clients.push(client);
    }
    parked(&broker, 50).await;
    for n in (0..50).rev() {
        broker
            .handle()
            .publish(
                topic(&format!("to/c{n}")),
                format!("for c{n}").into(),
                QoS::AtLeastOnce,
                false,
            )
            .await
            .unwrap();
    }
    for (n, client) in clients.iter_mut().enumerate() {
        let got = client.recv_publish().await;
        assert_eq!(got.payload.as_ref(), format!("for c{n}").as_bytes());
        assert_eq!(
            got.topic.as_ref().map(|t| t.as_str().to_owned()),
            Some(format!("to/c{n}"))
        );
    }
}

#[tokio::test]
async fn a_parked_client_answers_the_admin_and_is_disconnected_with_0x98() {
    let (broker, addr) = start().await;
    let handle = broker.handle();
    let (mut client, _) = Client::connect(addr, V5, "parked-admin", true).await;
    client.subscribe(1, "p/#", QoS::AtLeastOnce).await;
    parked(&broker, 1).await;
    let client_id = ClientId::new("parked-admin").unwrap();
    let details = handle.client(&client_id).await.unwrap().unwrap();
    assert_eq!(details.summary.subscriptions, Some(1));
    assert_eq!(details.summary.inflight, Some(0));
    parked(&broker, 1).await;
    let outcome = handle.disconnect_client(&client_id, false).await.unwrap();
    assert_eq!(outcome, Disconnection::Disconnected);
    match client.until_closed().await.as_slice() {
        [Packet::Disconnect(d)] => assert_eq!(d.code, ReasonCode::AdministrativeAction),
        other => panic!("expected DISCONNECT 0x98, got {other:?}"),
    }
    broker.shutdown().await;
}
