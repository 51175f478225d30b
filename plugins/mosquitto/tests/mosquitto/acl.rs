//! The `AclFile` hook: a matrix of decisions over one Mosquitto ACL file (anonymous lines,
//! user blocks, `read` / `write` / `readwrite` / `deny`, `+` and `#` in ACL topics, `%c`
//! and `%u` patterns), subscriptions with wildcard filters, deny by default, the decisions
//! the chain sees (0x87, cache TTL), and reloading.
//!
//! Expected values follow Mosquitto 2.0's `src/security_default.c` (`acl_check`): a
//! client's own lines first, then the patterns, `deny` lines first in each list.

use std::fs;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use broker_core::hooks::{
    AuthorizePublishRequest, AuthorizeSubscribeRequest, AuthzDecision, ClientInfo, Hook, HookChain,
    ListenerName, Username,
};
use broker_core::types::{ClientId, ProtocolVersion, QoS, ReasonCode, TopicFilter, TopicName};
use skein_plugin_mosquitto::{AclAccess, AclFile, AclFileError, AclLineProblem};
use tempfile::TempDir;

use AclAccess::{Read, Write};

const MATRIX: &str = "\
# Lines before the first `user`: clients without a user name.
topic read public/#
topic write anon/in
topic deny public/private/#

user alice
topic readwrite alice/#
topic deny alice/secret/#
topic read shared/+/status
topic read $SYS/broker/#

user bob
topic write bob/out
topic bob/both

# A second block of the same user adds to the first.
user alice
topic write more/alice

# Every client.
pattern read devices/%c/config
pattern write devices/%c/state
pattern readwrite users/%u/#
pattern deny users/%u/locked/#
";

fn client(client_id: &str, username: Option<&str>) -> Arc<ClientInfo> {
    let mut info = ClientInfo::new(
        ClientId::new(client_id).unwrap(),
        ProtocolVersion::V5,
        ListenerName::from("test"),
    );
    if let Some(name) = username {
        info = info.with_username(Username::try_from(name).unwrap());
    }
    Arc::new(info)
}

fn load(dir: &TempDir, text: &str) -> (AclFile, PathBuf) {
    let path = dir.path().join("acl");
    fs::write(&path, text).unwrap();
    (AclFile::load(&path).unwrap(), path)
}

fn topic(name: &str) -> TopicName {
    TopicName::try_from(name).unwrap()
}

fn filter(name: &str) -> TopicFilter {
    TopicFilter::new(name).unwrap()
}

/// The clients of the matrix.
fn clients() -> [(&'static str, Arc<ClientInfo>); 6] {
    [
        ("anon", client("dev1", None)),
        ("alice", client("c-alice", Some("alice"))),
        ("bob", client("c-bob", Some("bob"))),
        ("mallory", client("c-mal", Some("mallory"))),
        ("plus", client("c-plus", Some("+"))),
        ("hash-id", client("#", None)),
    ]
}

fn who(name: &str) -> Arc<ClientInfo> {
    clients()
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, c)| c)
        .unwrap()
}

