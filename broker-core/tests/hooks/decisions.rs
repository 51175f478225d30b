//! Allow, deny, next, the default policies and the failure policy (errors, timeouts).

use std::time::Duration;

use broker_core::hooks::{
    AllowAll, Anonymous, AuthDecision, AuthOutcome, AuthSuccess, AuthenticateRequest,
    Authorization, AuthzDecision, EnhancedAuth, FailurePolicy, HookChain, HookOptions, Interest,
    Refusal,
};
use broker_core::types::ReasonCode;

use super::support::*;

#[tokio::test]
async fn allow_ends_the_chain() {
    let log = new_log();
    let chain = HookChain::builder()
        .hook(Scripted::new("first", &log).auth(Answer::Decide(AuthDecision::allow())))
        .hook(
            Scripted::new("second", &log)
                .auth(Answer::Decide(AuthDecision::deny(ReasonCode::Banned)))
                .authz(Answer::Decide(AuthzDecision::deny(
                    ReasonCode::NotAuthorized,
                ))),
        )
        .require_authentication()
        .build();
    let outcome = chain.authenticate(&connect(client("c"))).await;
    assert_eq!(outcome, AuthOutcome::Allowed(AuthSuccess::default()));
    assert_eq!(outcome.reason_code(), ReasonCode::Success);
    assert_eq!(calls(&log), ["first:authenticate"]);

    let log = new_log();
    let chain = HookChain::builder()
        .hook(Scripted::new("first", &log).authz(Answer::Decide(AuthzDecision::allow())))
        .hook(
            Scripted::new("second", &log).authz(Answer::Decide(AuthzDecision::deny(
                ReasonCode::NotAuthorized,
            ))),
        )
        .build();
    let c = client("c");
    assert_eq!(
        chain.authorize_publish(&publish(&c, "a/b")).await,
        Authorization::Allowed
    );
    assert_eq!(
        chain.authorize_subscribe(&subscribe(&c, "a/#")).await,
        Authorization::Allowed
    );
    assert_eq!(calls(&log), ["first:publish", "first:subscribe"]);
}

#[tokio::test]
async fn deny_carries_its_reason_code_and_reason_string() {
    let log = new_log();
    let refusal = Refusal::new(ReasonCode::Banned).with_reason(reason("go away"));
    let chain = HookChain::builder()
        .hook(
            Scripted::new("banlist", &log)
                .auth(Answer::Decide(AuthDecision::Deny(refusal.clone()))),
        )
        .hook(Scripted::new("never", &log).auth(Answer::Decide(AuthDecision::allow())))
        .build();
    let outcome = chain.authenticate(&connect(client("c"))).await;
    assert_eq!(outcome, AuthOutcome::Denied(refusal));
    assert_eq!(outcome.reason_code(), ReasonCode::Banned);
    assert_eq!(calls(&log), ["banlist:authenticate"]);

    let quota = Refusal::new(ReasonCode::QuotaExceeded).with_reason(reason("quota"));
    let chain = HookChain::builder()
        .hook(
            Scripted::new("quota", &log)
                .authz(Answer::Decide(AuthzDecision::refuse(quota.clone()))),
        )
        .hook(Scripted::new("never", &log).authz(Answer::Decide(AuthzDecision::allow())))
        .build();
    let c = client("c");
    let publish_answer = chain.authorize_publish(&publish(&c, "a")).await;
    assert_eq!(publish_answer, Authorization::Denied(quota.clone()));
    assert_eq!(publish_answer.reason_code(), ReasonCode::QuotaExceeded);
    assert_eq!(
        publish_answer.refusal().and_then(Refusal::reason),
        Some(&reason("quota"))
    );
    let subscribe_answer = chain.authorize_subscribe(&subscribe(&c, "a")).await;
    assert_eq!(subscribe_answer, Authorization::Denied(quota));
    assert_eq!(calls(&log), ["quota:publish", "quota:subscribe"]);
}

