//! The hook chain in the runtime, over real sockets: CONNECT authentication (allow, deny with
//! the reason code on the wire for v3 and v5, next, timeout), the anonymous policy per
//! listener, the will checked at CONNECT, and lifecycle events.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use broker_core::codec::{Packet, Will};
use broker_core::config::ListenerConfig;
use broker_core::hooks::{
    Anonymous, AuthDecision, AuthSuccess, Event, FailurePolicy, HookChain, HookOptions, Interest,
    Refusal,
};
use broker_core::session::{CloseReason, DropReason};
use broker_core::types::{MqttString, ProtocolVersion, QoS, ReasonCode};
use broker_core::Broker;

use crate::support;
use crate::support::{connect_packet, topic, Client, V311, V5};
use crate::test_hook::TestHook;

/// A hook that lets alice in with password "secret" and refuses her with any other
/// (0x86); no opinion about anyone else.
fn password_hook() -> TestHook {
    TestHook::new("passwords", Interest::AUTHENTICATE).on_authenticate(|request| {
        let Some(user) = &request.client.username else {
            return Ok(AuthDecision::Next);
        };
        if user.as_str() != "alice" {
            return Ok(AuthDecision::Next);
        }
        Ok(match &request.password {
            Some(password) if password.matches(b"secret") => AuthDecision::allow(),
            _ => AuthDecision::Deny(
                Refusal::new(ReasonCode::BadUserNameOrPassword)
                    .with_reason(MqttString::new("wrong password").unwrap()),
            ),
        })
    })
}

fn login(
    version: ProtocolVersion,
    id: &str,
    user: &str,
    password: &str,
) -> broker_core::codec::Connect {
    let mut connect = connect_packet(version, id, true);
    connect.username = Some(MqttString::new(user).unwrap());
    connect.password = Some(password.as_bytes().to_vec().into());
    connect
}

async fn start_with_hook(hook: TestHook) -> (Broker, SocketAddr) {
    support::start_built(Broker::builder().config(support::config()).hook(hook)).await
}

