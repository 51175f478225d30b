//! Authorization and rewriting through the hook chain in the runtime, over real sockets:
//! PUBLISH and SUBSCRIBE decisions on the wire for v3 and v5 (allow, deny with its code,
//! next), failure policies, the decision cache (hit and expiry), topic and filter rewriting.

use std::net::SocketAddr;
use std::time::Duration;

use broker_core::codec::{Packet, Unsubscribe};
use broker_core::hooks::{
    Attributes, AuthDecision, AuthSuccess, AuthzDecision, FailurePolicy, FilterRewrite, HookError,
    HookOptions, Interest, Refusal, TopicRewrite,
};
use broker_core::types::{MqttString, QoS, ReasonCode, TopicFilter, TopicName};
use broker_core::Broker;

use crate::support;
use crate::support::{filter, pid, Client, V311, V5};
use crate::test_hook::TestHook;

/// Publishing and subscribing under `secret/` is refused (with a reason string), `open/` is
/// allowed, anything else gets no opinion.
fn acl() -> TestHook {
    fn decide(topic: &str) -> AuthzDecision {
        if topic.starts_with("secret/") {
            AuthzDecision::refuse(
                Refusal::not_authorized().with_reason(MqttString::new("acl").unwrap()),
            )
        } else if topic.starts_with("open/") {
            AuthzDecision::allow()
        } else {
            AuthzDecision::Next
        }
    }
    TestHook::new("acl", Interest::AUTHORIZE)
        .on_publish(|request| Ok(decide(request.topic.as_str())))
        .on_subscribe(|request| Ok(decide(request.filter.as_str())))
}

async fn start_with(builder: broker_core::BrokerBuilder) -> (Broker, SocketAddr) {
    support::start_built(builder.config(support::config())).await
}

/// A subscriber to `#` that must receive nothing more: a PINGREQ comes back first.
async fn assert_nothing_for(sub: &mut Client) {
    sub.ping().await;
    sub.expect_nothing().await;
}