#[tokio::test]
async fn refusal_codes_fit_the_answering_packet() {
    let log = new_log();
    // 0x86 is not a SUBACK or PUBACK code; 0x8A Banned is not a DISCONNECT code.
    let chain = HookChain::builder()
        .hook(
            Scripted::new("odd", &log)
                .auth(Answer::Decide(AuthDecision::deny(ReasonCode::Banned)))
                .authz(Answer::Decide(AuthzDecision::deny(
                    ReasonCode::BadUserNameOrPassword,
                ))),
        )
        .build();
    let c = client("c");
    let answer = chain.authorize_subscribe(&subscribe(&c, "a")).await;
    assert_eq!(answer.reason_code(), ReasonCode::NotAuthorized);
    let answer = chain.authorize_publish(&publish(&c, "a")).await;
    assert_eq!(answer.reason_code(), ReasonCode::NotAuthorized);
    let connect_answer = chain.authenticate(&connect(c.clone())).await;
    assert_eq!(connect_answer.reason_code(), ReasonCode::Banned);
    let reauth = AuthenticateRequest::reauthenticate(c, method("X"), None);
    assert_eq!(
        chain.authenticate(&reauth).await.reason_code(),
        ReasonCode::NotAuthorized
    );
    // A "denial" with a success code is an unspecified error, never a success.
    assert_eq!(
        AuthzDecision::deny(ReasonCode::Success).reason_code(),
        Some(ReasonCode::UnspecifiedError)
    );
}

#[tokio::test]
async fn next_asks_the_following_hook_in_order() {
    let log = new_log();
    let chain = HookChain::builder()
        .hook(Scripted::new("a", &log))
        .hook(Scripted::new("b", &log))
        .hook(
            Scripted::new("c", &log)
                .auth(Answer::Decide(AuthDecision::deny(
                    ReasonCode::BadUserNameOrPassword,
                )))
                .authz(Answer::Decide(AuthzDecision::deny(
                    ReasonCode::NotAuthorized,
                ))),
        )
        .build();
    let c = client("c");
    let outcome = chain.authenticate(&connect(c.clone())).await;
    assert_eq!(outcome.reason_code(), ReasonCode::BadUserNameOrPassword);
    assert!(!chain
        .authorize_publish(&publish(&c, "t"))
        .await
        .is_allowed());
    assert_eq!(
        calls(&log),
        [
            "a:authenticate",
            "b:authenticate",
            "c:authenticate",
            "a:publish",
            "b:publish",
            "c:publish"
        ]
    );
}

#[tokio::test]
async fn all_next_allows_by_default() {
    let log = new_log();
    for chain in [
        HookChain::default(),
        HookChain::builder()
            .hook(Scripted::new("a", &log))
            .hook(Scripted::new("b", &log))
            .build(),
    ] {
        let c = client("c");
        assert!(chain.authenticate(&connect(c.clone())).await.is_allowed());
        assert!(chain
            .authorize_publish(&publish(&c, "t"))
            .await
            .is_allowed());
        assert!(chain
            .authorize_subscribe(&subscribe(&c, "#"))
            .await
            .is_allowed());
    }
    assert_eq!(calls(&log).len(), 6);
}

#[tokio::test]
async fn all_next_with_required_authentication_is_not_authorized() {
    let log = new_log();
    for chain in [
        HookChain::builder().require_authentication().build(),
        HookChain::builder()
            .hook(Scripted::new("a", &log))
            .require_authentication()
            .build(),
    ] {
        let c = user("c", "nobody");
        let outcome = chain.authenticate(&connect(c.clone())).await;
        assert_eq!(outcome.reason_code(), ReasonCode::NotAuthorized);
        assert!(denied(&outcome).unwrap().reason().is_none());
        // Authorization keeps its allow-all default.
        assert!(chain
            .authorize_publish(&publish(&c, "t"))
            .await
            .is_allowed());
    }
}

#[tokio::test]
async fn a_listener_policy_replaces_the_chains_anonymous_policy() {
    let log = new_log();
    let strict = HookChain::builder()
        .hook(Scripted::new("a", &log))
        .require_authentication()
        .build();
    let request = connect(user("c", "nobody"));
    let outcome = strict.authenticate_with(&request, Anonymous::Allow).await;
    assert!(outcome.is_allowed());
    let lenient = strict.to_builder().anonymous(Anonymous::Allow).build();
    let outcome = lenient.authenticate_with(&request, Anonymous::Deny).await;
    assert_eq!(outcome.reason_code(), ReasonCode::NotAuthorized);
    // A hook's own decision still wins.
    let allowing = HookChain::builder()
        .hook(Scripted::new("yes", &log).auth(Answer::Decide(AuthDecision::allow())))
        .build();
    let outcome = allowing.authenticate_with(&request, Anonymous::Deny).await;
    assert!(outcome.is_allowed());
}