#[tokio::test]
async fn hook_allows_and_denies_the_connect_v5_mqtt_3_2_2_6() {
    let hook = password_hook();
    let calls = hook.calls.clone();
    let (broker, addr) = start_with_hook(hook).await;
    let (alice, ack) = Client::connect_with(addr, login(V5, "a1", "alice", "secret")).await;
    assert_eq!(ack.code, ReasonCode::Success);
    // [MQTT-4.12.0-6]: no Authentication Method in the CONNACK of a plain CONNECT.
    assert_eq!(ack.properties.authentication_method, None);

    let (mut refused, ack) = Client::connect_with(addr, login(V5, "a2", "alice", "nope")).await;
    assert_eq!(ack.code, ReasonCode::BadUserNameOrPassword);
    // [MQTT-3.2.2-6]: Session Present 0 on a refusal; then the connection closes.
    assert!(!ack.session_present);
    assert_eq!(
        ack.properties
            .reason_string
            .as_ref()
            .map(MqttString::as_str),
        Some("wrong password")
    );
    assert!(refused.until_closed().await.is_empty());
    assert_eq!(calls.count("authenticate:a1"), 1);
    assert_eq!(calls.count("authenticate:a2"), 1);
    alice.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn refusal_codes_map_to_v3_return_codes() {
    // The hook refuses each client with the code its client id names.
    let hook = TestHook::new("codes", Interest::AUTHENTICATE).on_authenticate(|request| {
        let code = match request.client.client_id.as_str() {
            "bad-password" => ReasonCode::BadUserNameOrPassword,
            "not-authorized" => ReasonCode::NotAuthorized,
            "bad-method" => ReasonCode::BadAuthenticationMethod,
            "unavailable" => ReasonCode::ServerUnavailable,
            "busy" => ReasonCode::ServerBusy,
            "banned" => ReasonCode::Banned,
            _ => return Ok(AuthDecision::allow()),
        };
        Ok(AuthDecision::deny(code))
    });
    let (broker, addr) = start_with_hook(hook).await;
    // 3.1.1 §3.2.2.3: 4 bad user name or password, 5 not authorized, 3 server unavailable;
    // the client's decoder reads the return code back as the reason code it stands for.
    let expected = [
        ("bad-password", ReasonCode::BadUserNameOrPassword),
        ("not-authorized", ReasonCode::NotAuthorized),
        ("bad-method", ReasonCode::NotAuthorized),
        ("unavailable", ReasonCode::ServerUnavailable),
        ("busy", ReasonCode::ServerUnavailable),
        ("banned", ReasonCode::NotAuthorized),
    ];
    for (id, code) in expected {
        let (mut client, ack) = Client::connect_with(addr, connect_packet(V311, id, true)).await;
        assert_eq!(ack.code, code, "{id}");
        assert!(client.until_closed().await.is_empty());
    }
    // v5 gets the hook's code itself.
    let (mut client, ack) = Client::connect_with(addr, connect_packet(V5, "busy", true)).await;
    assert_eq!(ack.code, ReasonCode::ServerBusy);
    assert!(client.until_closed().await.is_empty());
    let (ok, _) = Client::connect(addr, V311, "someone-else", true).await;
    ok.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn v5_client_that_refuses_reason_strings_gets_none_mqtt_3_1_2_29() {
    let (broker, addr) = start_with_hook(password_hook()).await;
    let mut connect = login(V5, "a1", "alice", "nope");
    connect.properties.request_problem_information = Some(false);
    let (_client, ack) = Client::connect_with(addr, connect).await;
    assert_eq!(ack.code, ReasonCode::BadUserNameOrPassword);
    assert_eq!(ack.properties.reason_string, None);
    broker.shutdown().await;
}

#[tokio::test]
async fn the_hook_sees_who_connects_and_where_from() {
    let hook = TestHook::new("inspect", Interest::AUTHENTICATE).on_authenticate(|request| {
        let client = &request.client;
        let right = client.client_id.as_str() == "c1"
            && client.username.as_ref().map(|u| u.as_str()) == Some("bob")
            && request.password.as_ref().is_some_and(|p| p.matches(b"pw"))
            && client.protocol == ProtocolVersion::V3_1_1
            && client.listener.as_str() == "test"
            && client.peer_addr.is_some_and(|addr| addr.ip().is_loopback())
            && client.certificate.is_none()
            && request.enhanced.is_none();
        Ok(if right {
            AuthDecision::allow()
        } else {
            AuthDecision::deny(ReasonCode::NotAuthorized)
        })
    });
    let (broker, addr) = start_with_hook(hook).await;
    let (client, ack) = Client::connect_with(addr, login(V311, "c1", "bob", "pw")).await;
    assert_eq!(ack.code, ReasonCode::Success);
    client.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn next_falls_through_to_the_next_hook_then_to_the_anonymous_policy() {
    let first = TestHook::new("first", Interest::AUTHENTICATE);
    let second = TestHook::new("second", Interest::AUTHENTICATE).on_authenticate(|request| {
        Ok(match request.client.client_id.as_str() {
            "denied" => AuthDecision::deny(ReasonCode::Banned),
            "allowed" => AuthDecision::allow(),
            _ => AuthDecision::Next,
        })
    });
    let (first_calls, second_calls) = (first.calls.clone(), second.calls.clone());
    let chain = HookChain::builder()
        .hook(first)
        .hook(second)
        .require_authentication()
        .build();
    let (broker, addr) =
        support::start_built(Broker::builder().config(support::config()).hooks(chain)).await;
    let (_c, ack) = Client::connect_with(addr, connect_packet(V5, "denied", true)).await;
    assert_eq!(ack.code, ReasonCode::Banned);
    let (allowed, ack) = Client::connect_with(addr, connect_packet(V5, "allowed", true)).await;
    assert_eq!(ack.code, ReasonCode::Success);
    // Nobody has an opinion: anonymous clients are refused (0x87, v3 return code 5).
    let (_c, ack) = Client::connect_with(addr, connect_packet(V5, "nobody", true)).await;
    assert_eq!(ack.code, ReasonCode::NotAuthorized);
    let (_c, ack) = Client::connect_with(addr, connect_packet(V311, "nobody3", true)).await;
    assert_eq!(ack.code, ReasonCode::NotAuthorized);
    for id in ["denied", "allowed", "nobody"] {
        let call = format!("authenticate:{id}");
        assert_eq!(first_calls.count(&call), 1, "{id}");
        assert_eq!(second_calls.count(&call), 1, "{id}");
    }
    allowed.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn listener_allow_anonymous_overrides_the_chain() {
    // With no hook at all (the policy alone decides), and with a hook that has no opinion.
    for hooked in [false, true] {
        let localhost = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let mut config = support::config();
        config.listeners = vec![
            ListenerConfig::tcp("closed", localhost).allow_anonymous(false),
            ListenerConfig::tcp("open", localhost).allow_anonymous(true),
            ListenerConfig::tcp("default", localhost),
        ];
        let mut builder = Broker::builder().config(config).anonymous(Anonymous::Deny);
        if hooked {
            builder = builder.hook(TestHook::new("undecided", Interest::AUTHENTICATE));
        }
        let broker = builder.start().await.unwrap();
        let addrs = broker.local_addrs();
        let addr = |name: &str| addrs.iter().find(|(n, _)| n == name).unwrap().1;
        let (_c, ack) = Client::connect_with(addr("closed"), connect_packet(V5, "c1", true)).await;
        assert_eq!(ack.code, ReasonCode::NotAuthorized, "hooked: {hooked}");
        let (_c, ack) =
            Client::connect_with(addr("closed"), connect_packet(V311, "c2", true)).await;
        assert_eq!(ack.code, ReasonCode::NotAuthorized, "v3 return code 5");
        let (_c, ack) = Client::connect_with(addr("default"), connect_packet(V5, "c3", true)).await;
        assert_eq!(ack.code, ReasonCode::NotAuthorized, "the builder's policy");
        let (open, ack) = Client::connect_with(addr("open"), connect_packet(V5, "c4", true)).await;
        assert_eq!(ack.code, ReasonCode::Success, "hooked: {hooked}");
        open.disconnect().await;
        broker.shutdown().await;
    }
}

#[tokio::test]
async fn authenticate_timeout_refuses_the_connect() {
    // A hook slower than its timeout fails, and authentication failures deny (0x87).
    let hook = TestHook::new("slow", Interest::AUTHENTICATE)
        .on_authenticate(|_| Ok(AuthDecision::allow()))
        .slow_authenticate(Duration::from_secs(30));
    let options = HookOptions::default().timeout(Duration::from_millis(100));
    let (broker, addr) = support::start_built(
        Broker::builder()
            .config(support::config())
            .hook_with(hook, options),
    )
    .await;
    let (mut client, ack) = Client::connect_with(addr, connect_packet(V5, "c1", true)).await;
    assert_eq!(ack.code, ReasonCode::NotAuthorized);
    assert!(client.until_closed().await.is_empty());
    let (mut client, ack) = Client::connect_with(addr, connect_packet(V311, "c2", true)).await;
    assert_eq!(ack.code, ReasonCode::NotAuthorized, "v3 return code 5");
    assert!(client.until_closed().await.is_empty());
    assert_eq!(broker.handle().stats().auth_failures, 2);
    broker.shutdown().await;
}

#[tokio::test]
async fn failing_hook_with_next_policy_falls_through() {
    let broken = TestHook::new("broken", Interest::AUTHENTICATE).on_authenticate(|_| {
        Err(broker_core::hooks::HookError::Unavailable(
            "ldap down".into(),
        ))
    });
    let options = HookOptions::default().on_authenticate_failure(FailurePolicy::Next);
    let (broker, addr) = support::start_built(
        Broker::builder()
            .config(support::config())
            .hook_with(broken, options),
    )
    .await;
    // Fail open to the (default) anonymous policy: allowed.
    let (client, ack) = Client::connect_with(addr, connect_packet(V5, "c1", true)).await;
    assert_eq!(ack.code, ReasonCode::Success);
    client.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn refused_connect_does_not_take_the_client_id_over_mqtt_3_1_4_3() {
    // Authentication comes first: a refused CONNECT for a client id in use leaves the live
    // connection alone.
    let (broker, addr) = start_with_hook(password_hook()).await;
    let (mut alice, _) = Client::connect_with(addr, login(V5, "same", "alice", "secret")).await;
    let (_intruder, ack) = Client::connect_with(addr, login(V5, "same", "alice", "guess")).await;
    assert_eq!(ack.code, ReasonCode::BadUserNameOrPassword);
    alice.ping().await;
    alice.expect_nothing().await;
    alice.disconnect().await;
    broker.shutdown().await;
}

fn will(t: &str) -> Will {
    Will {
        topic: topic(t),
        payload: "gone".into(),
        qos: QoS::AtLeastOnce,
        retain: false,
        properties: Default::default(),
    }
}

#[tokio::test]
async fn will_the_client_may_not_publish_refuses_the_connect() {
    // As Mosquitto: the will's topic is checked at CONNECT (0x87, v3 return code 5).
    let hook = TestHook::new("acl", Interest::AUTHORIZE_PUBLISH).on_publish(|request| {
        Ok(if request.topic.as_str().starts_with("private/") {
            broker_core::hooks::AuthzDecision::deny(ReasonCode::NotAuthorized)
        } else {
            broker_core::hooks::AuthzDecision::allow()
        })
    });
    let calls = hook.calls.clone();
    let (broker, addr) = start_with_hook(hook).await;
    for version in [V5, V311] {
        let mut connect = connect_packet(version, "w1", true);
        connect.will = Some(will("private/w1"));
        let (mut client, ack) = Client::connect_with(addr, connect).await;
        assert_eq!(ack.code, ReasonCode::NotAuthorized);
        assert!(client.until_closed().await.is_empty());
    }
    let mut connect = connect_packet(V5, "w2", true);
    connect.will = Some(will("public/w2"));
    let (client, ack) = Client::connect_with(addr, connect).await;
    assert_eq!(ack.code, ReasonCode::Success);
    assert_eq!(calls.count("publish:private/w1"), 2);
    assert_eq!(calls.count("publish:public/w2"), 1);
    client.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn lifecycle_events_reach_the_hook() {
    let hook = TestHook::new("events", Interest::EVENTS);
    let events = hook.events.clone();
    let (broker, addr) = start_with_hook(hook).await;
    let (mut sub, _) = Client::connect(addr, V5, "sub", true).await;
    events
        .wait_for("connected", |e| {
            matches!(e, Event::Connected { client, session_present: false } if client.client_id.as_str() == "sub")
        })
        .await;
    sub.subscribe(1, "t/#", QoS::AtLeastOnce).await;
    events
        .wait_for("subscribed", |e| {
            matches!(e, Event::Subscribed { filter, qos: QoS::AtLeastOnce, .. } if filter.as_str() == "t/#")
        })
        .await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("t/1", "hello", QoS::AtLeastOnce, false, 1)
        .await;
    assert_eq!(sub.recv_publish().await.payload, "hello");
    events
        .wait_for("delivered", |e| {
            matches!(e, Event::MessageDelivered { client_id, topic, qos: QoS::AtLeastOnce } if client_id.as_str() == "sub" && topic.as_str() == "t/1")
        })
        .await;
    sub.send(Packet::Unsubscribe(broker_core::codec::Unsubscribe {
        packet_id: support::pid(2),
        filters: vec![support::filter("t/#")],
        properties: Default::default(),
    }))
    .await;
    assert!(matches!(sub.recv().await, Some(Packet::UnsubAck(_))));
    events
        .wait_for(
            "unsubscribed",
            |e| matches!(e, Event::Unsubscribed { filter, .. } if filter.as_str() == "t/#"),
        )
        .await;
    sub.disconnect().await;
    events
        .wait_for("disconnected", |e| {
            matches!(e, Event::Disconnected { client_id, reason: CloseReason::ClientDisconnect(ReasonCode::Success) } if client_id.as_str() == "sub")
        })
        .await;
    publisher.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn dropped_messages_are_reported_with_why() {
    let hook = TestHook::new("events", Interest::EVENTS);
    let events = hook.events.clone();
    let (broker, addr) = start_with_hook(hook).await;
    // A persistent session goes offline; QoS 0 messages for it are not queued.
    let (mut sub, _) = Client::connect(addr, V311, "offline", false).await;
    sub.subscribe(1, "d/#", QoS::AtMostOnce).await;
    sub.disconnect().await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    publisher
        .publish("d/1", "lost", QoS::AtMostOnce, false, 0)
        .await;
    publisher.ping().await;
    events
        .wait_for("dropped", |e| {
            matches!(e, Event::MessageDropped { client_id, topic, reason: DropReason::Qos0NotQueued, .. } if client_id.as_str() == "offline" && topic.as_str() == "d/1")
        })
        .await;
    publisher.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn failing_event_hook_leaves_connections_alone() {
    let hook = TestHook::new("events", Interest::EVENTS).failing_events();
    let events = hook.events.clone();
    let (broker, addr) = start_with_hook(hook).await;
    let (mut sub, _) = Client::connect(addr, V5, "sub", true).await;
    sub.subscribe(1, "t", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Client::connect(addr, V5, "pub", true).await;
    for n in 1..=3 {
        publisher
            .publish("t", "x", QoS::AtLeastOnce, false, n)
            .await;
        assert_eq!(sub.recv_publish().await.topic.unwrap().as_str(), "t");
    }
    events
        .wait_for("delivered", |e| matches!(e, Event::MessageDelivered { .. }))
        .await;
    sub.ping().await;
    sub.disconnect().await;
    publisher.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn connack_carries_the_hooks_reason_string_on_success() {
    let hook = TestHook::new("greeter", Interest::AUTHENTICATE).on_authenticate(|_| {
        Ok(AuthDecision::Allow(AuthSuccess {
            data: None,
            reason: Some(MqttString::new("welcome").unwrap()),
            ..AuthSuccess::default()
        }))
    });
    let (broker, addr) = start_with_hook(hook).await;
    let (client, ack) = Client::connect(addr, V5, "c1", true).await;
    assert_eq!(
        ack.properties
            .reason_string
            .as_ref()
            .map(MqttString::as_str),
        Some("welcome")
    );
    client.disconnect().await;
    broker.shutdown().await;
}
