//! Parking a quiet session ([`Session::park`]) and resuming it: what a parked session keeps
//! comes back intact (will, topic aliases both ways, subscriptions, Session Expiry, the Keep
//! Alive deadline, the packet identifier cursor), a session with anything in flight is not
//! parked, and the parked form stays small.

use std::num::NonZeroU16;
use std::sync::Arc;
use std::time::Duration;

use broker_core::codec::{Ack, Packet, QosPid, Will, WillProperties};
use broker_core::session::{
    CloseReason, Command, DeliverOutcome, Message, ParkedSession, PublishOutcome, QueuedMessage,
    Session, SessionConfig,
};
use broker_core::types::{MqttString, ProtocolVersion, QoS, ReasonCode, TopicAlias, TopicFilter};

use crate::harness::{pid, publish, topic, Harness};

/// The inline size of a parked session this change reached; the parked form is what every
/// idle connection costs, so growing it should be a decision, not an accident.
const PARKED_INLINE_BUDGET: usize = 96;

/// Parks the harness's session and resumes it with the default configuration.
fn park_and_resume(h: &mut Harness) -> ParkedSummary {
    let empty = placeholder(h);
    let session = std::mem::replace(&mut h.session, empty);
    let timeout = session.poll_timeout();
    let parked = match session.park() {
        Ok(parked) => parked,
        Err(_) => panic!("a quiet session must park"),
    };
    assert_eq!(parked.poll_timeout(), timeout);
    let summary = ParkedSummary {
        client_id: parked.client_id().as_str().to_owned(),
        version: parked.version(),
        subscriptions: parked.subscription_count(),
        has_will: parked.has_will(),
    };
    h.session = parked.resume(Arc::new(SessionConfig::default()));
    summary
}

struct ParkedSummary {
    client_id: String,
    version: Option<ProtocolVersion>,
    subscriptions: usize,
    has_will: bool,
}

fn placeholder(h: &Harness) -> Session {
    Session::new(Arc::new(SessionConfig::default()), h.now)
}

/// Tries to park the harness's session; gives it back (resumed if it parked) and says
/// whether it parked.
fn try_park(h: &mut Harness) -> bool {
    let empty = placeholder(h);
    let session = std::mem::replace(&mut h.session, empty);
    match session.park() {
        Ok(parked) => {
            h.session = parked.resume(Arc::new(SessionConfig::default()));
            true
        }
        Err(session) => {
            h.session = session;
            false
        }
    }
}

fn will() -> Will {
    Will {
        topic: topic("wills/c1"),
        payload: "gone".into(),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: WillProperties::default(),
    }
}

fn queued(name: &str, qos: QoS) -> QueuedMessage {
    let message = Message::new(
        topic(name),
        "m".into(),
        qos,
        false,
        Default::default(),
        std::time::Instant::now(),
    );
    QueuedMessage::new(message, qos, false, Vec::new())
}

fn deliver(h: &mut Harness, name: &str, qos: QoS) -> broker_core::codec::Publish {
    let outcome = h.session.deliver(queued(name, qos), h.now);
    assert!(matches!(outcome, DeliverOutcome::Sent), "{outcome:?}");
    match h.sent().as_slice() {
        [Packet::Publish(p)] => p.clone(),
        other => panic!("expected one PUBLISH, got {other:?}"),
    }
}

/// A v5 client with a will, Keep Alive 10 s, Session Expiry 300 s, Topic Alias Maximum 5,
/// one subscription, an inbound alias 1 -> "in/topic" and an outbound alias for
/// "out/topic".
fn rich_v5() -> Harness {
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut connect = h.connect_packet("c1");
    connect.keep_alive = 10;
    connect.clean_start = false;
    connect.will = Some(will());
    connect.properties.session_expiry_interval = Some(300);
    connect.properties.topic_alias_maximum = Some(5);
    h.connect_with(connect, None);
    h.subscribe(1, "out/#", QoS::AtLeastOnce);

    let mut named = publish("in/topic", "x", QosPid::AtMostOnce);
    named.properties.topic_alias = Some(TopicAlias::new(1).unwrap());
    h.send(Packet::Publish(named));
    let request = h.expect_publish();
    assert_eq!(request.message.topic.as_str(), "in/topic");

    let first = deliver(&mut h, "out/topic", QoS::AtMostOnce);
    assert_eq!(first.properties.topic_alias, TopicAlias::new(1).ok());
    assert!(first.topic.is_some());
    h
}

