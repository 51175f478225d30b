//! Shared subscriptions over real sockets: the messages a member leaves unacknowledged go to
//! another member of the group when its session ends or it unsubscribes (MQTT 5.0 §4.8.2),
//! a QoS 2 message whose exchange began excepted ([MQTT-4.8.2-5]), and stay with it while
//! its session merely waits offline.

use std::collections::BTreeSet;
use std::num::NonZeroU16;

use broker_core::codec::{Ack, Packet, Publish, QosPid};
use broker_core::types::{QoS, ReasonCode};

use crate::support;
use crate::support::{connect_packet, Client, V311, V5};

const GROUP: &str = "$share/g/work/#";
const PAYLOADS: [&str; 6] = ["m0", "m1", "m2", "m3", "m4", "m5"];

fn payload(publish: &Publish) -> String {
    String::from_utf8(publish.payload.to_vec()).unwrap()
}

/// A v5 member with Receive Maximum `receive_maximum`, subscribed to [`GROUP`] at `qos`.
async fn member(addr: std::net::SocketAddr, id: &str, receive_maximum: u16, qos: QoS) -> Client {
    let mut connect = connect_packet(V5, id, true);
    connect.properties.receive_maximum = NonZeroU16::new(receive_maximum);
    let (mut client, ack) = Client::connect_with(addr, connect).await;
    assert_eq!(ack.code, ReasonCode::Success);
    client.subscribe(1, GROUP, qos).await;
    client
}

