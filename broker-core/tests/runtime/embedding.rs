//! The embedding API (in-process publish and subscribe) and graceful shutdown.

use std::time::Duration;

use broker_core::codec::{Packet, Publish, QosPid, Will, WillProperties};
use broker_core::types::{QoS, ReasonCode};
use broker_core::{Broker, BrokerError};
use tokio::time::timeout;

use crate::support;
use crate::support::{connect_packet, filter, topic, Client, V311, V5, WAIT};

#[tokio::test]
async fn in_process_publish_and_subscribe_without_sockets() {
    support::init_logging();
    let broker = Broker::builder().no_listeners().start().await.unwrap();
    assert!(broker.local_addrs().is_empty());
    let handle = broker.handle();
    handle
        .publish(topic("cfg/a"), "retained".into(), QoS::AtLeastOnce, true)
        .await
        .unwrap();
    let mut sub = handle
        .subscribe(filter("cfg/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let first = timeout(WAIT, sub.recv()).await.unwrap().unwrap();
    assert_eq!(&first.payload[..], b"retained");
    assert!(first.retain);
    handle
        .publish(topic("cfg/b"), "live".into(), QoS::ExactlyOnce, false)
        .await
        .unwrap();
    let second = timeout(WAIT, sub.recv()).await.unwrap().unwrap();
    assert_eq!(second.topic.as_str(), "cfg/b");
    assert_eq!(
        second.qos,
        QoS::AtLeastOnce,
        "downgraded to the subscription's QoS"
    );
    assert!(!second.retain);

    // Dropping the subscription unsubscribes: a new one sees only what comes after.
    drop(sub);
    let mut other = handle
        .subscribe(filter("other"), QoS::AtMostOnce)
        .await
        .unwrap();
    handle
        .publish(topic("cfg/c"), "x".into(), QoS::AtMostOnce, false)
        .await
        .unwrap();
    handle
        .publish(topic("other"), "y".into(), QoS::AtMostOnce, false)
        .await
        .unwrap();
    assert_eq!(
        &timeout(WAIT, other.recv()).await.unwrap().unwrap().payload[..],
        b"y"
    );

    broker.shutdown().await;
    assert!(
        timeout(WAIT, other.recv()).await.unwrap().is_none(),
        "ends with the broker"
    );
    assert!(matches!(
        handle
            .publish(topic("late"), "z".into(), QoS::AtMostOnce, false)
            .await,
        Err(BrokerError::ShutDown)
    ));
}

#[tokio::test]
async fn in_process_and_network_clients_see_each_other() {
    let (broker, addr) = support::start().await;
    let handle = broker.handle();
    let mut sub = handle
        .subscribe(filter("from/net"), QoS::ExactlyOnce)
        .await
        .unwrap();
    let (mut client, _) = Client::connect(addr, V311, "net", true).await;
    client.subscribe(1, "from/app", QoS::AtLeastOnce).await;
    client
        .publish("from/net", "hi app", QoS::ExactlyOnce, false, 1)
        .await;
    let got = timeout(WAIT, sub.recv()).await.unwrap().unwrap();
    assert_eq!(&got.payload[..], b"hi app");
    handle
        .publish(
            topic("from/app"),
            "hi client".into(),
            QoS::AtLeastOnce,
            false,
        )
        .await
        .unwrap();
    assert_eq!(&client.recv_publish().await.payload[..], b"hi client");
    assert!(handle.stats().messages_received() >= 1);
    broker.shutdown().await;
}

#[tokio::test]
async fn graceful_shutdown_sends_0x8b_and_closes_every_socket() {
    let (broker, addr) = support::start().await;
    let (mut v5, _) = Client::connect(addr, V5, "five", true).await;
    let (mut v3, _) = Client::connect(addr, V311, "three", true).await;
    let mut idle = Client::open(addr, V5).await; // no CONNECT yet
    timeout(WAIT * 2, broker.shutdown())
        .await
        .expect("shutdown is bounded");
    match v5.until_closed().await.as_slice() {
        [Packet::Disconnect(d)] => assert_eq!(d.code, ReasonCode::ServerShuttingDown),
        other => panic!("expected DISCONNECT 0x8B, got {other:?}"),
    }
    assert!(v3.until_closed().await.is_empty());
    assert!(idle.until_closed().await.is_empty());
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_err(),
        "no longer listening"
    );
}

#[tokio::test]
async fn delayed_will_is_published_by_the_sweeper() {
    let (broker, addr) = support::start().await;
    let handle = broker.handle();
    let mut wills = handle
        .subscribe(filter("wills/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let mut connect = connect_packet(V5, "late", true);
    connect.properties.session_expiry_interval = Some(60);
    connect.will = Some(Will {
        topic: topic("wills/late"),
        payload: "bye".into(),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties {
            will_delay_interval: Some(1),
            ..WillProperties::default()
        },
    });
    let (client, _) = Client::connect_with(addr, connect).await;
    drop(client);
    // Not at once: after its one-second delay.
    assert!(timeout(Duration::from_millis(500), wills.recv())
        .await
        .is_err());
    let will = timeout(WAIT, wills.recv()).await.unwrap().unwrap();
    assert_eq!(&will.payload[..], b"bye");
    broker.shutdown().await;
}

#[tokio::test]
async fn a_busy_port_is_a_bind_error() {
    let (broker, addr) = support::start().await;
    let mut config = support::config();
    config.listeners[0].bind = addr;
    let err = Broker::builder().config(config).start().await.unwrap_err();
    assert!(matches!(err, BrokerError::Bind { .. }), "{err}");
    broker.shutdown().await;
}

/// An in-process subscriber that reads frees room for publishers waiting on its full queue
/// at once: on the paused clock, no stall timeout has to fire for them to go on (before,
/// its drain task never woke them, and each blocked publish waited out `queue_full_wait`).
#[tokio::test(start_paused = true)]
async fn publishers_waiting_on_an_in_process_subscriber_go_on_as_it_reads() {
    support::init_logging();
    let mut config = broker_core::config::BrokerConfig::default();
    config.queue_full_wait = Duration::from_secs(5);
    config.session.queue.max_messages = 4;
    let broker = Broker::builder()
        .config(config)
        .no_listeners()
        .start()
        .await
        .unwrap();
    let handle = broker.handle();
    let mut sub = handle
        .subscribe(filter("load/#"), QoS::AtLeastOnce)
        .await
        .unwrap();
    let started = tokio::time::Instant::now();
    let publisher = {
        let handle = handle.clone();
        tokio::spawn(async move {
            for n in 0..200u32 {
                handle
                    .publish(
                        topic("load/a"),
                        n.to_be_bytes().to_vec().into(),
                        QoS::AtLeastOnce,
                        false,
                    )
                    .await
                    .unwrap();
            }
        })
    };
    for n in 0..200u32 {
        let message = timeout(Duration::from_secs(60), sub.recv())
            .await
            .unwrap_or_else(|_| panic!("message {n} never came"))
            .unwrap();
        assert_eq!(&message.payload[..], n.to_be_bytes(), "in order, none lost");
    }
    publisher.await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "a publisher waited out the stall timeout: {:?}",
        started.elapsed()
    );
    broker.shutdown().await;
}

/// In-process publish with MQTT 5 properties: an MQTT 5 client and an in-process subscriber
/// get them as sent ([MQTT-3.3.2-17], [MQTT-3.3.2-20]: user properties in order, content
/// type unaltered); a subscription's options apply: Retain Handling 2 sends no retained
/// message at subscribe ([MQTT-3.3.1-11]), Retain As Published keeps the flag
/// ([MQTT-3.3.1-13]); the subscription is a `Stream` too.
#[tokio::test]
async fn in_process_publish_with_properties_and_subscribe_with_options_mqtt_3_3_2_17() {
    use broker_core::codec::{PublishProperties, RetainHandling, SubscriptionOptions};
    use broker_core::types::{MqttString, UserProperty};
    use futures_core::Stream;

    let (broker, addr) = support::start().await;
    let handle = broker.handle();
    handle
        .publish(topic("kept/a"), "old".into(), QoS::AtLeastOnce, true)
        .await
        .unwrap();
    let (mut client, _) = Client::connect(addr, V5, "props", true).await;
    client.subscribe(1, "kept/#", QoS::AtLeastOnce).await;
    assert_eq!(&client.recv_publish().await.payload[..], b"old");
    let mut quiet = handle
        .subscribe_with(
            filter("kept/#"),
            SubscriptionOptions {
                retain_handling: RetainHandling::DoNotSend,
                retain_as_published: true,
                ..SubscriptionOptions::qos(QoS::AtLeastOnce)
            },
        )
        .await
        .unwrap();

    let s = |v: &str| MqttString::new(v).unwrap();
    let properties = PublishProperties {
        content_type: Some(s("text/plain")),
        user_properties: vec![
            UserProperty::new(s("a"), s("1")),
            UserProperty::new(s("a"), s("2")),
        ],
        ..PublishProperties::default()
    };
    handle
        .publish_with(
            topic("kept/a"),
            "new".into(),
            QoS::AtLeastOnce,
            true,
            properties.clone(),
        )
        .await
        .unwrap();
    let got = client.recv_publish().await;
    assert_eq!(&got.payload[..], b"new");
    assert_eq!(got.properties.content_type, properties.content_type);
    assert_eq!(got.properties.user_properties, properties.user_properties);
    // Through the Stream: the retained "old" was not sent (Retain Handling 2), "new" keeps
    // its RETAIN flag (Retain As Published).
    let next = std::future::poll_fn(|cx| std::pin::Pin::new(&mut quiet).poll_next(cx));
    let message = timeout(WAIT, next).await.unwrap().unwrap();
    assert_eq!(&message.payload[..], b"new");
    assert!(message.retain);
    assert_eq!(
        message.properties.user_properties,
        properties.user_properties
    );
    client.disconnect().await;
    broker.shutdown().await;
}

/// The retained store's limits: a retained publish past them is delivered and acknowledged
/// as any publish, but not retained; replacing a retained message, or deleting one, works at
/// the most.
#[tokio::test]
async fn retained_limits_keep_what_fits_and_deliver_the_rest_unretained() {
    let mut config = support::config();
    config.retained.max_messages = Some(2);
    config.retained.max_payload = Some(8);
    let (broker, addr) = support::start_with(config).await;
    let (mut publisher, _) = Client::connect(addr, V5, "retainer", true).await;
    let (mut live, _) = Client::connect(addr, V5, "live", true).await;
    live.subscribe(1, "r/#", QoS::AtLeastOnce).await;
    for (n, (topic, payload)) in [
        ("r/a", "1"),
        ("r/b", "2"),
        ("r/c", "3"),         // a third topic: not retained
        ("r/a", "10"),        // replacing one: retained
        ("r/b", "too long!"), // over 8 bytes: not retained, r/b keeps "2"
    ]
    .into_iter()
    .enumerate()
    {
        let mut publish = Publish::new(support::topic(topic), payload.into());
        publish.retain = true;
        publish.qos_pid = QosPid::AtLeastOnce(support::pid(n as u16 + 1));
        publisher.send(Packet::Publish(publish)).await;
        match publisher.recv().await {
            Some(Packet::PubAck(ack)) => assert_eq!(ack.code, ReasonCode::Success, "{topic}"),
            other => panic!("expected PUBACK for {topic}, got {other:?}"),
        }
        // Delivered all the same.
        assert_eq!(&live.recv_publish().await.payload[..], payload.as_bytes());
    }
    let (mut late, _) = Client::connect(addr, V5, "late", true).await;
    late.subscribe(1, "r/#", QoS::AtLeastOnce).await;
    let mut kept = Vec::new();
    for _ in 0..2 {
        let message = late.recv_publish().await;
        let topic = message.topic.unwrap();
        kept.push((topic.as_str().to_owned(), message.payload.to_vec()));
    }
    kept.sort();
    assert_eq!(
        kept,
        [
            ("r/a".to_owned(), b"10".to_vec()),
            ("r/b".to_owned(), b"2".to_vec())
        ]
    );
    late.ping().await;
    late.expect_nothing().await;
    broker.shutdown().await;
}

/// A listener on a socket the embedding service bound itself (socket activation, a port
/// bound before dropping privileges): the broker serves it, and reports its address.
#[tokio::test]
async fn a_socket_the_caller_bound_is_served_as_a_listener() {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let broker = Broker::builder()
        .config(support::config())
        .no_listeners()
        .bound_listener(
            broker_core::config::ListenerConfig::tcp("mine", "0.0.0.0:1".parse().unwrap()),
            socket,
        )
        .start()
        .await
        .unwrap();
    assert_eq!(broker.local_addrs(), [("mine".to_owned(), addr)]);
    let (mut client, ack) = Client::connect(addr, V5, "on-mine", true).await;
    assert_eq!(ack.code, ReasonCode::Success);
    client.ping().await;
    client.disconnect().await;
    broker.shutdown().await;
}
