//! The plugin host against real plugins built from source: decisions, the sandbox (a loop cut
//! at its deadline, a panic and a memory bomb contained, the instance replaced), what a load
//! refuses, a WASM hook in a chain beside a native one, reloads, and the topic-rewrite
//! example through the `rewrite` interface.

use std::sync::Arc;
use std::time::Duration;

use broker_core::hooks::{
    AuthorizePublishRequest, AuthorizeSubscribeRequest, AuthzDecision, ClientInfo, FilterRewrite,
    Hook, HookChain, HookError, Interest, ListenerName, RewritePublishRequest,
    RewriteSubscribeRequest, TopicRewrite, Username,
};
use broker_core::types::{
    ClientId, MqttString, ProtocolVersion, QoS, ReasonCode, TopicFilter, TopicName,
};
use skein_plugin_wasm::{LoadError, PluginEngine, PluginSpec, WasmHook};

use crate::guests;

fn engine() -> Arc<PluginEngine> {
    Arc::new(PluginEngine::new().unwrap())
}

pub(crate) fn client(id: &str, user: Option<&str>) -> Arc<ClientInfo> {
    let mut info = ClientInfo::new(
        ClientId::new(id).unwrap(),
        ProtocolVersion::V5,
        ListenerName::new("test"),
    );
    if let Some(user) = user {
        info = info.with_username(Username::new(MqttString::new(user).unwrap()));
    }
    Arc::new(info)
}

pub(crate) fn publish(client: &Arc<ClientInfo>, topic: &str) -> AuthorizePublishRequest {
    AuthorizePublishRequest {
        client: Arc::clone(client),
        topic: TopicName::new(topic).unwrap(),
        qos: QoS::AtLeastOnce,
        retain: false,
    }
}

pub(crate) fn subscribe(client: &Arc<ClientInfo>, filter: &str) -> AuthorizeSubscribeRequest {
    AuthorizeSubscribeRequest {
        client: Arc::clone(client),
        filter: TopicFilter::new(filter).unwrap(),
        qos: QoS::AtLeastOnce,
    }
}

/// The misbehaving test plugin, granted `log` and the `kv` and `metrics` it counts in.
fn rogue_spec() -> PluginSpec {
    let mut spec = PluginSpec::new("rogue", guests::rogue());
    spec.grants.extend(["kv".to_owned(), "metrics".to_owned()]);
    spec
}

async fn acl() -> WasmHook {
    let mut spec = PluginSpec::new("acl", guests::acl()).with_config(ACL_RULES);
    // The decisions are under test, not the 5 ms default deadline a loaded machine can miss.
    spec.deadline = Duration::from_secs(5);
    WasmHook::load(&engine(), spec).await.unwrap()
}

fn denied(decision: &AuthzDecision) -> Option<ReasonCode> {
    match decision {
        AuthzDecision::Deny { refusal, .. } => Some(refusal.code()),
        _ => None,
    }
}

/// The configuration both ACL examples (Rust and JavaScript) are tested with.
pub(crate) const ACL_RULES: [(&str, &str); 3] = [
    ("publish", "sensors/%c/#, public/#"),
    ("subscribe", "public/#, alerts/%u"),
    ("cache-ms", "30000"),
];