#[test]
fn publish_and_read_matrix() {
    let dir = TempDir::new().unwrap();
    let (acl, _) = load(&dir, MATRIX);
    #[rustfmt::skip]
    let cases: &[(&str, &str, AclAccess, bool, &str)] = &[
        ("anon", "public/news", Read, true, "anonymous read line"),
        ("anon", "public/news", Write, false, "read does not grant write"),
        ("anon", "public/private/x", Read, false, "deny wins though written after the grant"),
        ("anon", "anon/in", Write, true, "anonymous write line"),
        ("anon", "anon/in", Read, false, "write does not grant read"),
        ("anon", "alice/inbox", Read, false, "a user's lines are not for anonymous clients"),
        ("anon", "devices/dev1/config", Read, true, "%c pattern"),
        ("anon", "devices/dev1/config", Write, false, "read pattern"),
        ("anon", "devices/dev1/state", Write, true, "write pattern"),
        ("anon", "devices/dev2/state", Write, false, "another client's id"),
        ("anon", "users//x", Read, false, "%u patterns skip clients without user name"),
        ("anon", "elsewhere", Write, false, "deny by default"),
        ("alice", "alice/inbox", Write, true, "readwrite + #"),
        ("alice", "alice/inbox", Read, true, "readwrite + #"),
        ("alice", "alice", Read, true, "`a/#` matches `a`"),
        ("alice", "alice/secret/key", Read, false, "user deny"),
        ("alice", "alice/secret", Read, false, "`a/secret/#` matches `a/secret`"),
        ("alice", "shared/room1/status", Read, true, "+ in an ACL topic"),
        ("alice", "shared/room1/status", Write, false, "read only"),
        ("alice", "shared/room1/other", Read, false, "+ is one level"),
        ("alice", "shared/a/b/status", Read, false, "+ is one level"),
        ("alice", "$SYS/broker/uptime", Read, true, "$SYS line"),
        ("alice", "more/alice", Write, true, "second block of the same user"),
        ("alice", "public/news", Read, false, "anonymous lines are not for users"),
        ("alice", "users/alice/profile", Write, true, "%u pattern"),
        ("alice", "users/alice/locked/a", Write, false, "pattern deny"),
        ("alice", "users/bob/profile", Read, false, "another user's %u"),
        ("alice", "devices/c-alice/config", Read, true, "%c pattern for users too"),
        ("bob", "bob/out", Write, true, "write line"),
        ("bob", "bob/out", Read, false, "write only"),
        ("bob", "bob/both", Read, true, "no keyword: readwrite"),
        ("bob", "bob/both", Write, true, "no keyword: readwrite"),
        ("bob", "alice/inbox", Read, false, "another user's lines"),
        ("bob", "$SYS/broker/uptime", Read, false, "no $SYS line for bob"),
        ("mallory", "users/mallory/a", Read, true, "not in the file: patterns only"),
        ("mallory", "alice/inbox", Read, false, "not in the file: patterns only"),
        ("plus", "users/alice/a", Read, false, "a user name with + gets no patterns"),
        ("plus", "devices/c-plus/config", Read, false, "a user name with + gets no patterns"),
        ("hash-id", "devices/x/config", Read, false, "a client id with # gets no patterns"),
        ("hash-id", "public/news", Read, true, "own lines come before that check"),
    ];
    for (name, topic_name, access, expected, why) in cases {
        assert_eq!(
            acl.allows(&who(name), &topic(topic_name), *access),
            *expected,
            "{name} {access:?} {topic_name}: {why}"
        );
    }
}

#[test]
fn subscription_matrix() {
    let dir = TempDir::new().unwrap();
    let (acl, _) = load(&dir, MATRIX);
    #[rustfmt::skip]
    let cases: &[(&str, &str, bool, &str)] = &[
        ("anon", "public/news", true, "exact"),
        ("anon", "public/news/#", true, "covered by public/#"),
        ("anon", "public/news/+", true, "covered by public/#"),
        ("anon", "public/#", false, "could receive public/private/..., which is denied"),
        ("anon", "public/+/headlines", false, "could match public/private/headlines"),
        ("anon", "#", false, "wider than any grant"),
        ("anon", "anon/in", false, "write does not grant subscribe"),
        ("anon", "devices/dev1/config", true, "%c pattern"),
        ("anon", "$share/group/public/news/#", true, "shared: the filter after the group"),
        ("anon", "$share/group/#", false, "shared: the filter after the group"),
        ("alice", "alice/inbox/#", true, "covered by alice/#"),
        ("alice", "alice/#", false, "overlaps deny alice/secret/#"),
        ("alice", "alice/+", false, "alice/+ matches alice/secret"),
        ("alice", "shared/+/status", true, "same wildcard"),
        ("alice", "shared/x/status", true, "covered by shared/+/status"),
        ("alice", "shared/#", false, "wider than shared/+/status"),
        ("alice", "$SYS/broker/#", true, "$SYS grant"),
        ("alice", "$SYS/#", false, "wider than $SYS/broker/#"),
        ("alice", "users/alice/profile/+", true, "%u pattern"),
        ("alice", "users/alice/#", false, "overlaps pattern deny users/alice/locked/#"),
        ("alice", "+/alice/profile", false, "+ could be any first level"),
        ("bob", "bob/out", false, "write only"),
        ("bob", "bob/both", true, "readwrite"),
        ("bob", "#", false, "wider than any grant"),
        ("mallory", "users/mallory/inbox", true, "pattern"),
        ("plus", "users/+/x", false, "a user name with + gets no patterns"),
    ];
    for (name, filter_text, expected, why) in cases {
        assert_eq!(
            acl.allows_subscription(&who(name), &filter(filter_text)),
            *expected,
            "{name} SUBSCRIBE {filter_text}: {why}"
        );
    }
}

