//! The authorization decision cache: hits, expiry, keys, invalidation, bound.

use std::time::Duration;

use broker_core::hooks::{Authorization, AuthzDecision, HookChain, Refusal};
use broker_core::types::{QoS, ReasonCode};

use super::support::*;

fn cached_allow(log: &Log, ttl: Duration) -> Scripted {
    Scripted::new("cached", log).authz(Answer::Decide(AuthzDecision::allow().cached(ttl)))
}

#[tokio::test(start_paused = true)]
async fn a_cached_decision_answers_without_the_hook_until_it_expires() {
    let log = new_log();
    let chain = HookChain::builder()
        .clock(tokio_clock())
        .hook(cached_allow(&log, Duration::from_secs(10)))
        .build();
    let c = client("c");
    for _ in 0..3 {
        assert!(chain
            .authorize_publish(&publish(&c, "a/b"))
            .await
            .is_allowed());
        assert!(chain
            .authorize_subscribe(&subscribe(&c, "a/#"))
            .await
            .is_allowed());
    }
    assert_eq!(calls(&log), ["cached:publish", "cached:subscribe"]);
    assert_eq!(chain.cached_decisions(), 2);

    tokio::time::advance(Duration::from_millis(9_999)).await;
    assert!(chain
        .authorize_publish(&publish(&c, "a/b"))
        .await
        .is_allowed());
    assert!(calls(&log).is_empty());

    tokio::time::advance(Duration::from_millis(1)).await;
    assert!(chain
        .authorize_publish(&publish(&c, "a/b"))
        .await
        .is_allowed());
    assert!(chain
        .authorize_subscribe(&subscribe(&c, "a/#"))
        .await
        .is_allowed());
    assert_eq!(calls(&log), ["cached:publish", "cached:subscribe"]);
}

#[tokio::test(start_paused = true)]
async fn the_cache_answers_synchronously_when_it_can() {
    let log = new_log();
    let c = client("c");
    // No hook authorizes publishes: allowed, no hook asked.
    let none = HookChain::builder().clock(tokio_clock()).build();
    assert_eq!(
        none.cached_publish_decision(&publish(&c, "a")),
        Some(Authorization::Allowed)
    );
    let chain = HookChain::builder()
        .clock(tokio_clock())
        .hook(cached_allow(&log, Duration::from_secs(10)))
        .build();
    assert_eq!(chain.cached_publish_decision(&publish(&c, "a")), None);
    assert!(calls(&log).is_empty(), "the cache lookup asks no hook");
    assert!(chain
        .authorize_publish(&publish(&c, "a"))
        .await
        .is_allowed());
    assert_eq!(
        chain.cached_publish_decision(&publish(&c, "a")),
        Some(Authorization::Allowed)
    );
    assert_eq!(chain.cached_publish_decision(&publish(&c, "b")), None);
    tokio::time::advance(Duration::from_secs(10)).await;
    assert_eq!(chain.cached_publish_decision(&publish(&c, "a")), None);
    assert_eq!(calls(&log), ["cached:publish"]);
}

#[tokio::test(start_paused = true)]
async fn denials_are_cached_with_their_reason() {
    let log = new_log();
    let refusal = Refusal::new(ReasonCode::QuotaExceeded).with_reason(reason("later"));
    let chain = HookChain::builder()
        .clock(tokio_clock())
        .hook(Scripted::new("deny", &log).authz(Answer::Decide(
            AuthzDecision::refuse(refusal.clone()).cached(Duration::from_secs(5)),
        )))
        .build();
    let c = client("c");
    for _ in 0..2 {
        let answer = chain.authorize_publish(&publish(&c, "t")).await;
        assert_eq!(answer, Authorization::Denied(refusal.clone()));
    }
    assert_eq!(calls(&log), ["deny:publish"]);
}

#[tokio::test]
async fn decisions_without_a_ttl_are_not_cached() {
    let log = new_log();
    let chain = HookChain::builder()
        .hook(Scripted::new("fresh", &log).authz(Answer::Decide(AuthzDecision::allow())))
        .build();
    let zero = HookChain::builder()
        .hook(cached_allow(&log, Duration::ZERO))
        .build();
    let c = client("c");
    for chain in [&chain, &zero] {
        for _ in 0..2 {
            assert!(chain
                .authorize_publish(&publish(&c, "t"))
                .await
                .is_allowed());
        }
        assert_eq!(chain.cached_decisions(), 0);
    }
    assert_eq!(calls(&log).len(), 4);
}