/// The next PUBLISH, not acknowledged.
async fn next_publish(client: &mut Client) -> Publish {
    match client.recv().await {
        Some(Packet::Publish(publish)) => publish,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

/// Publishes every payload of [`PAYLOADS`] at QoS 1 to `work/x`.
async fn publish_all(publisher: &mut Client) {
    for (i, p) in PAYLOADS.iter().enumerate() {
        let id = u16::try_from(i).unwrap() + 1;
        publisher
            .publish("work/x", p, QoS::AtLeastOnce, false, id)
            .await;
    }
}

// MQTT 5.0 §4.8.2: "If the Client's Session terminates before the Client reconnects, the
// Server SHOULD send the Application Message to another Client that is subscribed to the
// same Shared Subscription". Member A (Receive Maximum 1) holds one QoS 1 message in flight
// unacknowledged and two queued behind it; its session ends (clean start, DISCONNECT):
// member B gets all three, so the group loses nothing.
#[tokio::test]
async fn unacknowledged_and_queued_messages_go_to_another_member_when_the_session_ends() {
    let (broker, addr) = support::start().await;
    let mut a = member(addr, "member-a", 1, QoS::AtLeastOnce).await;
    let mut b = member(addr, "member-b", 100, QoS::AtLeastOnce).await;
    let (mut publisher, _) = Client::connect(addr, V5, "pub", true).await;
    publish_all(&mut publisher).await;

    // Round robin: three each. A takes one (never acknowledged); two wait behind it.
    let in_flight = next_publish(&mut a).await;
    assert_eq!(in_flight.qos_pid.qos(), QoS::AtLeastOnce);
    a.expect_nothing().await;
    let mut got_b = BTreeSet::new();
    for _ in 0..3 {
        got_b.insert(payload(&b.recv_publish().await));
    }
    assert!(!got_b.contains(&payload(&in_flight)));

    a.disconnect().await; // clean start, Session Expiry 0: the session ends

    let mut redelivered = Vec::new();
    for _ in 0..3 {
        let publish = b.recv_publish().await;
        assert!(!publish.dup, "a first delivery to B [MQTT-4.3.2-2]");
        redelivered.push(payload(&publish));
    }
    assert_eq!(
        redelivered.first(),
        Some(&payload(&in_flight)),
        "the in-flight message first, then the queued ones in order [MQTT-4.6.0-5]"
    );
    got_b.extend(redelivered);
    let all: BTreeSet<String> = PAYLOADS.iter().map(|p| (*p).to_owned()).collect();
    assert_eq!(got_b, all, "the group received every message");
    b.expect_nothing().await;
    publisher.disconnect().await;
    broker.shutdown().await;
}

// [MQTT-4.8.2-5]: "If the Client's Session terminates before the Client reconnects, the
// Server MUST NOT send the Application Message to any other subscribed Client" (a QoS 2
// message the server was sending). A QoS 2 message whose PUBLISH went out and whose PUBREC
// never came, on a connection that just drops (3.1.1, clean session): its exchange began and
// the client may have delivered it, so no other member gets it; it is counted as dropped.
#[tokio::test]
async fn qos2_message_sent_without_pubrec_goes_to_no_other_member_mqtt_4_8_2_5() {
    let (broker, addr) = support::start().await;
    let (mut a, _) = Client::connect(addr, V311, "member-a", true).await;
    a.subscribe(1, GROUP, QoS::ExactlyOnce).await;
    let (mut b, _) = Client::connect(addr, V311, "member-b", true).await;
    b.subscribe(1, GROUP, QoS::ExactlyOnce).await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("work/1", "first", QoS::ExactlyOnce, false, 1)
        .await;
    publisher
        .publish("work/2", "second", QoS::ExactlyOnce, false, 2)
        .await;
    let held = next_publish(&mut a).await;
    assert_eq!(held.qos_pid.qos(), QoS::ExactlyOnce);
    let other = b.recv_publish().await;
    assert_ne!(payload(&held), payload(&other));
    drop(a); // no PUBREC, no DISCONNECT

    b.expect_nothing().await;
    let handle = broker.handle();
    let deadline = tokio::time::Instant::now() + support::WAIT;
    while handle.stats().dropped.no_shared_member == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the message A held was not counted as dropped"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    assert_eq!(handle.stats().dropped.no_shared_member, 1);
    publisher.disconnect().await;
    broker.shutdown().await;
}

// MQTT 5.0 §4.8.2 and [MQTT-3.10.4-3]: a member that unsubscribes hands its queued messages
// to another member; the one in flight stays with it (it is connected and acknowledges it),
// so nobody gets it twice.
#[tokio::test]
async fn unsubscribing_member_hands_its_queued_messages_to_another() {
    let (broker, addr) = support::start().await;
    let mut a = member(addr, "member-a", 1, QoS::AtLeastOnce).await;
    let mut b = member(addr, "member-b", 100, QoS::AtLeastOnce).await;
    let (mut publisher, _) = Client::connect(addr, V5, "pub", true).await;
    publish_all(&mut publisher).await;
    let in_flight = next_publish(&mut a).await;
    let mut got_b = BTreeSet::new();
    for _ in 0..3 {
        got_b.insert(payload(&b.recv_publish().await));
    }

    a.send(Packet::Unsubscribe(broker_core::codec::Unsubscribe {
        packet_id: support::pid(2),
        filters: vec![support::filter(GROUP)],
        properties: Default::default(),
    }))
    .await;
    match a.recv().await {
        Some(Packet::UnsubAck(ack)) => assert_eq!(ack.codes, [ReasonCode::Success]),
        other => panic!("expected UNSUBACK, got {other:?}"),
    }
    for _ in 0..2 {
        got_b.insert(payload(&b.recv_publish().await));
    }
    // A finishes the one it has; then nothing more comes to anyone.
    let id = in_flight.qos_pid.packet_id().unwrap();
    a.send(Packet::PubAck(Ack::new(id))).await;
    a.expect_nothing().await;
    b.expect_nothing().await;
    got_b.insert(payload(&in_flight));
    assert_eq!(got_b.len(), PAYLOADS.len(), "each message delivered once");
    a.disconnect().await;
    b.expect_nothing().await;
    publisher.disconnect().await;
    broker.shutdown().await;
}

// MQTT 5.0 §4.8.2: "the Server MAY wait for the Client to reconnect and retransmit the message
// to that Client". A member whose session persists keeps its unacknowledged message while
// offline, and gets it again (DUP set, [MQTT-4.4.0-1]) when it resumes.
#[tokio::test]
async fn offline_member_keeps_its_message_and_gets_it_again_on_resume() {
    let (broker, addr) = support::start().await;
    let (mut a, _) = Client::connect(addr, V311, "member-a", false).await;
    a.subscribe(1, GROUP, QoS::AtLeastOnce).await;
    let (mut b, _) = Client::connect(addr, V311, "member-b", true).await;
    b.subscribe(1, GROUP, QoS::AtLeastOnce).await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("work/1", "one", QoS::AtLeastOnce, false, 1)
        .await;
    publisher
        .publish("work/2", "two", QoS::AtLeastOnce, false, 2)
        .await;
    let held = next_publish(&mut a).await;
    b.recv_publish().await;
    drop(a);
    b.expect_nothing().await;

    let (mut a, ack) = Client::connect(addr, V311, "member-a", false).await;
    assert!(ack.session_present);
    let again = next_publish(&mut a).await;
    assert!(again.dup, "[MQTT-4.4.0-1] retransmitted with DUP");
    assert_eq!(payload(&again), payload(&held));
    assert!(
        matches!(again.qos_pid, QosPid::AtLeastOnce(id) if Some(id) == held.qos_pid.packet_id())
    );
    a.send(Packet::PubAck(Ack::new(again.qos_pid.packet_id().unwrap())))
        .await;
    a.disconnect().await;
    publisher.disconnect().await;
    broker.shutdown().await;
}