#[test]
fn own_lines_decide_before_patterns() {
    // Mosquitto checks the client's own list to the end before the patterns, so a user's
    // grant wins over a pattern's deny.
    let dir = TempDir::new().unwrap();
    let (acl, _) = load(
        &dir,
        "user alice\ntopic read a/#\npattern deny a/%u\npattern read b/%u\n",
    );
    let alice = client("c", Some("alice"));
    assert!(acl.allows(&alice, &topic("a/alice"), Read));
    assert!(acl.allows(&alice, &topic("b/alice"), Read));
    let bob = client("c", Some("bob"));
    assert!(!acl.allows(&bob, &topic("a/bob"), Read));
}

#[test]
fn deny_by_default_once_a_file_is_configured() {
    let dir = TempDir::new().unwrap();
    for text in ["", "# only comments\n\n", "user alice\n"] {
        let (acl, _) = load(&dir, text);
        for who in [client("c", None), client("c", Some("alice"))] {
            assert!(!acl.allows(&who, &topic("a"), Read), "{text:?}");
            assert!(!acl.allows(&who, &topic("a"), Write), "{text:?}");
            assert!(!acl.allows_subscription(&who, &filter("#")), "{text:?}");
        }
    }
    // A grant of `#` covers everything but `$` topics.
    let (acl, _) = load(&dir, "topic #\n");
    let anon = client("c", None);
    assert!(acl.allows(&anon, &topic("any/thing"), Write));
    assert!(acl.allows_subscription(&anon, &filter("#")));
    assert!(!acl.allows(&anon, &topic("$SYS/broker/uptime"), Read));
    assert!(!acl.allows_subscription(&anon, &filter("$SYS/#")));
}

#[tokio::test]
async fn hook_decisions_carry_0x87_and_the_cache_ttl() {
    let dir = TempDir::new().unwrap();
    let (acl, _) = load(&dir, MATRIX);
    let publish = |client_name: &str, topic_name: &str| AuthorizePublishRequest {
        client: who(client_name),
        topic: topic(topic_name),
        qos: QoS::AtLeastOnce,
        retain: false,
    };
    let subscribe = |client_name: &str, filter_text: &str| AuthorizeSubscribeRequest {
        client: who(client_name),
        filter: filter(filter_text),
        qos: QoS::AtMostOnce,
    };
    let ttl = Some(Duration::from_secs(60));
    let allowed = AuthzDecision::allow().cached(Duration::from_secs(60));
    let denied = AuthzDecision::deny(ReasonCode::NotAuthorized).cached(Duration::from_secs(60));
    assert_eq!(
        acl.authorize_publish(&publish("alice", "alice/x"))
            .await
            .unwrap(),
        allowed
    );
    let decision = acl
        .authorize_publish(&publish("alice", "bob/out"))
        .await
        .unwrap();
    assert_eq!(decision, denied);
    assert_eq!(decision.reason_code(), Some(ReasonCode::NotAuthorized));
    assert_eq!(decision.cache_ttl(), ttl);
    assert_eq!(
        acl.authorize_subscribe(&subscribe("bob", "bob/both"))
            .await
            .unwrap(),
        allowed
    );
    assert_eq!(
        acl.authorize_subscribe(&subscribe("bob", "#"))
            .await
            .unwrap(),
        denied
    );

    let uncached = AclFile::load(dir.path().join("acl"))
        .unwrap()
        .cache_ttl(None);
    assert_eq!(
        uncached
            .authorize_publish(&publish("alice", "bob/out"))
            .await
            .unwrap(),
        AuthzDecision::deny(ReasonCode::NotAuthorized)
    );
}

