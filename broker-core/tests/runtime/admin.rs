//! The admin operations of `BrokerHandle`: clients and sessions listed, filtered, paged and
//! shown; disconnected (DISCONNECT 0x98 for MQTT 5), with or without their session;
//! subscriptions listed; retained messages listed and deleted.

use std::time::Duration;

use broker_core::admin::{ClientQuery, Disconnection, RetainedQuery, SubscriptionQuery};
use broker_core::codec::{Packet, RetainHandling, SubscriptionOptions};
use broker_core::types::{ClientId, MqttString, ProtocolVersion, QoS, ReasonCode};
use broker_core::{BrokerError, BrokerHandle};
use bytes::Bytes;

use crate::support::{self, connect_packet, filter, topic, Client, V311, V5};

fn id(s: &str) -> ClientId {
    ClientId::new(s).unwrap()
}

/// A persistent session's CONNECT: clean start 0 and, for MQTT 5, an hour's expiry.
fn persistent(version: ProtocolVersion, client_id: &str) -> broker_core::codec::Connect {
    let mut connect = connect_packet(version, client_id, false);
    connect.properties.session_expiry_interval = Some(3600);
    connect
}

/// The client identifiers of the page `query` gives.
async fn ids(handle: &BrokerHandle, query: &ClientQuery) -> (Vec<String>, Option<String>) {
    let page = handle.clients(query).await.unwrap();
    let ids = page
        .items
        .iter()
        .map(|client| client.client_id.as_str().to_owned())
        .collect();
    (ids, page.next)
}

