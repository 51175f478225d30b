//! The built-in hooks through the chain.

use std::time::Duration;

use broker_core::hooks::{
    Access, AllowAll, AuthenticateRequest, HookChain, Password, TopicRules, UserTable,
};
use broker_core::types::{ReasonCode, TopicFilter};

use super::support::*;

#[tokio::test]
async fn user_table_checks_passwords() {
    let chain = HookChain::builder()
        .hook(UserTable::new().user("alice", "wonderland"))
        .require_authentication()
        .build();
    let request = |username: &str, password: Option<&'static str>| {
        AuthenticateRequest::connect(user("c", username), password.map(Password::new))
    };
    assert!(chain
        .authenticate(&request("alice", Some("wonderland")))
        .await
        .is_allowed());
    for wrong in [Some("wonderlan"), Some(""), None] {
        let outcome = chain.authenticate(&request("alice", wrong)).await;
        assert_eq!(outcome.reason_code(), ReasonCode::BadUserNameOrPassword);
    }
    // An unknown user: no opinion, then anonymous clients are refused.
    let outcome = chain
        .authenticate(&request("bob", Some("wonderland")))
        .await;
    assert_eq!(outcome.reason_code(), ReasonCode::NotAuthorized);
    let anonymous = AuthenticateRequest::connect(client("c"), None);
    assert_eq!(
        chain.authenticate(&anonymous).await.reason_code(),
        ReasonCode::NotAuthorized
    );

    let with_fallback = HookChain::builder()
        .hook(UserTable::new().user("alice", "wonderland"))
        .hook(AllowAll)
        .require_authentication()
        .build();
    assert!(with_fallback
        .authenticate(&request("bob", None))
        .await
        .is_allowed());
    let outcome = with_fallback
        .authenticate(&request("alice", Some("x")))
        .await;
    assert_eq!(
        outcome.reason_code(),
        ReasonCode::BadUserNameOrPassword,
        "a deny is final"
    );
}

#[tokio::test]
async fn topic_rules_allow_and_deny_by_filter() {
    let filter = |f: &str| TopicFilter::new(f).unwrap();
    let rules = TopicRules::new()
        .deny(Access::PublishAndSubscribe, filter("secret/#"))
        .allow(Access::Publish, filter("sensors/+/temp"))
        .allow(Access::Subscribe, filter("sensors/#"))
        .deny(Access::Publish, filter("#"))
        .cache_ttl(Duration::from_secs(30));
    assert_eq!(rules.rules().len(), 4);
    let chain = HookChain::builder().hook(rules).build();
    let c = client("c");
    let publishes = [
        ("sensors/kitchen/temp", true),
        ("sensors/kitchen/humidity", false),
        ("secret/key", false),
        ("other", false),
    ];
    for (topic, allowed) in publishes {
        assert_eq!(
            chain
                .authorize_publish(&publish(&c, topic))
                .await
                .is_allowed(),
            allowed,
            "{topic}"
        );
    }
    let subscriptions = [
        ("sensors/#", true),
        ("sensors/+/temp", true),
        ("$share/g/sensors/a", true),
        ("#", false),      // would reach secret/...
        ("+/key", false),  // likewise
        ("other/#", true), // no rule applies: the chain's default
    ];
    for (filter, allowed) in subscriptions {
        let answer = chain.authorize_subscribe(&subscribe(&c, filter)).await;
        assert_eq!(answer.is_allowed(), allowed, "{filter}");
        if !allowed {
            assert_eq!(answer.reason_code(), ReasonCode::NotAuthorized);
        }
    }
    // Decisions carry the rules' TTL; "other/#" had none (no rule applied).
    assert_eq!(
        chain.cached_decisions(),
        publishes.len() + subscriptions.len() - 1
    );
}

/// A hook scoped to listeners answers for their clients only: a client of another listener
/// meets the rest of the chain as if the hook were not there. Each listener can have its own
/// users (Mosquitto's `per_listener_settings true`).
#[tokio::test]
async fn a_listener_scoped_hook_answers_for_its_listeners_only() {
    use std::sync::Arc;

    use broker_core::hooks::{Hook, Interest, ListenerName, ListenerScoped};

    let on = |listener: &str, id: &str, username: &str| {
        let mut info = (*user(id, username)).clone();
        info.listener = ListenerName::from(listener);
        Arc::new(info)
    };
    let tls_users = ListenerScoped::new(
        Arc::new(UserTable::new().user("alice", "a")),
        [ListenerName::from("tls")],
    );
    assert_eq!(tls_users.name(), "user-table@tls");
    assert!(!tls_users.interest().contains(Interest::EVENTS));
    let plain_users = ListenerScoped::new(
        Arc::new(UserTable::new().user("bob", "b")),
        [ListenerName::from("plain"), ListenerName::from("ws")],
    );
    let chain = HookChain::builder()
        .hook(tls_users)
        .hook(plain_users)
        .require_authentication()
        .build();
    let login = |info, password: &'static str| {
        AuthenticateRequest::connect(info, Some(Password::new(password)))
    };
    assert!(chain
        .authenticate(&login(on("tls", "c1", "alice"), "a"))
        .await
        .is_allowed());
    assert!(chain
        .authenticate(&login(on("ws", "c2", "bob"), "b"))
        .await
        .is_allowed());
    // Alice is not a user of the plain listener, Bob not one of the TLS listener.
    assert!(!chain
        .authenticate(&login(on("plain", "c3", "alice"), "a"))
        .await
        .is_allowed());
    assert!(!chain
        .authenticate(&login(on("tls", "c4", "bob"), "b"))
        .await
        .is_allowed());
    // A listener no scoped hook covers: nobody authenticates its clients.
    assert!(!chain
        .authenticate(&login(on("other", "c5", "alice"), "a"))
        .await
        .is_allowed());

    let filter = |f: &str| TopicFilter::new(f).unwrap();
    let tls_rules = ListenerScoped::new(
        Arc::new(TopicRules::new().deny(Access::Publish, filter("#"))),
        [ListenerName::from("tls")],
    );
    let chain = HookChain::builder().hook(tls_rules).build();
    let denied = chain
        .authorize_publish(&publish(&on("tls", "c1", "alice"), "a/b"))
        .await;
    assert_eq!(denied.reason_code(), ReasonCode::NotAuthorized);
    assert!(chain
        .authorize_publish(&publish(&on("plain", "c2", "alice"), "a/b"))
        .await
        .is_allowed());
}
