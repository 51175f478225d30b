//! The runtime over real sockets: wills, takeover, persistent sessions, shared subscriptions.

use broker_core::codec::{Packet, Will, WillProperties};
use broker_core::types::{QoS, ReasonCode};

use crate::support;
use crate::support::{connect_packet, topic, Client, V311, V5};

fn with_will(
    mut connect: broker_core::codec::Connect,
    t: &str,
    payload: &'static str,
) -> broker_core::codec::Connect {
    connect.will = Some(Will {
        topic: topic(t),
        payload: payload.into(),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties::default(),
    });
    connect
}

#[tokio::test]
async fn will_is_published_when_the_connection_drops() {
    let (broker, addr) = support::start().await;
    let (mut watcher, _) = Client::connect(addr, V311, "watcher", true).await;
    watcher.subscribe(1, "wills/#", QoS::AtLeastOnce).await;

    let connect = with_will(connect_packet(V311, "dying", true), "wills/dying", "gone");
    let (dying, ack) = Client::connect_with(addr, connect).await;
    assert_eq!(ack.code, ReasonCode::Success);
    drop(dying); // no DISCONNECT: an abrupt close

    let will = watcher.recv_publish().await;
    assert_eq!(will.topic.as_ref().map(|t| t.as_str()), Some("wills/dying"));
    assert_eq!(&will.payload[..], b"gone");
    watcher.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn no_will_after_a_normal_disconnect() {
    let (broker, addr) = support::start().await;
    let (mut watcher, _) = Client::connect(addr, V311, "watcher", true).await;
    watcher.subscribe(1, "wills/#", QoS::AtLeastOnce).await;
    let connect = with_will(connect_packet(V311, "polite", true), "wills/polite", "gone");
    let (polite, _) = Client::connect_with(addr, connect).await;
    polite.disconnect().await;
    watcher.expect_nothing().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn takeover_closes_the_old_connection_with_0x8e() {
    let (broker, addr) = support::start().await;
    let (mut old, _) = Client::connect(addr, V5, "twin", true).await;
    let (mut new, _) = Client::connect(addr, V5, "twin", true).await;
    let packets = old.until_closed().await;
    match packets.as_slice() {
        [Packet::Disconnect(d)] => assert_eq!(d.code, ReasonCode::SessionTakenOver),
        other => panic!("expected DISCONNECT 0x8E, got {other:?}"),
    }
    new.ping().await;
    new.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn takeover_inherits_the_session_and_its_subscriptions() {
    let (broker, addr) = support::start().await;
    let (mut old, _) = Client::connect(addr, V311, "heir", false).await;
    old.subscribe(1, "inherit/#", QoS::AtLeastOnce).await;
    let (mut new, ack) = Client::connect(addr, V311, "heir", false).await;
    assert!(
        ack.session_present,
        "the new connection resumes the session"
    );
    assert!(
        old.until_closed().await.is_empty(),
        "a 3.1.1 client just gets closed"
    );
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("inherit/x", "hello", QoS::AtLeastOnce, false, 1)
        .await;
    let got = new.recv_publish().await;
    assert_eq!(&got.payload[..], b"hello");
    broker.shutdown().await;
}

#[tokio::test]
async fn persistent_session_resumes_with_queued_qos1_messages() {
    let (broker, addr) = support::start().await;
    let (mut sub, ack) = Client::connect(addr, V311, "durable", false).await;
    assert!(!ack.session_present);
    sub.subscribe(1, "q/#", QoS::AtLeastOnce).await;
    sub.disconnect().await;

    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("q/1", "first", QoS::AtLeastOnce, false, 1)
        .await;
    publisher
        .publish("q/2", "second", QoS::AtLeastOnce, false, 2)
        .await;
    publisher
        .publish("q/3", "dropped", QoS::AtMostOnce, false, 0)
        .await;
    publisher.ping().await;

    let (mut sub, ack) = Client::connect(addr, V311, "durable", false).await;
    assert!(ack.session_present);
    assert_eq!(&sub.recv_publish().await.payload[..], b"first");
    assert_eq!(&sub.recv_publish().await.payload[..], b"second");
    sub.expect_nothing().await; // QoS 0 is not queued offline by default
    sub.disconnect().await;

    // Clean session ends it.
    let (c, ack) = Client::connect(addr, V311, "durable", true).await;
    assert!(!ack.session_present);
    c.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn shared_subscription_splits_messages_between_members() {
    let (broker, addr) = support::start().await;
    let (mut a, _) = Client::connect(addr, V5, "member-a", true).await;
    let (mut b, _) = Client::connect(addr, V5, "member-b", true).await;
    a.subscribe(1, "$share/g/jobs/#", QoS::AtLeastOnce).await;
    b.subscribe(1, "$share/g/jobs/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Client::connect(addr, V5, "pub", true).await;
    const N: u16 = 20;
    for i in 0..N {
        publisher
            .publish("jobs/x", "job", QoS::AtLeastOnce, false, i + 1)
            .await;
    }
    let mut got_a = 0;
    let mut got_b = 0;
    while got_a + got_b < N {
        tokio::select! {
            Ok(Some(Packet::Publish(p))) = a.recv_within(support::WAIT) => {
                if let Some(id) = p.qos_pid.packet_id() {
                    a.send(Packet::PubAck(broker_core::codec::Ack::new(id))).await;
                }
                got_a += 1;
            }
            Ok(Some(Packet::Publish(p))) = b.recv_within(support::WAIT) => {
                if let Some(id) = p.qos_pid.packet_id() {
                    b.send(Packet::PubAck(broker_core::codec::Ack::new(id))).await;
                }
                got_b += 1;
            }
            else => panic!("a member stopped receiving"),
        }
    }
    assert!(got_a > 0 && got_b > 0, "split {got_a}/{got_b}");
    a.expect_nothing().await;
    b.expect_nothing().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn connection_limit_refuses_with_quota_exceeded() {
    let mut config = support::config();
    config.max_connections = Some(1);
    let (broker, addr) = support::start_with(config).await;
    let (mut first, _) = Client::connect(addr, V5, "first", true).await;
    let (mut second, ack) = Client::connect_with(addr, connect_packet(V5, "second", true)).await;
    assert_eq!(ack.code, ReasonCode::QuotaExceeded);
    assert!(second.until_closed().await.is_empty());
    first.ping().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn silent_client_is_closed_after_one_and_a_half_keep_alives_and_its_will_published() {
    let (broker, addr) = support::start().await;
    let (mut watcher, _) = Client::connect(addr, V311, "watcher", true).await;
    watcher.subscribe(1, "wills/#", QoS::AtLeastOnce).await;
    let mut connect = with_will(
        connect_packet(V5, "silent", true),
        "wills/silent",
        "timeout",
    );
    connect.keep_alive = 1;
    let (mut silent, _) = Client::connect_with(addr, connect).await;
    let started = std::time::Instant::now();
    match silent.until_closed().await.as_slice() {
        [Packet::Disconnect(d)] => assert_eq!(d.code, ReasonCode::KeepAliveTimeout),
        other => panic!("expected DISCONNECT 0x8D, got {other:?}"),
    }
    let waited = started.elapsed();
    assert!(
        waited >= std::time::Duration::from_millis(1400),
        "closed after {waited:?}"
    );
    assert_eq!(&watcher.recv_publish().await.payload[..], b"timeout");
    broker.shutdown().await;
}

/// A listener's own limit: past it a CONNECT gets 0x97 Quota exceeded (3.x: return code 3,
/// Server unavailable) however many connections the broker has room for; a connection that
/// closes frees its place.
#[tokio::test]
async fn a_listeners_connection_limit_refuses_with_quota_exceeded_and_frees_a_closed_place() {
    let mut config = support::config();
    config.listeners[0].max_connections = Some(2);
    let (broker, addr) = support::start_with(config).await;
    let (first, _) = Client::connect(addr, V5, "first", true).await;
    let (mut second, _) = Client::connect(addr, V311, "second", true).await;
    let (mut third, ack) = Client::connect_with(addr, connect_packet(V5, "third", true)).await;
    assert_eq!(ack.code, ReasonCode::QuotaExceeded);
    assert!(third.until_closed().await.is_empty());
    let (mut fourth, ack) = Client::connect_with(addr, connect_packet(V311, "fourth", true)).await;
    assert_eq!(ack.code, ReasonCode::ServerUnavailable, "3.x return code 3");
    assert!(fourth.until_closed().await.is_empty());
    first.disconnect().await;
    // Closed: its place is free (the broker counts it closed once its task ends).
    let mut admitted = None;
    for n in 0..100 {
        let (client, ack) =
            Client::connect_with(addr, connect_packet(V5, &format!("again-{n}"), true)).await;
        if ack.code == ReasonCode::Success {
            admitted = Some(client);
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert!(admitted.is_some(), "a closed connection's place is freed");
    second.ping().await;
    broker.shutdown().await;
}

/// A listener's rate of new connections: past it connections wait in the backlog and are
/// accepted as the rate allows; none is refused.
#[tokio::test]
async fn a_listeners_connection_rate_slows_accepting_and_refuses_nobody() {
    let mut config = support::config();
    config.listeners[0].max_connection_rate = Some(20);
    let (broker, addr) = support::start_with(config).await;
    let mut clients = Vec::new();
    for n in 0..30 {
        let (client, ack) =
            Client::connect_with(addr, connect_packet(V5, &format!("storm-{n}"), true)).await;
        assert_eq!(ack.code, ReasonCode::Success, "client {n}");
        clients.push(client);
    }
    for client in &mut clients {
        client.ping().await;
    }
    broker.shutdown().await;
}