/// Waits, within the test's bound, until `client_id` is listed offline.
async fn until_offline(handle: &BrokerHandle, client_id: &str) {
    let deadline = tokio::time::Instant::now() + support::WAIT;
    loop {
        let details = handle.client(&id(client_id)).await.unwrap();
        if details.is_some_and(|details| !details.summary.connected) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{client_id} still online"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn clients_are_listed_filtered_and_paged_in_identifier_order() {
    let (broker, addr) = support::start().await;
    let handle = broker.handle();
    let (_a1, _) = Client::connect(addr, V5, "alpha-1", true).await;
    let mut bob = connect_packet(V311, "beta", true);
    bob.username = Some(MqttString::new("bob").unwrap());
    let (_beta, _) = Client::connect_with(addr, bob).await;
    let (gone, _) = Client::connect_with(addr, persistent(V311, "alpha-2")).await;
    gone.disconnect().await;
    until_offline(&handle, "alpha-2").await;

    let all = ClientQuery::default();
    assert_eq!(
        ids(&handle, &all).await,
        (
            vec!["alpha-1".into(), "alpha-2".into(), "beta".into()],
            None
        )
    );

    let mut prefix = ClientQuery::default();
    prefix.prefix = Some("alpha".into());
    assert_eq!(ids(&handle, &prefix).await.0, ["alpha-1", "alpha-2"]);

    let mut contains = ClientQuery::default();
    contains.contains = Some("ta".into());
    assert_eq!(ids(&handle, &contains).await.0, ["beta"]);

    let mut online = ClientQuery::default();
    online.connected = Some(true);
    assert_eq!(ids(&handle, &online).await.0, ["alpha-1", "beta"]);
    let mut offline = ClientQuery::default();
    offline.connected = Some(false);
    assert_eq!(ids(&handle, &offline).await.0, ["alpha-2"]);

    let mut user = ClientQuery::default();
    user.username = Some("bob".into());
    assert_eq!(ids(&handle, &user).await.0, ["beta"]);

    let mut paged = ClientQuery::default();
    paged.limit = 2;
    let (first, next) = ids(&handle, &paged).await;
    assert_eq!(first, ["alpha-1", "alpha-2"]);
    assert_eq!(next.as_deref(), Some("alpha-2"));
    paged.after = next;
    assert_eq!(ids(&handle, &paged).await, (vec!["beta".into()], None));
    broker.shutdown().await;
}

#[tokio::test]
async fn a_client_is_shown_with_its_session_subscriptions_queue_and_inflight() {
    let (broker, addr) = support::start().await;
    let handle = broker.handle();
    let mut connect = persistent(V5, "shown");
    connect.keep_alive = 30;
    connect.username = Some(MqttString::new("ops").unwrap());
    let (mut shown, ack) = Client::connect_with(addr, connect).await;
    assert_eq!(ack.code, ReasonCode::Success);
    shown.subscribe(1, "a/+", QoS::AtLeastOnce).await;
    shown.subscribe(2, "b/#", QoS::AtMostOnce).await;
    // One QoS 1 message sent and left unacknowledged: in flight.
    handle
        .publish(
            topic("a/1"),
            Bytes::from_static(b"x"),
            QoS::AtLeastOnce,
            false,
        )
        .await
        .unwrap();
    match shown.recv().await {
        Some(Packet::Publish(publish)) => assert_eq!(&publish.payload[..], b"x"),
        other => panic!("expected PUBLISH, got {other:?}"),
    }

    let details = handle.client(&id("shown")).await.unwrap().unwrap();
    let summary = &details.summary;
    assert!(summary.connected);
    assert_eq!(summary.protocol, Some(ProtocolVersion::V5));
    assert_eq!(summary.keep_alive, Some(30));
    assert_eq!(summary.clean_start, Some(false));
    assert_eq!(summary.session_expiry, Some(3600));
    assert_eq!(
        summary.username.as_ref().map(MqttString::as_str),
        Some("ops")
    );
    assert_eq!(summary.remote_addr.map(|addr| addr.ip()), Some(addr.ip()));
    assert!(summary.connected_at.is_some());
    assert_eq!(summary.subscriptions, Some(2));
    assert_eq!(summary.inflight, Some(1));
    let filters: Vec<(&str, QoS)> = details
        .subscriptions
        .iter()
        .map(|s| (s.filter.as_str(), s.options.qos))
        .collect();
    assert_eq!(
        filters,
        [("a/+", QoS::AtLeastOnce), ("b/#", QoS::AtMostOnce)]
    );

    // Offline, the messages for the session wait in its queue.
    shown.disconnect().await;
    until_offline(&handle, "shown").await;
    for payload in [&b"1"[..], b"22"] {
        handle
            .publish(
                topic("a/x"),
                Bytes::copy_from_slice(payload),
                QoS::AtLeastOnce,
                false,
            )
            .await
            .unwrap();
    }
    let summary = handle.client(&id("shown")).await.unwrap().unwrap().summary;
    assert!(!summary.connected);
    assert_eq!(summary.queued_messages, 2);
    assert!(summary.queued_bytes >= 3);
    // The message sent before and never acknowledged stays in flight with the session.
    assert_eq!(summary.inflight, Some(1));
    // The last CONNECT's user name and time stay; the connection's figures went with it.
    assert_eq!(
        summary.username.as_ref().map(MqttString::as_str),
        Some("ops")
    );
    assert!(summary.connected_at.is_some());
    assert_eq!(
        (summary.remote_addr, summary.protocol, summary.keep_alive),
        (None, None, None)
    );
    assert_eq!(summary.session_expiry, Some(3600));
    assert_eq!(summary.subscriptions, Some(2));
    assert_eq!(handle.client(&id("nobody")).await.unwrap(), None);
    broker.shutdown().await;
}

#[tokio::test]
async fn an_mqtt5_client_disconnected_gets_0x98_and_keeps_its_session() {
    let (broker, addr) = support::start().await;
    let handle = broker.handle();
    let (mut kicked, _) = Client::connect_with(addr, persistent(V5, "kicked")).await;
    kicked.subscribe(1, "k/#", QoS::AtLeastOnce).await;
    let outcome = handle
        .disconnect_client(&id("kicked"), false)
        .await
        .unwrap();
    assert_eq!(outcome, Disconnection::Disconnected);
    match kicked.until_closed().await.as_slice() {
        [Packet::Disconnect(d)] => assert_eq!(d.code, ReasonCode::AdministrativeAction),
        other => panic!("expected DISCONNECT 0x98, got {other:?}"),
    }
    // Settled when the call returns: listed offline.
    let summary = handle.client(&id("kicked")).await.unwrap().unwrap().summary;
    assert!(!summary.connected);
    assert_eq!(
        handle
            .disconnect_client(&id("kicked"), false)
            .await
            .unwrap(),
        Disconnection::NotConnected
    );
    let (_back, ack) = Client::connect_with(addr, persistent(V5, "kicked")).await;
    assert!(ack.session_present);
    broker.shutdown().await;
}

#[tokio::test]
async fn a_disconnect_that_discards_the_session_leaves_nothing_to_resume() {
    let (broker, addr) = support::start().await;
    let handle = broker.handle();
    let (mut kicked, _) = Client::connect_with(addr, persistent(V5, "discarded")).await;
    kicked.subscribe(1, "d/#", QoS::AtLeastOnce).await;
    let outcome = handle
        .disconnect_client(&id("discarded"), true)
        .await
        .unwrap();
    assert_eq!(outcome, Disconnection::DisconnectedAndDiscarded);
    kicked.until_closed().await;
    assert_eq!(handle.client(&id("discarded")).await.unwrap(), None);
    let (_back, ack) = Client::connect_with(addr, persistent(V5, "discarded")).await;
    assert!(!ack.session_present);
    broker.shutdown().await;
}

#[tokio::test]
async fn an_mqtt3_client_disconnected_is_closed_without_a_packet() {
    let (broker, addr) = support::start().await;
    let (mut kicked, _) = Client::connect(addr, V311, "old", true).await;
    let outcome = broker
        .handle()
        .disconnect_client(&id("old"), false)
        .await
        .unwrap();
    assert_eq!(outcome, Disconnection::Disconnected);
    assert!(kicked.until_closed().await.is_empty());
    broker.shutdown().await;
}

#[tokio::test]
async fn an_offline_session_is_discarded_with_its_subscriptions() {
    let (broker, addr) = support::start().await;
    let handle = broker.handle();
    let (mut gone, _) = Client::connect_with(addr, persistent(V311, "sleeper")).await;
    gone.subscribe(1, "s/#", QoS::AtLeastOnce).await;
    gone.disconnect().await;
    until_offline(&handle, "sleeper").await;
    assert_eq!(
        handle
            .disconnect_client(&id("sleeper"), true)
            .await
            .unwrap(),
        Disconnection::Discarded
    );
    assert_eq!(handle.client(&id("sleeper")).await.unwrap(), None);
    assert!(handle
        .subscriptions(&SubscriptionQuery::default())
        .unwrap()
        .items
        .is_empty());
    assert_eq!(
        handle
            .disconnect_client(&id("sleeper"), true)
            .await
            .unwrap(),
        Disconnection::NotFound
    );
    let (_back, ack) = Client::connect_with(addr, persistent(V311, "sleeper")).await;
    assert!(!ack.session_present);
    broker.shutdown().await;
}

#[tokio::test]
async fn subscriptions_are_listed_by_client_and_filter_and_paged() {
    let (broker, addr) = support::start().await;
    let handle = broker.handle();
    let (mut a, _) = Client::connect(addr, V5, "a", true).await;
    a.subscribe(1, "x/#", QoS::AtLeastOnce).await;
    a.subscribe(2, "$share/g/y", QoS::ExactlyOnce).await;
    let (mut b, _) = Client::connect(addr, V311, "b", true).await;
    b.subscribe(1, "x/#", QoS::AtMostOnce).await;
    // An in-process subscriber is not a client: not listed.
    let _local = handle
        .subscribe(filter("x/#"), QoS::AtMostOnce)
        .await
        .unwrap();

    let listed = |query: &SubscriptionQuery| {
        let page = handle.subscriptions(query).unwrap();
        let items: Vec<(String, String, QoS)> = page
            .items
            .iter()
            .map(|s| {
                (
                    s.client_id.as_str().to_owned(),
                    s.filter.as_str().to_owned(),
                    s.options.qos,
                )
            })
            .collect();
        (items, page.next)
    };
    let (all, next) = listed(&SubscriptionQuery::default());
    assert_eq!(
        all,
        [
            ("a".into(), "$share/g/y".into(), QoS::ExactlyOnce),
            ("a".into(), "x/#".into(), QoS::AtLeastOnce),
            ("b".into(), "x/#".into(), QoS::AtMostOnce),
        ]
    );
    assert_eq!(next, None);

    let mut by_filter = SubscriptionQuery::default();
    by_filter.filter = Some("x/#".into());
    assert_eq!(listed(&by_filter).0.len(), 2);
    let mut by_client = SubscriptionQuery::default();
    by_client.client_id = Some("b".into());
    assert_eq!(
        listed(&by_client).0,
        [("b".into(), "x/#".into(), QoS::AtMostOnce)]
    );

    let mut paged = SubscriptionQuery::default();
    paged.limit = 2;
    let (first, next) = listed(&paged);
    assert_eq!(first.len(), 2);
    paged.after = next;
    let (rest, next) = listed(&paged);
    assert_eq!(rest, [("b".into(), "x/#".into(), QoS::AtMostOnce)]);
    assert_eq!(next, None);
    broker.shutdown().await;
}

#[tokio::test]
async fn retained_messages_are_listed_and_deleted_without_publishing() {
    let (broker, addr) = support::start().await;
    let handle = broker.handle();
    for (name, payload) in [("r/a", "1"), ("r/b", "2"), ("q/c", "3")] {
        handle
            .publish(topic(name), Bytes::from(payload), QoS::AtLeastOnce, true)
            .await
            .unwrap();
    }
    let topics = |query: &RetainedQuery| {
        let page = handle.retained(query).unwrap();
        let topics: Vec<String> = page
            .items
            .iter()
            .map(|m| m.topic.as_str().to_owned())
            .collect();
        (topics, page.next)
    };
    assert_eq!(topics(&RetainedQuery::default()).0, ["q/c", "r/a", "r/b"]);
    let mut under_r = RetainedQuery::default();
    under_r.filter = Some(filter("r/#"));
    under_r.limit = 1;
    let (first, next) = topics(&under_r);
    assert_eq!(
        (first, next.as_deref()),
        (vec!["r/a".to_owned()], Some("r/a"))
    );
    under_r.after = next;
    assert_eq!(topics(&under_r), (vec!["r/b".to_owned()], None));
    let listed = handle.retained(&RetainedQuery::default()).unwrap();
    assert_eq!(&listed.items[0].payload[..], b"3");
    assert_eq!(listed.items[0].qos, QoS::AtLeastOnce);

    // A subscriber of everything sees no publish for the deletions.
    let (mut watcher, _) = Client::connect(addr, V5, "watcher", true).await;
    watcher
        .subscribe_with(
            1,
            "#",
            SubscriptionOptions {
                retain_handling: RetainHandling::DoNotSend,
                ..SubscriptionOptions::qos(QoS::AtLeastOnce)
            },
        )
        .await;
    assert!(handle.delete_retained(&topic("q/c")).await.unwrap());
    assert!(!handle.delete_retained(&topic("q/c")).await.unwrap());
    assert_eq!(
        handle
            .delete_retained_matching(&filter("r/#"))
            .await
            .unwrap(),
        2
    );
    watcher.expect_nothing().await;
    assert!(handle
        .retained(&RetainedQuery::default())
        .unwrap()
        .items
        .is_empty());

    let (mut late, _) = Client::connect(addr, V5, "late", true).await;
    late.subscribe(1, "#", QoS::AtLeastOnce).await;
    late.expect_nothing().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn the_admin_methods_fail_once_the_broker_is_shut_down() {
    let (broker, _) = support::start().await;
    let handle = broker.handle();
    broker.shutdown().await;
    assert!(matches!(
        handle.clients(&ClientQuery::default()).await,
        Err(BrokerError::ShutDown)
    ));
    assert!(matches!(
        handle.disconnect_client(&id("a"), true).await,
        Err(BrokerError::ShutDown)
    ));
    assert!(matches!(
        handle.retained(&RetainedQuery::default()),
        Err(BrokerError::ShutDown)
    ));
    assert!(matches!(
        handle.delete_retained(&topic("a")).await,
        Err(BrokerError::ShutDown)
    ));
}