#[tokio::test]
async fn reload_replaces_the_rules_and_keeps_them_when_the_file_is_broken() {
    let dir = TempDir::new().unwrap();
    let (acl, path) = load(&dir, "user alice\ntopic read a/#\n");
    let acl = Arc::new(acl);
    let chain = HookChain::builder()
        .shared_hook(acl.clone(), Default::default())
        .build();
    let request = AuthorizeSubscribeRequest {
        client: client("c", Some("alice")),
        filter: filter("b/#"),
        qos: QoS::AtMostOnce,
    };
    let decided = chain.authorize_subscribe(&request).await;
    assert_eq!(decided.reason_code(), ReasonCode::NotAuthorized);

    fs::write(&path, "user alice\ntopic read a/#\ntopic read b/#\n").unwrap();
    assert_eq!(acl.reload().unwrap(), 2);
    assert!(acl.allows_subscription(&request.client, &request.filter));
    // The chain still answers from its cache until told to forget...
    assert!(!chain.authorize_subscribe(&request).await.is_allowed());
    // ...which the node does after every reload.
    chain.invalidate_all();
    assert!(chain.authorize_subscribe(&request).await.is_allowed());

    // A broken file: the error names file and line; the rules loaded before stay.
    fs::write(&path, "user alice\ntopic read a/#\ntopic raed c/#\n").unwrap();
    let error = acl.reload().unwrap_err();
    assert!(
        matches!(
            &error,
            AclFileError::Line { line: 3, problem: AclLineProblem::UnknownAccess(word), .. }
                if word == "raed"
        ),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(
        message.contains(&format!("{}, line 3:", path.display())),
        "{message}"
    );
    assert!(message.contains("unknown access `raed`"), "{message}");
    assert_eq!(acl.len(), 2);
    assert!(acl.allows_subscription(&request.client, &request.filter));

    fs::remove_file(&path).unwrap();
    assert!(matches!(acl.reload(), Err(AclFileError::Read { .. })));
    assert_eq!(acl.len(), 2);
}

/// Through the trait, as the node reloads on SIGHUP: the chain forgets its cached decisions
/// at once, and a broken file is reported by hook name with the rules that stay.
#[tokio::test]
async fn reload_through_the_chain_clears_cached_decisions() {
    let dir = TempDir::new().unwrap();
    let (acl, path) = load(&dir, "user alice\ntopic read a/#\n");
    let acl = Arc::new(acl);
    let chain = HookChain::builder()
        .shared_hook(acl.clone(), Default::default())
        .build();
    let request = AuthorizeSubscribeRequest {
        client: client("c", Some("alice")),
        filter: filter("b/#"),
        qos: QoS::AtMostOnce,
    };
    assert!(!chain.authorize_subscribe(&request).await.is_allowed());
    assert_eq!(chain.cached_decisions(), 1);

    fs::write(&path, "user alice\ntopic read a/#\ntopic read b/#\n").unwrap();
    let report = chain.reload().await;
    let summary = format!("ACL file {} (2 rules)", path.display());
    assert_eq!(
        report.reloaded().collect::<Vec<_>>(),
        [("acl-file", summary.as_str())]
    );
    assert_eq!(chain.cached_decisions(), 0);
    assert!(chain.authorize_subscribe(&request).await.is_allowed());

    fs::write(&path, "user alice\ntopik read x\n").unwrap();
    let report = chain.reload().await;
    let failures: Vec<_> = report.failures().collect();
    assert_eq!(failures.len(), 1, "{report:?}");
    let (name, error) = failures[0];
    assert_eq!(name, "acl-file");
    assert_eq!(
        error.to_string(),
        format!(
            "reloading the ACL file failed, its 2 rules loaded before stay in force: \
             ACL file {}, line 2: unknown keyword `topik` (expected `topic`, `pattern` or `user`)",
            path.display()
        )
    );
    assert_eq!(acl.len(), 2);
    assert!(chain.authorize_subscribe(&request).await.is_allowed());
}

#[test]
fn malformed_files_are_refused_naming_the_line() {
    let dir = TempDir::new().unwrap();
    for (text, line, words) in [
        ("topic read a\nfoo bar\n", 2, "unknown keyword `foo`"),
        ("topic\n", 1, "`topic` without a topic"),
        ("user\n", 1, "`user` without a user name"),
        (
            "# c\npattern write a/#/b\n",
            2,
            "invalid topic filter `a/#/b`",
        ),
        ("topic read a+\n", 1, "invalid topic filter `a+`"),
        ("topic readonly a\n", 1, "unknown access `readonly`"),
    ] {
        let path = dir.path().join("bad");
        fs::write(&path, text).unwrap();
        let error = AclFile::load(&path).unwrap_err();
        assert_eq!(error.line(), Some(line), "{text:?}: {error}");
        let message = error.to_string();
        assert!(message.contains(words), "{text:?}: {message}");
        assert!(message.contains(&path.display().to_string()), "{message}");
    }
}