#[tokio::test]
async fn to_builder_keeps_the_hooks_their_options_and_the_policy() {
    let log = new_log();
    let chain = HookChain::builder()
        .hook(Scripted::new("a", &log))
        .hook_with(
            Scripted::new("b", &log).authz(Answer::Fail),
            HookOptions::default().on_authorize_failure(FailurePolicy::Next),
        )
        .require_authentication()
        .build();
    let copy = chain
        .to_builder()
        .hook(Scripted::new("c", &log).authz(Answer::Decide(AuthzDecision::allow())))
        .build();
    assert_eq!(copy.hook_names().collect::<Vec<_>>(), ["a", "b", "c"]);
    assert_eq!(copy.anonymous(), Anonymous::Deny);
    let c = client("c");
    // b fails and its Next policy asks c, which allows.
    assert!(copy.authorize_publish(&publish(&c, "t")).await.is_allowed());
    assert_eq!(calls(&log), ["a:publish", "b:publish", "c:publish"]);
}

#[tokio::test]
async fn enhanced_authentication_no_hook_knows_is_a_bad_method() {
    let log = new_log();
    let chain = HookChain::builder()
        .hook(Scripted::new("a", &log))
        .hook(AllowAll)
        .build();
    let request = connect(client("c")).with_enhanced(EnhancedAuth::new(method("KERBEROS"), None));
    let outcome = chain.authenticate(&request).await;
    assert_eq!(outcome.reason_code(), ReasonCode::BadAuthenticationMethod);
    assert_eq!(calls(&log), ["a:authenticate"]);
}

#[tokio::test]
async fn hook_interest_limits_what_it_is_asked() {
    let log = new_log();
    let chain = HookChain::builder()
        .hook(
            Scripted::new("authn-only", &log)
                .interest(Interest::AUTHENTICATE)
                .authz(Answer::Decide(AuthzDecision::deny(
                    ReasonCode::NotAuthorized,
                ))),
        )
        .build();
    assert_eq!(chain.interest(), Interest::AUTHENTICATE);
    assert!(!chain.wants_events());
    let c = client("c");
    assert!(chain
        .authorize_publish(&publish(&c, "t"))
        .await
        .is_allowed());
    assert!(chain
        .authorize_subscribe(&subscribe(&c, "t"))
        .await
        .is_allowed());
    assert!(calls(&log).is_empty());
}

#[tokio::test]
async fn errors_deny_by_default() {
    let log = new_log();
    let chain = HookChain::builder()
        .hook(
            Scripted::new("broken", &log)
                .auth(Answer::Fail)
                .authz(Answer::Fail),
        )
        .hook(
            Scripted::new("after", &log)
                .auth(Answer::Decide(AuthDecision::allow()))
                .authz(Answer::Decide(AuthzDecision::allow())),
        )
        .build();
    let c = client("c");
    assert_eq!(
        chain.authenticate(&connect(c.clone())).await.reason_code(),
        ReasonCode::NotAuthorized
    );
    assert_eq!(
        chain
            .authorize_publish(&publish(&c, "t"))
            .await
            .reason_code(),
        ReasonCode::NotAuthorized
    );
    assert_eq!(
        chain
            .authorize_subscribe(&subscribe(&c, "t"))
            .await
            .reason_code(),
        ReasonCode::NotAuthorized
    );
    assert_eq!(
        calls(&log),
        ["broken:authenticate", "broken:publish", "broken:subscribe"]
    );
}