#[tokio::test]
async fn the_cache_key_is_client_action_and_topic() {
    let log = new_log();
    let chain = HookChain::builder()
        .hook(cached_allow(&log, Duration::from_secs(60)))
        .build();
    let (c1, c2) = (client("c1"), client("c2"));
    let requests = [
        publish_with(&c1, "t", QoS::AtLeastOnce, false),
        publish_with(&c1, "t", QoS::AtMostOnce, false),
        publish_with(&c1, "t", QoS::AtLeastOnce, true),
        publish_with(&c1, "u", QoS::AtLeastOnce, false),
        publish_with(&c2, "t", QoS::AtLeastOnce, false),
    ];
    for request in requests.iter().chain(&requests) {
        assert!(chain.authorize_publish(request).await.is_allowed());
    }
    // Subscribing to "t" is another action on the same string.
    assert!(chain
        .authorize_subscribe(&subscribe(&c1, "t"))
        .await
        .is_allowed());
    assert_eq!(calls(&log).len(), 6);
    assert_eq!(chain.cached_decisions(), 6);
}

#[tokio::test]
async fn invalidating_a_client_forgets_only_its_decisions() {
    let log = new_log();
    let chain = HookChain::builder()
        .hook(cached_allow(&log, Duration::from_secs(60)))
        .build();
    let (c1, c2) = (client("c1"), client("c2"));
    for c in [&c1, &c2] {
        assert!(chain.authorize_publish(&publish(c, "t")).await.is_allowed());
        assert!(chain
            .authorize_subscribe(&subscribe(c, "t/#"))
            .await
            .is_allowed());
    }
    assert_eq!(calls(&log).len(), 4);
    chain.invalidate_client(&c1.client_id);
    assert_eq!(chain.cached_decisions(), 2);
    for c in [&c1, &c2] {
        assert!(chain.authorize_publish(&publish(c, "t")).await.is_allowed());
        assert!(chain
            .authorize_subscribe(&subscribe(c, "t/#"))
            .await
            .is_allowed());
    }
    assert_eq!(calls(&log), ["cached:publish", "cached:subscribe"]);
    chain.invalidate_all();
    assert_eq!(chain.cached_decisions(), 0);
}

#[tokio::test]
async fn the_cache_is_bounded_and_evicts_the_least_recently_used() {
    let log = new_log();
    let chain = HookChain::builder()
        .hook(cached_allow(&log, Duration::from_secs(60)))
        .cache_capacity(4)
        .build();
    let c = client("c");
    for topic in ["t0", "t1", "t2", "t3"] {
        assert!(chain
            .authorize_publish(&publish(&c, topic))
            .await
            .is_allowed());
    }
    assert!(chain
        .authorize_publish(&publish(&c, "t0"))
        .await
        .is_allowed()); // hit: t1 is oldest
    assert_eq!(calls(&log).len(), 4);
    for i in 4..40 {
        assert!(chain
            .authorize_publish(&publish(&c, &format!("t{i}")))
            .await
            .is_allowed());
        assert!(chain.cached_decisions() <= 4);
    }
    assert_eq!(chain.cached_decisions(), 4);
    calls(&log);
    assert!(chain
        .authorize_publish(&publish(&c, "t39"))
        .await
        .is_allowed());
    assert!(
        calls(&log).is_empty(),
        "the newest decision is still cached"
    );
    assert!(chain
        .authorize_publish(&publish(&c, "t0"))
        .await
        .is_allowed());
    assert_eq!(calls(&log), ["cached:publish"], "the oldest was evicted");

    let off = HookChain::builder()
        .hook(cached_allow(&log, Duration::from_secs(60)))
        .cache_capacity(0)
        .build();
    for _ in 0..2 {
        assert!(off.authorize_publish(&publish(&c, "t")).await.is_allowed());
    }
    assert_eq!(off.cached_decisions(), 0);
    assert_eq!(calls(&log).len(), 2);
}