#[test]
fn a_rich_v5_session_resumes_with_everything_intact() {
    let mut h = rich_v5();
    h.advance(Duration::from_secs(4));
    let last_received = h.now;
    h.send(Packet::PingReq);
    let _ = h.sent();
    h.advance(Duration::from_secs(3));

    let parked = park_and_resume(&mut h);
    assert_eq!(parked.client_id, "c1");
    assert_eq!(parked.version, Some(ProtocolVersion::V5));
    assert_eq!(parked.subscriptions, 1);
    assert!(parked.has_will);

    assert!(h.session.is_connected());
    assert_eq!(h.session.client_id().map(|c| c.as_str()), Some("c1"));
    // [MQTT-3.1.2-22]: still one and a half Keep Alive after the last packet, not after the
    // resume.
    assert_eq!(
        h.session.poll_timeout(),
        Some(last_received + Duration::from_secs(15))
    );
    let filter = TopicFilter::new("out/#").unwrap();
    let subscription = h.session.state().subscription(&filter).cloned();
    assert_eq!(subscription.map(|s| s.options.qos), Some(QoS::AtLeastOnce));
    assert_eq!(
        h.session.will().map(|w| w.message.topic.as_str()),
        Some("wills/c1")
    );

    // The client's alias 1 still names "in/topic" (MQTT 5.0 §3.3.2.3.4).
    let mut alias_only = publish("in/topic", "y", QosPid::AtMostOnce);
    alias_only.topic = None;
    alias_only.properties.topic_alias = Some(TopicAlias::new(1).unwrap());
    h.send(Packet::Publish(alias_only));
    assert_eq!(h.expect_publish().message.topic.as_str(), "in/topic");

    // The client still maps the server's alias 1 to "out/topic": the alias alone is sent.
    let again = deliver(&mut h, "out/topic", QoS::AtMostOnce);
    assert_eq!(again.properties.topic_alias, TopicAlias::new(1).ok());
    assert_eq!(again.topic, None);

    // [MQTT-3.1.2-8]: the will is published when the connection is lost; the Session
    // Expiry Interval is the one of the CONNECT.
    h.session.connection_lost(h.now);
    let close = h.expect_close();
    assert_eq!(close.reason, CloseReason::ConnectionLost);
    assert_eq!(
        close.will.map(|w| w.message.topic.as_str().to_owned()),
        Some("wills/c1".to_owned())
    );
    assert_eq!(close.session_expiry, 300);
}

#[test]
fn keep_alive_fires_at_the_same_instant_after_resume_mqtt_3_1_2_22() {
    let mut h = rich_v5();
    let deadline = h.now + Duration::from_secs(15);
    h.advance(Duration::from_secs(9));
    park_and_resume(&mut h);
    h.session
        .handle_timeout(deadline - Duration::from_millis(1));
    assert!(h.session.is_connected());
    assert!(h.sent().is_empty());
    h.session.handle_timeout(deadline);
    assert!(h.session.is_closed());
    assert!(
        matches!(&h.sent()[..], [Packet::Disconnect(d)] if d.code == ReasonCode::KeepAliveTimeout)
    );
    let close = h.expect_close();
    assert_eq!(close.reason, CloseReason::KeepAliveTimeout);
    assert!(close.will.is_some(), "[MQTT-3.1.2-8]");
}

#[test]
fn a_qos1_message_in_flight_keeps_the_session_awake() {
    let mut h = Harness::new(ProtocolVersion::V5);
    h.connect("c1");
    let sent = deliver(&mut h, "a/b", QoS::AtLeastOnce);
    let id = sent.qos_pid.packet_id().unwrap();
    assert!(!try_park(&mut h), "[MQTT-4.3.2-3]: a PUBACK is awaited");
    // The session given back still works: the PUBACK completes the exchange.
    assert_eq!(h.session.state().outbound().len(), 1);
    h.send(Packet::PubAck(Ack::new(id)));
    assert!(h.session.state().outbound().is_empty());
    assert!(try_park(&mut h));
}