#[tokio::test]
async fn denied_publish_gets_0x87_in_v5_puback_and_pubrec() {
    let (broker, addr) = start_with(Broker::builder().hook(acl())).await;
    let (mut sub, _) = Client::connect(addr, V5, "sub", true).await;
    sub.subscribe(1, "#", QoS::ExactlyOnce).await;
    let (mut publisher, _) = Client::connect(addr, V5, "pub", true).await;

    let ack = publisher
        .publish_for_ack("secret/a", QoS::AtLeastOnce, 1)
        .await;
    assert_eq!(ack.code, ReasonCode::NotAuthorized);
    assert_eq!(
        ack.properties
            .reason_string
            .as_ref()
            .map(MqttString::as_str),
        Some("acl")
    );
    let rec = publisher
        .publish_for_ack("secret/b", QoS::ExactlyOnce, 2)
        .await;
    assert_eq!(rec.code, ReasonCode::NotAuthorized);
    // QoS 0: dropped without a word.
    publisher
        .publish("secret/c", "x", QoS::AtMostOnce, false, 0)
        .await;
    publisher.ping().await;
    assert_nothing_for(&mut sub).await;

    // Allowed, and no opinion (the chain's default is allow).
    publisher
        .publish("open/a", "1", QoS::AtLeastOnce, false, 3)
        .await;
    publisher
        .publish("other", "2", QoS::ExactlyOnce, false, 4)
        .await;
    assert_eq!(sub.recv_publish().await.payload, "1");
    assert_eq!(sub.recv_publish().await.payload, "2");
    assert_eq!(broker.handle().stats().dropped.not_authorized, 3);
    publisher.disconnect().await;
    sub.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn denied_publish_is_acknowledged_and_dropped_in_v3() {
    let (broker, addr) = start_with(Broker::builder().hook(acl())).await;
    let (mut sub, _) = Client::connect(addr, V311, "sub", true).await;
    sub.subscribe(1, "#", QoS::ExactlyOnce).await;
    let (mut publisher, _) = Client::connect(addr, V311, "pub", true).await;
    // As Mosquitto: PUBACK, and the full QoS 2 exchange, as if it went through.
    publisher
        .publish("secret/a", "x", QoS::AtLeastOnce, false, 1)
        .await;
    publisher
        .publish("secret/b", "x", QoS::ExactlyOnce, false, 2)
        .await;
    assert_nothing_for(&mut sub).await;
    publisher
        .publish("open/a", "ok", QoS::AtLeastOnce, false, 3)
        .await;
    assert_eq!(sub.recv_publish().await.payload, "ok");
    publisher.disconnect().await;
    sub.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn denied_filters_get_0x87_in_v5_suback_and_0x80_in_v3() {
    let (broker, addr) = start_with(Broker::builder().hook(acl())).await;
    let (mut v5, _) = Client::connect(addr, V5, "sub5", true).await;
    let ack = v5.subscribe(1, "secret/#", QoS::AtLeastOnce).await;
    assert_eq!(ack.codes, vec![ReasonCode::NotAuthorized]);
    // One SUBSCRIBE, two filters: each gets its own code, in order ([MQTT-3.8.4-7]).
    v5.send(Packet::Subscribe(broker_core::codec::Subscribe {
        packet_id: pid(2),
        subscriptions: vec![
            sub_to("open/#", QoS::AtLeastOnce),
            sub_to("secret/x", QoS::AtLeastOnce),
        ],
        properties: Default::default(),
    }))
    .await;
    match v5.recv().await {
        Some(Packet::SubAck(ack)) => assert_eq!(
            ack.codes,
            vec![ReasonCode::GrantedQoS1, ReasonCode::NotAuthorized]
        ),
        other => panic!("expected SUBACK, got {other:?}"),
    }
    let (mut v3, _) = Client::connect(addr, V311, "sub3", true).await;
    let ack = v3.subscribe(1, "secret/#", QoS::AtLeastOnce).await;
    // 0x80 on the wire; the decoder reads it back as 0x80 Unspecified error.
    assert_eq!(ack.codes, vec![ReasonCode::UnspecifiedError]);

    // A refused filter is not in the router: nothing arrives from it.
    let (mut publisher, _) = Client::connect(addr, V5, "pub", true).await;
    // Sent straight to the router through the handle (publishing it would be refused).
    broker
        .handle()
        .publish(topic("secret/x"), "no".into(), QoS::AtLeastOnce, false)
        .await
        .unwrap();
    publisher
        .publish("open/1", "yes", QoS::AtLeastOnce, false, 1)
        .await;
    assert_eq!(v5.recv_publish().await.payload, "yes");
    v5.expect_nothing().await;
    v3.expect_nothing().await;
    publisher.disconnect().await;
    v5.disconnect().await;
    v3.disconnect().await;
    broker.shutdown().await;
}

fn sub_to(f: &str, qos: QoS) -> broker_core::codec::Subscription {
    broker_core::codec::Subscription {
        filter: filter(f),
        options: broker_core::codec::SubscriptionOptions::qos(qos),
    }
}

fn topic(t: &str) -> TopicName {
    TopicName::new(t).unwrap()
}

#[tokio::test]
async fn next_asks_the_next_hook() {
    let first = TestHook::new("first", Interest::AUTHORIZE_PUBLISH);
    let second = TestHook::new("second", Interest::AUTHORIZE_PUBLISH).on_publish(|request| {
        Ok(if request.topic.as_str() == "no" {
            AuthzDecision::deny(ReasonCode::QuotaExceeded)
        } else {
            AuthzDecision::Next
        })
    });
    let (first_calls, second_calls) = (first.calls.clone(), second.calls.clone());
    let (broker, addr) = start_with(Broker::builder().hook(first).hook(second)).await;
    let (mut client, _) = Client::connect(addr, V5, "c1", true).await;
    let ack = client.publish_for_ack("no", QoS::AtLeastOnce, 1).await;
    assert_eq!(ack.code, ReasonCode::QuotaExceeded);
    // Everyone says next: allowed (0x10, no subscriber).
    let ack = client.publish_for_ack("yes", QoS::AtLeastOnce, 2).await;
    assert_eq!(ack.code, ReasonCode::NoMatchingSubscribers);
    for topic in ["no", "yes"] {
        let call = format!("publish:{topic}");
        assert_eq!(first_calls.count(&call), 1);
        assert_eq!(second_calls.count(&call), 1);
    }
    client.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn failing_authorization_hook_denies_or_falls_through_by_policy() {
    let broken = |name| {
        TestHook::new(name, Interest::AUTHORIZE)
            .on_publish(|_| Err(HookError::Unavailable("db down".into())))
            .on_subscribe(|_| Err(HookError::Failed("boom".into())))
    };
    // Default policy: deny.
    let (broker, addr) = start_with(Broker::builder().hook(broken("strict"))).await;
    let (mut client, _) = Client::connect(addr, V5, "c1", true).await;
    let ack = client.publish_for_ack("a", QoS::AtLeastOnce, 1).await;
    assert_eq!(ack.code, ReasonCode::NotAuthorized);
    let ack = client.subscribe(2, "a", QoS::AtMostOnce).await;
    assert_eq!(ack.codes, vec![ReasonCode::NotAuthorized]);
    client.disconnect().await;
    broker.shutdown().await;

    // FailurePolicy::Next: the next hook (none: allow).
    let options = HookOptions::default().on_authorize_failure(FailurePolicy::Next);
    let (broker, addr) = start_with(Broker::builder().hook_with(broken("lenient"), options)).await;
    let (mut client, _) = Client::connect(addr, V5, "c1", true).await;
    let ack = client.subscribe(2, "a", QoS::AtMostOnce).await;
    assert_eq!(ack.codes, vec![ReasonCode::Success]);
    let ack = client.publish_for_ack("b", QoS::AtLeastOnce, 1).await;
    assert_eq!(ack.code, ReasonCode::NoMatchingSubscribers);
    client.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn cached_decision_answers_repeats_within_its_ttl() {
    let hook = TestHook::new("cached", Interest::AUTHORIZE).on_publish(|request| {
        Ok(match request.topic.as_str() {
            "deny" => AuthzDecision::deny(ReasonCode::NotAuthorized),
            _ => AuthzDecision::allow(),
        }
        .cached(Duration::from_secs(3600)))
    });
    let calls = hook.calls.clone();
    let (broker, addr) = start_with(Broker::builder().hook(hook)).await;
    let (mut v5, _) = Client::connect(addr, V5, "c5", true).await;
    for id in 1..=2 {
        let ack = v5.publish_for_ack("allow", QoS::AtLeastOnce, id).await;
        assert_eq!(ack.code, ReasonCode::NoMatchingSubscribers);
        let ack = v5.publish_for_ack("deny", QoS::AtLeastOnce, id + 10).await;
        assert_eq!(ack.code, ReasonCode::NotAuthorized);
    }
    assert_eq!(calls.count("publish:allow"), 1, "{:?}", calls.all());
    assert_eq!(calls.count("publish:deny"), 1);
    // The cache is per client, QoS and retain flag.
    v5.publish_for_ack("allow", QoS::ExactlyOnce, 3).await;
    assert_eq!(calls.count("publish:allow"), 2);
    let (mut v3, _) = Client::connect(addr, V311, "c3", true).await;
    v3.publish("deny", "x", QoS::AtLeastOnce, false, 1).await;
    v3.publish("deny", "x", QoS::AtLeastOnce, false, 2).await;
    assert_eq!(calls.count("publish:deny"), 2);
    // The client's decisions are forgotten when its connection ends.
    v3.disconnect().await;
    let (mut v3, _) = Client::connect(addr, V311, "c3", true).await;
    v3.publish("deny", "x", QoS::AtLeastOnce, false, 1).await;
    assert_eq!(calls.count("publish:deny"), 3);
    v3.disconnect().await;
    v5.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn cached_decision_expires_after_its_ttl() {
    let hook = TestHook::new("short", Interest::AUTHORIZE_PUBLISH)
        .on_publish(|_| Ok(AuthzDecision::allow().cached(Duration::from_millis(50))));
    let calls = hook.calls.clone();
    let (broker, addr) = start_with(Broker::builder().hook(hook)).await;
    let (mut client, _) = Client::connect(addr, V5, "c1", true).await;
    client.publish_for_ack("t", QoS::AtLeastOnce, 1).await;
    tokio::time::sleep(Duration::from_millis(150)).await;
    client.publish_for_ack("t", QoS::AtLeastOnce, 2).await;
    assert_eq!(calls.count("publish:t"), 2, "asked again after the TTL");
    client.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn publish_topic_is_rewritten_before_authorization_and_routing() {
    let rewriter = TestHook::new("tenant", Interest::REWRITE_PUBLISH).on_rewrite_topic(|request| {
        let rewritten = format!("tenant/{}", request.topic);
        Ok(TopicRewrite::Replace(TopicName::new(rewritten).unwrap()))
    });
    let checker = TestHook::new("acl", Interest::AUTHORIZE_PUBLISH).on_publish(|request| {
        // Authorization sees the rewritten topic.
        Ok(if request.topic.as_str().starts_with("tenant/") {
            AuthzDecision::allow()
        } else {
            AuthzDecision::deny(ReasonCode::NotAuthorized)
        })
    });
    let (broker, addr) = start_with(Broker::builder().hook(rewriter).hook(checker)).await;
    let (mut sub, _) = Client::connect(addr, V5, "sub", true).await;
    sub.subscribe(1, "tenant/#", QoS::AtLeastOnce).await;
    let (mut publisher, _) = Client::connect(addr, V5, "pub", true).await;
    let ack = publisher.publish_for_ack("a/b", QoS::AtLeastOnce, 1).await;
    assert_eq!(ack.code, ReasonCode::Success);
    let received = sub.recv_publish().await;
    assert_eq!(received.topic.unwrap().as_str(), "tenant/a/b");
    publisher.disconnect().await;
    sub.disconnect().await;
    broker.shutdown().await;
}

#[tokio::test]
async fn subscribe_and_unsubscribe_filters_are_rewritten() {
    let rewriter =
        TestHook::new("tenant", Interest::REWRITE_SUBSCRIBE).on_rewrite_filter(|request| {
            let rewritten = format!("tenant/{}", request.filter);
            Ok(FilterRewrite::Replace(TopicFilter::new(rewritten).unwrap()))
        });
    let checker = TestHook::new("acl", Interest::AUTHORIZE_SUBSCRIBE).on_subscribe(|request| {
        Ok(if request.filter.as_str().starts_with("tenant/") {
            AuthzDecision::allow()
        } else {
            AuthzDecision::deny(ReasonCode::NotAuthorized)
        })
    });
    let calls = checker.calls.clone();
    let (broker, addr) = start_with(Broker::builder().hook(rewriter).hook(checker)).await;
    let (mut sub, _) = Client::connect(addr, V5, "sub", true).await;
    let ack = sub.subscribe(1, "news/#", QoS::AtLeastOnce).await;
    assert_eq!(ack.codes, vec![ReasonCode::GrantedQoS1]);
    assert_eq!(calls.all(), vec!["subscribe:tenant/news/#".to_owned()]);
    broker
        .handle()
        .publish(topic("tenant/news/1"), "n".into(), QoS::AtLeastOnce, false)
        .await
        .unwrap();
    assert_eq!(sub.recv_publish().await.payload, "n");
    // The client removes what it added, by the name it knows ([MQTT-3.10.4-1]).
    sub.send(Packet::Unsubscribe(Unsubscribe {
        packet_id: pid(2),
        filters: vec![filter("news/#")],
        properties: Default::default(),
    }))
    .await;
    match sub.recv().await {
        Some(Packet::UnsubAck(ack)) => assert_eq!(ack.codes, vec![ReasonCode::Success]),
        other => panic!("expected UNSUBACK, got {other:?}"),
    }
    broker
        .handle()
        .publish(
            topic("tenant/news/2"),
            "gone".into(),
            QoS::AtLeastOnce,
            false,
        )
        .await
        .unwrap();
    sub.expect_nothing().await;
    sub.disconnect().await;
    broker.shutdown().await;
}

/// A hook that authenticates each user with a topic prefix of their own (as a JWT's claim
/// would give it) and one that authorizes publishes by that attribute alone: what the first
/// attached reaches the second on every later request of the connection.
#[tokio::test]
async fn attributes_the_authenticating_hook_attached_reach_the_authorizing_hook() {
    let authn = TestHook::new("authn", Interest::AUTHENTICATE).on_authenticate(|request| {
        let user = request
            .client
            .username
            .as_ref()
            .map_or("", |u| u.as_str())
            .to_owned();
        Ok(AuthDecision::Allow(AuthSuccess {
            attributes: Attributes::new([("prefix".to_owned(), format!("{user}/"))]),
            ..AuthSuccess::default()
        }))
    });
    let authz = TestHook::new("by-prefix", Interest::AUTHORIZE_PUBLISH).on_publish(|request| {
        Ok(match request.client.attributes.get("prefix") {
            Some(prefix) if request.topic.as_str().starts_with(prefix) => AuthzDecision::allow(),
            _ => AuthzDecision::refuse(Refusal::not_authorized()),
        })
    });
    let (broker, addr) = start_with(Broker::builder().hook(authn).hook(authz)).await;
    let mut connect = support::connect_packet(V5, "alice-1", true);
    connect.username = Some(MqttString::new("alice").unwrap());
    let (mut alice, _) = Client::connect_with(addr, connect).await;
    let ack = alice.publish_for_ack("alice/t", QoS::AtLeastOnce, 1).await;
    // Allowed; nobody subscribes.
    assert_eq!(ack.code, ReasonCode::NoMatchingSubscribers);
    let ack = alice.publish_for_ack("bob/t", QoS::AtLeastOnce, 2).await;
    assert_eq!(ack.code, ReasonCode::NotAuthorized);
    alice.disconnect().await;
    broker.shutdown().await;
}