#[tokio::test]
async fn errors_with_the_next_policy_ask_the_following_hook() {
    let log = new_log();
    let open = HookOptions::default()
        .on_authenticate_failure(FailurePolicy::Next)
        .on_authorize_failure(FailurePolicy::Next);
    let chain = HookChain::builder()
        .hook_with(
            Scripted::new("broken", &log)
                .auth(Answer::Fail)
                .authz(Answer::Fail),
            open,
        )
        .hook(
            Scripted::new("after", &log)
                .auth(Answer::Decide(AuthDecision::allow()))
                .authz(Answer::Decide(AuthzDecision::deny(
                    ReasonCode::QuotaExceeded,
                ))),
        )
        .require_authentication()
        .build();
    let c = client("c");
    assert!(chain.authenticate(&connect(c.clone())).await.is_allowed());
    assert_eq!(
        chain
            .authorize_publish(&publish(&c, "t"))
            .await
            .reason_code(),
        ReasonCode::QuotaExceeded
    );
    assert_eq!(
        calls(&log),
        [
            "broken:authenticate",
            "after:authenticate",
            "broken:publish",
            "after:publish"
        ]
    );
    // A failure is never cached.
    assert_eq!(chain.cached_decisions(), 0);
}

#[tokio::test(start_paused = true)]
async fn a_hook_slower_than_its_timeout_applies_its_failure_policy() {
    let log = new_log();
    let short = HookOptions::default().timeout(Duration::from_secs(1));
    let chain = HookChain::builder()
        .clock(tokio_clock())
        .hook_with(
            Scripted::new("slow", &log)
                .auth(Answer::Hang)
                .authz(Answer::Hang),
            short,
        )
        .hook(Scripted::new("after", &log).auth(Answer::Decide(AuthDecision::allow())))
        .build();
    let c = client("c");
    let started = tokio::time::Instant::now();
    assert_eq!(
        chain.authenticate(&connect(c.clone())).await.reason_code(),
        ReasonCode::NotAuthorized
    );
    assert_eq!(started.elapsed(), Duration::from_secs(1));
    assert_eq!(
        chain
            .authorize_publish(&publish(&c, "t"))
            .await
            .reason_code(),
        ReasonCode::NotAuthorized
    );
    assert_eq!(calls(&log), ["slow:authenticate", "slow:publish"]);

    let open = short
        .on_authenticate_failure(FailurePolicy::Next)
        .on_authorize_failure(FailurePolicy::Next);
    let chain = HookChain::builder()
        .clock(tokio_clock())
        .hook_with(
            Scripted::new("slow", &log)
                .auth(Answer::Hang)
                .authz(Answer::Hang),
            open,
        )
        .hook(
            Scripted::new("after", &log)
                .auth(Answer::Decide(AuthDecision::allow()))
                .authz(Answer::Decide(AuthzDecision::allow())),
        )
        .require_authentication()
        .build();
    let started = tokio::time::Instant::now();
    assert!(chain.authenticate(&connect(c.clone())).await.is_allowed());
    assert!(chain
        .authorize_subscribe(&subscribe(&c, "t"))
        .await
        .is_allowed());
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(
        calls(&log),
        [
            "slow:authenticate",
            "after:authenticate",
            "slow:subscribe",
            "after:subscribe"
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn the_default_timeout_is_five_seconds() {
    let log = new_log();
    let chain = HookChain::builder()
        .clock(tokio_clock())
        .hook(Scripted::new("slow", &log).authz(Answer::Hang))
        .build();
    let started = tokio::time::Instant::now();
    let answer = chain.authorize_publish(&publish(&client("c"), "t")).await;
    assert_eq!(answer.reason_code(), ReasonCode::NotAuthorized);
    assert_eq!(started.elapsed(), HookOptions::DEFAULT_TIMEOUT);
    assert_eq!(HookOptions::DEFAULT_TIMEOUT, Duration::from_secs(5));
}

#[tokio::test(start_paused = true)]
async fn a_chain_whose_clock_has_no_timer_waits_for_a_slow_hook() {
    // The default clock (`SystemClock`, a chain built outside a broker) has no timer: the
    // hanging hook is waited for until it fails by itself, an hour later on tokio's clock.
    let log = new_log();
    let chain = HookChain::builder()
        .hook_with(
            Scripted::new("slow", &log).authz(Answer::Hang),
            HookOptions::default().timeout(Duration::from_secs(1)),
        )
        .build();
    let started = tokio::time::Instant::now();
    let answer = chain.authorize_publish(&publish(&client("c"), "t")).await;
    assert_eq!(answer.reason_code(), ReasonCode::NotAuthorized);
    assert_eq!(started.elapsed(), Duration::from_secs(3600));
}