#[test]
fn a_pending_pubrel_keeps_the_session_awake() {
    // The client published QoS 2 and has not released it ([MQTT-4.3.3-10]).
    let mut h = Harness::new(ProtocolVersion::V5);
    h.connect("c1");
    h.send(Packet::Publish(publish(
        "a/b",
        "x",
        QosPid::ExactlyOnce(pid(7)),
    )));
    let ack = h.expect_publish().ack.unwrap();
    h.session
        .complete_publish(ack, PublishOutcome::Routed { matched: true });
    assert!(matches!(&h.sent()[..], [Packet::PubRec(a)] if a.packet_id == pid(7)));
    assert!(!try_park(&mut h));
    // A repeat is still recognized as one on the session given back.
    h.send(Packet::Publish(publish(
        "a/b",
        "x",
        QosPid::ExactlyOnce(pid(7)),
    )));
    assert!(
        h.commands().is_empty(),
        "[MQTT-4.3.3-10]: not delivered twice"
    );
    assert!(matches!(&h.sent()[..], [Packet::PubRec(a)] if a.packet_id == pid(7)));
    h.send(Packet::PubRel(Ack::new(pid(7))));
    assert!(matches!(&h.sent()[..], [Packet::PubComp(a)] if a.code == ReasonCode::Success));
    assert!(try_park(&mut h));
}

#[test]
fn an_awaited_pubcomp_keeps_the_session_awake() {
    // The server sent PUBREL and waits for PUBCOMP ([MQTT-4.3.3-5]).
    let mut h = Harness::new(ProtocolVersion::V5);
    h.connect("c1");
    let sent = deliver(&mut h, "a/b", QoS::ExactlyOnce);
    let id = sent.qos_pid.packet_id().unwrap();
    h.send(Packet::PubRec(Ack::new(id)));
    assert!(matches!(&h.sent()[..], [Packet::PubRel(a)] if a.packet_id == id));
    assert!(!try_park(&mut h));
    h.send(Packet::PubComp(Ack::new(id)));
    assert!(try_park(&mut h));
}

#[test]
fn only_a_quiet_connected_session_parks() {
    let mut h = Harness::new(ProtocolVersion::V5);
    // Before CONNECT, and while the runtime has it.
    assert!(!try_park(&mut h));
    h.send(Packet::Connect(Box::new(h.connect_packet("c1"))));
    assert!(!try_park(&mut h));
    let _ = h.expect_connect_request();
    h.session.accept(None, h.now);
    // CONNACK not yet written.
    assert!(!try_park(&mut h));
    let _ = h.sent();
    assert!(try_park(&mut h));
    // A SUBSCRIBE with the runtime.
    h.send(Packet::Subscribe(broker_core::codec::Subscribe {
        packet_id: pid(1),
        subscriptions: vec![broker_core::codec::Subscription {
            filter: TopicFilter::new("a").unwrap(),
            options: broker_core::codec::SubscriptionOptions::qos(QoS::AtMostOnce),
        }],
        properties: Default::default(),
    }));
    let request = match h.commands().pop() {
        Some(Command::Subscribe(request)) => request,
        other => panic!("expected Subscribe, got {other:?}"),
    };
    assert!(!try_park(&mut h));
    let granted = [broker_core::session::FilterOutcome::Granted(
        QoS::AtMostOnce,
    )];
    h.session.complete_subscribe(request.packet_id, &granted);
    assert!(!try_park(&mut h), "SUBACK not yet written");
    let _ = h.sent();
    assert!(try_park(&mut h));
    // Closed.
    h.session.connection_lost(h.now);
    let _ = h.commands();
    assert!(!try_park(&mut h));
}

