//! The copies for persistent sessions that no client's PUBLISH makes, with a store that keeps
//! messages: the retained messages a new subscription gets, an embedder's `publish_now`, and
//! the shared-subscription messages a member that leaves hands to another one. Each is in
//! the store once it is queued for the session, and a broker killed then (the store keeps
//! nothing it writes afterwards) and started again on the same store delivers it. A member
//! whose session ends hands its messages over before its record and stored copies go.

use std::num::NonZeroU16;
use std::sync::Arc;

use broker_core::codec::{Disconnect, Packet, Publish, Unsubscribe};
use broker_core::types::{QoS, ReasonCode};
use bytes::Bytes;

use crate::keeping_store::{persistent, start_on, KeepingStore};
use crate::support::{connect_packet, filter, pid, topic, Client, V311, V5};

const GROUP: &str = "$share/g/work/#";

fn payload(publish: &Publish) -> String {
    String::from_utf8(publish.payload.to_vec()).unwrap()
}

/// The payloads the store holds for `client`, oldest first.
async fn stored_payloads(store: &KeepingStore, client: &str) -> Vec<String> {
    store
        .queued(client)
        .await
        .into_iter()
        .map(|(_, copy)| String::from_utf8(copy.message.payload.to_vec()).unwrap())
        .collect()
}