/// What an ACL example configured with [`ACL_RULES`] must decide: its rules with `%c` and
/// `%u`, covered subscriptions, the cache time, a client named `+` that does not widen
/// `sensors/%c/#` to every client's sensors, and a refusal for everything else.
pub(crate) async fn assert_the_acl_rules(hook: &WasmHook) {
    assert_eq!(hook.interest(), Interest::AUTHORIZE);
    assert_eq!(hook.version(), "0.1.0");
    let dev1 = client("dev1", None);
    let bob = client("dev2", Some("bob"));
    let allowed = hook
        .authorize_publish(&publish(&dev1, "sensors/dev1/t"))
        .await
        .unwrap();
    assert_eq!(
        allowed,
        AuthzDecision::allow().cached(Duration::from_secs(30)),
        "the decision carries the plugin's cache time"
    );
    let publishes = [
        (&dev1, "sensors/dev2/t", false),
        (&bob, "public/x/y", true),
        (&client("+", None), "sensors/dev1/t", false),
    ];
    for (who, topic, allow) in publishes {
        let decision = hook.authorize_publish(&publish(who, topic)).await.unwrap();
        match allow {
            true => assert!(
                matches!(decision, AuthzDecision::Allow { .. }),
                "{topic}: {decision:?}"
            ),
            false => assert_eq!(
                denied(&decision),
                Some(ReasonCode::NotAuthorized),
                "{topic}"
            ),
        }
    }
    // A filter covered by a rule, wildcards included; %u needs a user name.
    let subscriptions = [
        (&dev1, "public/+/x", true),
        (&bob, "alerts/bob", true),
        (&dev1, "alerts/bob", false),
        (&bob, "#", false),
    ];
    for (who, filter, allow) in subscriptions {
        let decision = hook
            .authorize_subscribe(&subscribe(who, filter))
            .await
            .unwrap();
        match allow {
            true => assert!(
                matches!(decision, AuthzDecision::Allow { .. }),
                "{filter}: {decision:?}"
            ),
            false => assert_eq!(
                denied(&decision),
                Some(ReasonCode::NotAuthorized),
                "{filter}"
            ),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_acl_example_allows_its_rules_with_c_and_u_and_denies_the_rest() {
    assert_the_acl_rules(&acl().await).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn calls_from_many_tasks_at_once_each_get_their_own_decision() {
    let hook = Arc::new(acl().await);
    let mut tasks = Vec::new();
    for n in 0..64 {
        let hook = Arc::clone(&hook);
        tasks.push(tokio::spawn(async move {
            let me = client(&format!("c{n}"), None);
            let mine = hook
                .authorize_publish(&publish(&me, &format!("sensors/c{n}/t")))
                .await
                .unwrap();
            let theirs = hook
                .authorize_publish(&publish(&me, &format!("sensors/c{}/t", n + 1)))
                .await
                .unwrap();
            (mine, theirs)
        }));
    }
    for task in tasks {
        let (mine, theirs) = task.await.unwrap();
        assert!(matches!(mine, AuthzDecision::Allow { .. }), "{mine:?}");
        assert_eq!(denied(&theirs), Some(ReasonCode::NotAuthorized));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_that_loops_is_cut_at_its_deadline_while_other_calls_go_on_and_the_next_gets_a_fresh_instance(
) {
    let mut spec = rogue_spec();
    spec.deadline = Duration::from_millis(20);
    let hook = WasmHook::load(&engine(), spec).await.unwrap();
    let hook = Arc::new(hook);
    let c = client("r", None);
    // Other clients keep being answered while one call spins: the looping call holds one
    // worker and one instance, the others get instances of their own on the other worker.
    let looping = {
        let hook = Arc::clone(&hook);
        let c = Arc::clone(&c);
        tokio::spawn(async move { hook.authorize_publish(&publish(&c, "loop")).await })
    };
    let others = {
        let hook = Arc::clone(&hook);
        tokio::spawn(async move {
            let other = client("other", None);
            let mut allowed = 0;
            for _ in 0..200 {
                if let Ok(AuthzDecision::Allow { .. }) =
                    hook.authorize_publish(&publish(&other, "fine")).await
                {
                    allowed += 1;
                }
            }
            allowed
        })
    };
    assert_eq!(others.await.unwrap(), 200);
    let error = looping.await.unwrap().unwrap_err();
    assert_eq!(error, HookError::Timeout(Duration::from_millis(20)));
    let after = hook.authorize_publish(&publish(&c, "fine")).await.unwrap();
    assert!(matches!(after, AuthzDecision::Allow { .. }), "{after:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_and_a_memory_bomb_are_contained_and_the_instance_replaced() {
    let mut spec = rogue_spec();
    spec.memory_bytes = 8 * 1024 * 1024;
    spec.deadline = Duration::from_secs(5);
    let hook = WasmHook::load(&engine(), spec).await.unwrap();
    let c = client("r", None);
    for topic in ["panic", "bomb"] {
        let error = hook
            .authorize_publish(&publish(&c, topic))
            .await
            .unwrap_err();
        assert!(
            matches!(&error, HookError::Failed(text) if text.contains("rogue")),
            "{topic}: {error:?}"
        );
        let after = hook.authorize_publish(&publish(&c, "fine")).await.unwrap();
        assert!(
            matches!(after, AuthzDecision::Allow { .. }),
            "after {topic}: {after:?}"
        );
    }
    let deny = hook.authorize_publish(&publish(&c, "deny")).await.unwrap();
    let AuthzDecision::Deny { refusal, .. } = deny else {
        panic!("{deny:?}");
    };
    assert_eq!(refusal.code(), ReasonCode::NotAuthorized);
    assert_eq!(refusal.reason().map(|r| r.as_str()), Some("told to deny"));
}

#[tokio::test]
async fn a_load_refuses_a_bad_configuration_an_ungranted_import_an_unknown_grant_and_a_non_component(
) {
    let engine = engine();
    let bad_key = PluginSpec::new("acl", guests::acl()).with_config([("bogus", "1")]);
    let error = WasmHook::load(&engine, bad_key).await.unwrap_err();
    assert!(
        matches!(&error, LoadError::Init { reason, .. } if reason.contains("bogus")),
        "{error}"
    );
    let refused = rogue_spec().with_config([("fail", "")]);
    let error = WasmHook::load(&engine, refused).await.unwrap_err();
    assert!(
        matches!(&error, LoadError::Init { reason, .. } if reason == "told to fail"),
        "{error}"
    );
    // The ACL plugin logs from its init: without the `log` grant it cannot be linked.
    let mut ungranted = PluginSpec::new("acl", guests::acl());
    ungranted.grants.clear();
    let error = WasmHook::load(&engine, ungranted).await.unwrap_err();
    assert!(
        matches!(&error, LoadError::Imports { reason, .. } if reason.contains("skein:plugin/log")),
        "{error}"
    );
    let mut unknown = PluginSpec::new("acl", guests::acl());
    unknown.grants.push("filesystem".to_owned());
    let error = WasmHook::load(&engine, unknown).await.unwrap_err();
    assert!(
        matches!(&error, LoadError::UnknownGrant { grant, .. } if grant == "filesystem"),
        "{error}"
    );
    let error = WasmHook::load(&engine, PluginSpec::new("junk", b"not wasm".to_vec()))
        .await
        .unwrap_err();
    assert!(matches!(error, LoadError::Compile { .. }), "{error}");
}

/// A native hook before the plugin: its decision stands where it has one, the plugin decides
/// the rest; a plugin that fails is denied by the chain (closed, the default policy for
/// authorization).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wasm_hook_decides_in_a_chain_after_a_native_one_and_fails_closed() {
    struct NoSys;
    #[async_trait::async_trait]
    impl Hook for NoSys {
        fn name(&self) -> &str {
            "no-sys"
        }
        async fn authorize_publish(
            &self,
            request: &AuthorizePublishRequest,
        ) -> Result<AuthzDecision, HookError> {
            Ok(if request.topic.as_str().starts_with("public/secret") {
                AuthzDecision::deny(ReasonCode::NotAuthorized)
            } else {
                AuthzDecision::Next
            })
        }
    }
    let chain = HookChain::builder().hook(NoSys).hook(acl().await).build();
    let c = client("dev1", None);
    assert!(chain
        .authorize_publish(&publish(&c, "public/a"))
        .await
        .is_allowed());
    assert!(!chain
        .authorize_publish(&publish(&c, "public/secret/a"))
        .await
        .is_allowed());
    assert!(!chain
        .authorize_publish(&publish(&c, "private/a"))
        .await
        .is_allowed());

    let mut spec = rogue_spec();
    spec.deadline = Duration::from_millis(20);
    let rogue = WasmHook::load(&engine(), spec).await.unwrap();
    let chain = HookChain::builder().hook(rogue).build();
    assert!(chain
        .authorize_publish(&publish(&c, "fine"))
        .await
        .is_allowed());
    assert!(!chain
        .authorize_publish(&publish(&c, "panic"))
        .await
        .is_allowed());
    assert!(!chain
        .authorize_publish(&publish(&c, "loop"))
        .await
        .is_allowed());
}

/// A reload (SIGHUP in `skein`) loads the plugin again from what the reloader gives: a new
/// configuration takes effect for the next call; a configuration its `init` refuses, or a
/// file that is not a plugin, leaves the running version serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_swaps_in_a_new_generation_and_a_bad_one_keeps_the_old() {
    use std::sync::Mutex;

    use broker_core::hooks::Reload;

    let source: Arc<Mutex<(Vec<u8>, &'static str)>> = Arc::new(Mutex::new((guests::acl(), "a/#")));
    let spec_of = |(bytes, publish): &(Vec<u8>, &'static str)| {
        PluginSpec::new("acl", bytes.clone()).with_config([("publish", *publish)])
    };
    let first = spec_of(&source.lock().unwrap());
    let reloader = {
        let source = Arc::clone(&source);
        Arc::new(move || Ok(spec_of(&source.lock().unwrap())))
    };
    let hook = WasmHook::load(&engine(), first)
        .await
        .unwrap()
        .with_reloader(reloader);
    let c = client("c", None);
    let allowed = |d: &AuthzDecision| matches!(d, AuthzDecision::Allow { .. });
    assert!(allowed(
        &hook.authorize_publish(&publish(&c, "a/x")).await.unwrap()
    ));
    assert!(!allowed(
        &hook.authorize_publish(&publish(&c, "b/x")).await.unwrap()
    ));

    source.lock().unwrap().1 = "b/#";
    let reloaded = hook.reload().await.unwrap();
    assert!(reloaded.is_reloaded(), "{reloaded:?}");
    assert!(allowed(
        &hook.authorize_publish(&publish(&c, "b/x")).await.unwrap()
    ));
    assert!(!allowed(
        &hook.authorize_publish(&publish(&c, "a/x")).await.unwrap()
    ));

    // An init that refuses: the running generation stays.
    let bad_config = {
        let bytes = guests::acl();
        WasmHook::load(
            &engine(),
            PluginSpec::new("acl", bytes).with_config([("publish", "b/#")]),
        )
        .await
        .unwrap()
        .with_reloader(Arc::new(|| {
            Ok(PluginSpec::new("acl", guests::acl()).with_config([("bogus", "1")]))
        }))
    };
    let error = bad_config.reload().await.unwrap_err();
    assert!(error.problem().contains("bogus"), "{error:?}");
    assert!(error.kept().contains("keeps serving"), "{error:?}");
    assert!(allowed(
        &bad_config
            .authorize_publish(&publish(&c, "b/x"))
            .await
            .unwrap()
    ));

    source.lock().unwrap().0 = b"junk".to_vec();
    let error = hook.reload().await.unwrap_err();
    assert!(error.problem().contains("not a WebAssembly"), "{error:?}");
    assert!(allowed(
        &hook.authorize_publish(&publish(&c, "b/x")).await.unwrap()
    ));
    // Without a reloader there is nothing to reload.
    assert_eq!(acl().await.reload().await.unwrap(), Reload::Unsupported);
}

/// The topic-rewrite example through the `rewrite` interface: a publish topic and a
/// subscription filter that a rule matches are rewritten with the regular expression's
/// groups, the rest kept; a rewrite to something that is not a topic is refused by the host
/// (the chain keeps the topic); a bad expression fails the load.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_topic_rewrite_example_rewrites_topics_and_filters_by_its_rules() {
    let mut spec = PluginSpec::new("rewrite", guests::topic_rewrite()).with_config([
        ("publish.1", "x/y/+ | ^x/y/(.+)$ | z/y/$1"),
        ("publish.2", "bad/+ | ^bad/(.+)$ | z/#/$1"),
        ("subscribe.1", "old/# | ^old/(.*)$ | new/$1"),
    ]);
    // The rewriting is under test, not the deadline: on a loaded machine a first call can
    // take longer than the 5 ms default (a test of the deadline sets its own).
    spec.deadline = Duration::from_secs(5);
    let hook = WasmHook::load(&engine(), spec).await.unwrap();
    assert_eq!(hook.interest(), Interest::REWRITE);
    let c = client("c", None);
    let topic = |t: &str| RewritePublishRequest {
        client: Arc::clone(&c),
        topic: TopicName::new(t).unwrap(),
    };
    assert_eq!(
        hook.rewrite_publish_topic(&topic("x/y/a")).await.unwrap(),
        TopicRewrite::Replace(TopicName::new("z/y/a").unwrap())
    );
    assert_eq!(
        hook.rewrite_publish_topic(&topic("x/q/a")).await.unwrap(),
        TopicRewrite::Keep
    );
    let invalid = hook
        .rewrite_publish_topic(&topic("bad/a"))
        .await
        .unwrap_err();
    assert!(
        matches!(invalid, HookError::InvalidDecision(_)),
        "{invalid:?}"
    );
    let filter = |f: &str| RewriteSubscribeRequest {
        client: Arc::clone(&c),
        filter: TopicFilter::new(f).unwrap(),
    };
    assert_eq!(
        hook.rewrite_subscribe_filter(&filter("old/+/t"))
            .await
            .unwrap(),
        FilterRewrite::Replace(TopicFilter::new("new/+/t").unwrap())
    );
    assert_eq!(
        hook.rewrite_subscribe_filter(&filter("other/#"))
            .await
            .unwrap(),
        FilterRewrite::Keep
    );
    // The chain keeps the topic a plugin rewrote to no topic, and takes the valid rewrites.
    let chain = HookChain::builder().hook(hook).build();
    assert_eq!(
        chain.rewrite_publish_topic(topic("x/y/b")).await,
        TopicName::new("z/y/b").unwrap()
    );
    assert_eq!(
        chain.rewrite_publish_topic(topic("bad/b")).await,
        TopicName::new("bad/b").unwrap()
    );
    let bad = PluginSpec::new("rewrite", guests::topic_rewrite())
        .with_config([("publish.1", "a/+ | ^a/(.+ | b/$1")]);
    let error = WasmHook::load(&engine(), bad).await.unwrap_err();
    assert!(
        matches!(&error, LoadError::Init { reason, .. } if reason.contains("publish.1")),
        "{error}"
    );
}

/// Repeated failures open the plugin's circuit: its next calls fail at once, without running
/// it (the chain's failure policy answers them), where a fresh instance would have allowed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_failures_open_the_circuit_and_calls_then_fail_without_running_the_plugin() {
    let mut spec = rogue_spec();
    spec.breaker_failures = 3;
    let hook = WasmHook::load(&engine(), spec).await.unwrap();
    let c = client("r", None);
    let fine = hook.authorize_publish(&publish(&c, "fine")).await.unwrap();
    assert!(matches!(fine, AuthzDecision::Allow { .. }), "{fine:?}");
    for n in 0..3 {
        let error = hook
            .authorize_publish(&publish(&c, "panic"))
            .await
            .unwrap_err();
        assert!(
            matches!(error, HookError::Failed(_)),
            "panic {n}: {error:?}"
        );
    }
    let error = hook
        .authorize_publish(&publish(&c, "fine"))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, HookError::Unavailable(text) if text.contains("circuit is open")),
        "{error:?}"
    );
    let chain = HookChain::builder().hook(hook).build();
    assert!(!chain
        .authorize_publish(&publish(&c, "fine"))
        .await
        .is_allowed());
}

/// The WIT package's version is checked at load, as semver: a plugin built for a later patch
/// or minor release of the same major version loads, one built for another major version is
/// refused with the import it could not match.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_built_for_another_major_wit_version_is_refused_and_a_newer_minor_loads() {
    let engine = engine();
    let minor = guests::rogue_for_wit_version("0.1.3");
    let mut spec = PluginSpec::new("rogue-0.1.3", minor);
    spec.grants.extend(["kv".to_owned(), "metrics".to_owned()]);
    let hook = WasmHook::load(&engine, spec).await.unwrap();
    let c = client("r", None);
    let fine = hook.authorize_publish(&publish(&c, "fine")).await.unwrap();
    assert!(matches!(fine, AuthzDecision::Allow { .. }), "{fine:?}");
    let major = guests::rogue_for_wit_version("0.2.0");
    let error = WasmHook::load(&engine, PluginSpec::new("rogue-0.2.0", major))
        .await
        .unwrap_err();
    println!("{error}");
    assert!(
        matches!(&error, LoadError::Imports { reason, .. } | LoadError::NoInit { reason, .. }
            if reason.contains("0.2.0")),
        "{error}"
    );
}

/// `kv`: a plugin's entries are kept across a reload (the new generation's instances see the
/// old one's entries); the
/// cluster scope answers "unavailable" on a node without a cluster; without the grant the
/// plugin is refused at load. `metrics`: the plugin's counter is the broker's
/// `skein_plugin_counted{plugin="rogue"}`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_entries_are_kept_across_a_reload_and_need_their_grant() {
    let recorder = metrics_util::debugging::DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    // This binary's only recorder: the other tests' metrics land here too, harmlessly.
    metrics::set_global_recorder(recorder).unwrap();
    let reloader: skein_plugin_wasm::Reloader = Arc::new(|| Ok(rogue_spec()));
    let hook = Arc::new(
        WasmHook::load(&engine(), rogue_spec())
            .await
            .unwrap()
            .with_reloader(reloader),
    );
    let c = client("r", None);
    let count = |hook: Arc<WasmHook>| {
        let c = Arc::clone(&c);
        async move {
            match hook.authorize_publish(&publish(&c, "count")).await.unwrap() {
                AuthzDecision::Deny { refusal, .. } => {
                    refusal.reason().unwrap().as_str().to_owned()
                }
                other => panic!("{other:?}"),
            }
        }
    };
    assert_eq!(
        count(Arc::clone(&hook)).await,
        "1 stored=true cluster-refused=true"
    );
    // A get and a set are two calls, not one atomic increment: counting from several
    // instances at once could lose a step, so these calls come one after the other.
    for _ in 0..8 {
        count(Arc::clone(&hook)).await;
    }
    assert_eq!(
        count(Arc::clone(&hook)).await,
        "10 stored=true cluster-refused=true"
    );
    assert!(hook.reload().await.unwrap().is_reloaded());
    assert_eq!(
        count(Arc::clone(&hook)).await,
        "11 stored=true cluster-refused=true"
    );
    let counted: u64 = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(key, ..)| {
            key.key().name() == "skein_plugin_counted"
                && key
                    .key()
                    .labels()
                    .any(|l| l.key() == "plugin" && l.value() == "rogue")
        })
        .map(|(_, _, _, value)| match value {
            metrics_util::debugging::DebugValue::Counter(n) => n,
            other => panic!("{other:?}"),
        })
        .sum();
    assert_eq!(counted, 11);
    let error = WasmHook::load(&engine(), PluginSpec::new("rogue", guests::rogue()))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LoadError::Imports { reason, .. } if reason.contains("skein:plugin/kv")),
        "{error}"
    );
}