#[test]
fn a_reauthentication_under_way_keeps_the_session_awake() {
    let method = MqttString::new("SCRAM-SHA-1").unwrap();
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut connect = h.connect_packet("c1");
    connect.properties.authentication_method = Some(method.clone());
    h.connect_with(connect, None);
    assert!(try_park(&mut h), "the method alone does not keep it awake");
    assert_eq!(h.session.auth_method(), Some(&method));
    h.send(Packet::Auth(broker_core::codec::Auth {
        code: ReasonCode::ReAuthenticate,
        properties: broker_core::codec::AuthProperties {
            authentication_method: Some(method.clone()),
            ..Default::default()
        },
    }));
    let _ = h.command();
    assert!(!try_park(&mut h));
    assert!(h.session.is_reauthenticating());
    h.session.auth_success(None, None);
    // [MQTT-4.12.0-5]: the AUTH carries the method kept across the park.
    assert!(matches!(&h.sent()[..], [Packet::Auth(a)]
        if a.properties.authentication_method.as_ref() == Some(&method)));
    assert!(try_park(&mut h));
}

#[test]
fn typical_idle_clients_park() {
    for version in [ProtocolVersion::V3_1_1, ProtocolVersion::V5] {
        for clean_start in [true, false] {
            for with_will in [false, true] {
                for subscribed in [false, true] {
                    let mut h = Harness::new(version);
                    let mut connect = h.connect_packet("device-0042");
                    connect.clean_start = clean_start;
                    connect.will = with_will.then(will);
                    h.connect_with(connect, None);
                    if subscribed {
                        h.subscribe(1, "devices/0042/cmd", QoS::AtLeastOnce);
                    }
                    let subscriptions_before = h.session.state().subscription_count();
                    let parked = park_and_resume(&mut h);
                    assert_eq!(parked.client_id, "device-0042");
                    assert_eq!(parked.version, Some(version));
                    assert_eq!(parked.has_will, with_will);
                    assert_eq!(parked.subscriptions, usize::from(subscribed));
                    assert_eq!(h.session.state().subscription_count(), subscriptions_before);
                    // Session Expiry (3.x: 0 for a clean session, the server's maximum
                    // otherwise) survives: it is what the Close carries.
                    h.session.connection_lost(h.now);
                    let close = h.expect_close();
                    let expected = match (version, clean_start) {
                        (ProtocolVersion::V5, _) | (_, true) => 0,
                        _ => SessionConfig::default().max_session_expiry,
                    };
                    assert_eq!(close.session_expiry, expected);
                    assert_eq!(close.will.is_some(), with_will, "[MQTT-3.1.2-8]");
                }
            }
        }
    }
}

#[test]
fn the_packet_identifier_cursor_survives_mqtt_2_2_1_4() {
    // Identifiers are reused as late as possible: after 1 was acknowledged, the next is 2,
    // parked or not.
    let mut h = Harness::new(ProtocolVersion::V5);
    h.connect("c1");
    let first = deliver(&mut h, "a/b", QoS::AtLeastOnce);
    assert_eq!(first.qos_pid.packet_id(), Some(pid(1)));
    h.send(Packet::PubAck(Ack::new(pid(1))));
    park_and_resume(&mut h);
    let second = deliver(&mut h, "a/b", QoS::AtLeastOnce);
    assert_eq!(second.qos_pid.packet_id(), Some(pid(2)));
}

#[test]
fn receive_maximum_survives_mqtt_3_3_4_9() {
    // The client's Receive Maximum of 1 still bounds the window after a park.
    let mut h = Harness::new(ProtocolVersion::V5);
    let mut connect = h.connect_packet("c1");
    connect.properties.receive_maximum = NonZeroU16::new(1);
    h.connect_with(connect, None);
    park_and_resume(&mut h);
    let _ = deliver(&mut h, "a/b", QoS::AtLeastOnce);
    assert!(!h.session.can_deliver(QoS::AtLeastOnce));
    assert!(h.session.can_deliver(QoS::AtMostOnce));
}

#[test]
fn the_parked_form_stays_within_its_inline_budget() {
    let size = std::mem::size_of::<ParkedSession>();
    assert!(
        size <= PARKED_INLINE_BUDGET,
        "ParkedSession is {size} bytes inline, budget {PARKED_INLINE_BUDGET}"
    );
}