/// The next PUBLISH, not acknowledged.
async fn next_publish(client: &mut Client) -> Publish {
    match client.recv().await {
        Some(Packet::Publish(publish)) => publish,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

/// A persistent v5 member (Session Expiry 300 s, or 0 with `clean`) with Receive Maximum
/// `receive_maximum`, subscribed to [`GROUP`] at `qos`.
async fn member(
    addr: std::net::SocketAddr,
    id: &str,
    clean: bool,
    receive_maximum: u16,
    qos: QoS,
) -> Client {
    let mut connect = connect_packet(V5, id, clean);
    connect.properties.session_expiry_interval = (!clean).then_some(300);
    connect.properties.receive_maximum = NonZeroU16::new(receive_maximum);
    let (mut client, ack) = Client::connect_with(addr, connect).await;
    assert_eq!(ack.code, ReasonCode::Success);
    client.subscribe(1, GROUP, qos).await;
    client
}

/// A clean publisher that sends `m0`, `m1`, `m2` to the group's topic at `qos`.
async fn publish_three(addr: std::net::SocketAddr, qos: QoS) -> Client {
    let (mut publisher, _) = Client::connect(addr, V5, "pub", true).await;
    for (n, text) in ["m0", "m1", "m2"].into_iter().enumerate() {
        let id = u16::try_from(n).unwrap() + 1;
        publisher.publish("work/x", text, qos, false, id).await;
    }
    publisher
}

/// [MQTT-3.3.1-6]: the retained message matching a new subscription is sent to the
/// subscriber. A persistent session's copy of it is its own (a later change of the retained
/// message does not take it back), so it is stored as any copy for the session is, and
/// before the SUBACK: stored later, a crash after the SUBACK would lose it for good, since
/// the client subscribed and sends no SUBSCRIBE again. Killed with the copy unacknowledged,
/// the broker delivers it after a restart on the same store, exactly once (at QoS 2 the
/// exchange begun is resumed under its packet identifier, the stored copy not queued a
/// second time), and the store forgets it once the exchange completes. The same filter
/// subscribed again sends the retained message again ([MQTT-3.8.4-4]), stored the same way.
#[tokio::test]
async fn retained_copies_for_a_new_subscription_are_stored_before_the_suback_mqtt_3_3_1_6() {
    for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let (store, _gate) = KeepingStore::new();
        let (broker, addr) = start_on(Arc::clone(&store)).await;
        let (mut publisher, _) = Client::connect(addr, V5, "pub", true).await;
        publisher.publish("state/lamp", "on", qos, true, 1).await;
        publisher.disconnect().await;

        let (mut keeper, _) = persistent(addr, V5, "keeper").await;
        keeper.subscribe(1, "state/#", qos).await;
        assert_eq!(
            stored_payloads(&store, "keeper").await,
            ["on"],
            "{qos:?}: the SUBACK came before the store had the session's copy"
        );
        let sent = next_publish(&mut keeper).await;
        assert!(sent.retain, "[MQTT-3.3.1-8]");
        assert_eq!(sent.qos_pid.qos(), qos);

        // Killed before the client acknowledged it.
        let (broker, addr) = store.crash_and_restart(broker).await;
        let (mut keeper, ack) = persistent(addr, V5, "keeper").await;
        assert!(ack.session_present);
        let again = keeper.recv_publish().await;
        assert_eq!(payload(&again), "on", "{qos:?}");
        assert!(again.retain);
        assert_eq!(again.qos_pid.qos(), qos);
        keeper.expect_nothing().await;
        store.wait_queued("keeper", 0).await;

        keeper.subscribe(2, "state/#", qos).await;
        assert_eq!(
            stored_payloads(&store, "keeper").await,
            ["on"],
            "{qos:?}: the SUBACK of the replacing subscription came before the store had the copy"
        );
        let resent = keeper.recv_publish().await;
        assert!(resent.retain);
        keeper.expect_nothing().await;
        store.wait_queued("keeper", 0).await;
        keeper.disconnect().await;
        broker.shutdown().await;
    }
}

/// An embedder's `publish_now` never waits, so its copies for a persistent session are
/// handed to the store and queued once it has them, in the order of the calls. Stored, they
/// survive the broker's death: after a restart on the same store the session gets them, in
/// order, and the store forgets each once the client has acknowledged it.
#[tokio::test]
async fn publish_now_copies_for_a_persistent_session_are_stored_and_survive_a_crash() {
    let (store, _gate) = KeepingStore::new();
    let (broker, addr) = start_on(Arc::clone(&store)).await;
    let (mut keeper, _) = persistent(addr, V311, "keeper").await;
    keeper.subscribe(1, "alerts/#", QoS::ExactlyOnce).await;
    keeper.disconnect().await;

    let handle = broker.handle();
    let sent = ["one", "two", "three"];
    for (n, text) in sent.iter().enumerate() {
        let qos = if n == 1 {
            QoS::AtLeastOnce
        } else {
            QoS::ExactlyOnce
        };
        handle
            .publish_now(
                topic("alerts/disk"),
                Bytes::from_static(text.as_bytes()),
                qos,
                false,
            )
            .unwrap();
    }
    store.wait_queued("keeper", sent.len()).await;
    assert_eq!(stored_payloads(&store, "keeper").await, sent);

    let (broker, addr) = store.crash_and_restart(broker).await;
    let (mut keeper, ack) = persistent(addr, V311, "keeper").await;
    assert!(ack.session_present);
    for text in sent {
        assert_eq!(payload(&keeper.recv_publish().await), text);
    }
    keeper.expect_nothing().await;
    store.wait_queued("keeper", 0).await;
    keeper.disconnect().await;
    broker.shutdown().await;
}

/// MQTT 5.0 §4.8.2: a member that unsubscribes hands its queued messages to another member
/// of the group ([MQTT-3.10.4-3]: the one in flight stays with it). Both members persistent:
/// the copies move in the store too, stored for the new member first and forgotten for the
/// old one after, so that a crash finds each message under one of them. After a restart on
/// the same store the new member gets the two it was handed, in order, and the old one only
/// the message it had in flight.
#[tokio::test]
async fn queued_shared_messages_move_in_the_store_to_the_member_that_takes_them_mqtt_4_8_2() {
    let (store, _gate) = KeepingStore::new();
    let (broker, addr) = start_on(Arc::clone(&store)).await;
    // B waits offline: A, online, gets every message.
    member(addr, "member-b", false, 100, QoS::AtLeastOnce)
        .await
        .disconnect()
        .await;
    let mut a = member(addr, "member-a", false, 1, QoS::AtLeastOnce).await;
    let _publisher = publish_three(addr, QoS::AtLeastOnce).await;
    let in_flight = next_publish(&mut a).await;
    assert_eq!(payload(&in_flight), "m0");
    assert_eq!(
        stored_payloads(&store, "member-a").await,
        ["m0", "m1", "m2"]
    );

    a.send(Packet::Unsubscribe(Unsubscribe {
        packet_id: pid(2),
        filters: vec![filter(GROUP)],
        properties: Default::default(),
    }))
    .await;
    match a.recv().await {
        Some(Packet::UnsubAck(ack)) => assert_eq!(ack.codes, [ReasonCode::Success]),
        other => panic!("expected UNSUBACK, got {other:?}"),
    }
    store.wait_queued("member-b", 2).await;
    store.wait_queued("member-a", 1).await;
    assert_eq!(stored_payloads(&store, "member-b").await, ["m1", "m2"]);
    assert_eq!(stored_payloads(&store, "member-a").await, ["m0"]);

    let (broker, addr) = store.crash_and_restart(broker).await;
    let (mut b, ack) = persistent(addr, V5, "member-b").await;
    assert!(ack.session_present);
    for text in ["m1", "m2"] {
        assert_eq!(payload(&b.recv_publish().await), text);
    }
    b.expect_nothing().await;
    let (mut a, ack) = persistent(addr, V5, "member-a").await;
    assert!(ack.session_present);
    assert_eq!(payload(&a.recv_publish().await), "m0");
    a.expect_nothing().await;
    store.wait_queued("member-b", 0).await;
    store.wait_queued("member-a", 0).await;
    a.disconnect().await;
    b.disconnect().await;
    broker.shutdown().await;
}

/// MQTT 5.0 §4.8.2: the session of member A ends (Session Expiry 0) with one QoS 2 message
/// in flight, its PUBREC not come, and two queued. The queued ones go to B, a persistent
/// member waiting offline, and are stored for it; the one in flight goes to nobody
/// ([MQTT-4.8.2-5]: its exchange began, and A's client may have delivered it). After a
/// restart on the same store B gets exactly the two.
#[tokio::test]
async fn an_ended_members_queued_messages_are_stored_for_a_persistent_member_mqtt_4_8_2_5() {
    let (store, _gate) = KeepingStore::new();
    let (broker, addr) = start_on(Arc::clone(&store)).await;
    member(addr, "member-b", false, 100, QoS::ExactlyOnce)
        .await
        .disconnect()
        .await;
    let mut a = member(addr, "member-a", true, 1, QoS::ExactlyOnce).await;
    let publisher = publish_three(addr, QoS::ExactlyOnce).await;
    let in_flight = next_publish(&mut a).await;
    assert_eq!(payload(&in_flight), "m0");
    assert!(
        store.queued("member-a").await.is_empty(),
        "A's session is clean"
    );

    publisher.disconnect().await;
    a.disconnect().await;
    store.wait_queued("member-b", 2).await;
    assert_eq!(stored_payloads(&store, "member-b").await, ["m1", "m2"]);
    assert_eq!(broker.handle().stats().dropped.no_shared_member, 1);

    let (broker, addr) = store.crash_and_restart(broker).await;
    let (mut b, ack) = persistent(addr, V5, "member-b").await;
    assert!(ack.session_present);
    for text in ["m1", "m2"] {
        let got = b.recv_publish().await;
        assert_eq!(payload(&got), text);
        assert_eq!(got.qos_pid.qos(), QoS::ExactlyOnce);
    }
    b.expect_nothing().await;
    store.wait_queued("member-b", 0).await;
    b.disconnect().await;
    broker.shutdown().await;
}

/// How member A's persistent session ends in
/// [`a_members_end_stores_the_messages_it_hands_over_before_its_record_goes_mqtt_4_8_2_5`].
#[derive(Debug, Clone, Copy)]
enum Ending {
    /// Its DISCONNECT sets the Session Expiry Interval to 0 (MQTT 5.0 §3.14.2.2.2).
    DisconnectWithExpiry0,
    /// It goes offline with a Session Expiry Interval of 1 s, which elapses.
    ExpiryElapses,
    /// Its client comes back with Clean Start 1.
    CleanStart,
}

/// MQTT 5.0 §4.8.2: when a member's session ends, the messages it got through the shared
/// subscription and never took go to another member; the QoS 2 message whose PUBLISH went
/// out goes to nobody ([MQTT-4.8.2-5]). A is persistent, so the store holds its copies, and
/// its record (with them) goes as its session ends; B, the member that takes them, is
/// persistent too. The copies for B go to the store before A's record is removed: the store
/// is made to crash just as it is about to remove A's session, and holds B's copies then. A
/// broker started on what it holds gives them to B. Removed first, A's record would take the
/// messages with it, and the crash would lose them for good.
#[tokio::test]
async fn a_members_end_stores_the_messages_it_hands_over_before_its_record_goes_mqtt_4_8_2_5() {
    for ending in [
        Ending::DisconnectWithExpiry0,
        Ending::ExpiryElapses,
        Ending::CleanStart,
    ] {
        let (store, _gate) = KeepingStore::new();
        let (broker, addr) = start_on(Arc::clone(&store)).await;
        member(addr, "member-b", false, 100, QoS::ExactlyOnce)
            .await
            .disconnect()
            .await;
        let mut connect = connect_packet(V5, "member-a", false);
        connect.properties.session_expiry_interval = Some(match ending {
            Ending::ExpiryElapses => 1,
            _ => 300,
        });
        connect.properties.receive_maximum = NonZeroU16::new(1);
        let (mut a, _) = Client::connect_with(addr, connect).await;
        a.subscribe(1, GROUP, QoS::ExactlyOnce).await;
        publish_three(addr, QoS::ExactlyOnce)
            .await
            .disconnect()
            .await;
        // m0 in flight, its PUBREC never sent; m1 and m2 queued behind it.
        assert_eq!(payload(&next_publish(&mut a).await), "m0");
        assert_eq!(
            stored_payloads(&store, "member-a").await,
            ["m0", "m1", "m2"]
        );

        store.crash_at_removal_of("member-a");
        match ending {
            Ending::DisconnectWithExpiry0 => {
                let mut disconnect = Disconnect::new(ReasonCode::Success);
                disconnect.properties.session_expiry_interval = Some(0);
                a.send(Packet::Disconnect(disconnect)).await;
                assert!(a.until_closed().await.is_empty());
            }
            Ending::ExpiryElapses => a.disconnect().await,
            Ending::CleanStart => {
                a.disconnect().await;
                let (_again, ack) = Client::connect(addr, V5, "member-a", true).await;
                assert!(!ack.session_present);
            }
        }
        store.wait_crashed().await;
        assert_eq!(
            stored_payloads(&store, "member-b").await,
            ["m1", "m2"],
            "{ending:?}: A's record went before the store had B's copies"
        );

        let (broker, addr) = store.crash_and_restart(broker).await;
        let (mut b, ack) = persistent(addr, V5, "member-b").await;
        assert!(ack.session_present);
        for text in ["m1", "m2"] {
            let got = b.recv_publish().await;
            assert_eq!(payload(&got), text, "{ending:?}");
            assert_eq!(got.qos_pid.qos(), QoS::ExactlyOnce);
        }
        b.disconnect().await;
        broker.shutdown().await;
    }
}
