//! The `http` capability through the http-auth example: a backend on 127.0.0.1 decides
//! (allow, deny, ignore), its answers are cached in `kv`, a backend that does not answer or
//! an origin off the allow-list leaves the decision to the plugin's `on-error`, a plugin
//! waiting on its backend holds no runtime thread, and what is not granted or allowed is
//! refused at load.

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use broker_core::hooks::{
    AuthDecision, AuthenticateRequest, ClientInfo, Hook, Interest, ListenerName, Password, Username,
};
use broker_core::types::{ClientId, MqttString, ProtocolVersion, ReasonCode};
use skein_plugin_wasm::{LoadError, PluginEngine, PluginSpec, WasmHook};

use crate::backend::{Backend, Reply};
use crate::guests;

/// Answers by user name: alice is allowed (with attributes), bob denied, carol ignored; dave
/// gets a 500, erin a body that is not JSON, silent no answer at all.
fn script(request: &serde_json::Value) -> Reply {
    let answer = |body: &str| Reply::Answer(200, body.to_owned());
    match request["username"].as_str().unwrap_or_default() {
        "alice" => answer(r#"{"result":"allow","client_attrs":{"role":"admin","level":3}}"#),
        "bob" => answer(r#"{"result":"deny"}"#),
        "carol" => answer(r#"{"result":"ignore"}"#),
        "dave" => Reply::Answer(500, "oops".to_owned()),
        "erin" => answer("not json"),
        "silent" => Reply::Silent,
        other => panic!("no script for {other:?}"),
    }
}

/// The http-auth example asking `url`, allowed to reach `allow`, with `config` besides.
fn spec(allow: &str, url: &str, config: &[(&str, &str)]) -> PluginSpec {
    let mut pairs = vec![("url".to_owned(), url.to_owned())];
    pairs.extend(
        config
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    let mut spec = PluginSpec::new("http-auth", guests::http_auth()).with_config(pairs);
    spec.grants.extend(["kv".to_owned(), "http".to_owned()]);
    spec.http_allow = vec![allow.to_owned()];
    spec.http_timeout = Duration::from_secs(5);
    spec.auth_deadline = Duration::from_secs(10);
    spec
}

async fn load(spec: PluginSpec) -> WasmHook {
    WasmHook::load(&Arc::new(PluginEngine::new().unwrap()), spec)
        .await
        .unwrap()
}

fn connect(user: &str, password: &str) -> AuthenticateRequest {
    let client = ClientInfo::new(
        ClientId::new(&format!("{user}-device")).unwrap(),
        ProtocolVersion::V5,
        ListenerName::new("test"),
    )
    .with_username(Username::new(MqttString::new(user).unwrap()))
    .with_peer_addr("127.0.0.1:40001".parse().unwrap());
    AuthenticateRequest::connect(
        Arc::new(client),
        Some(Password::new(password.as_bytes().to_vec())),
    )
}

async fn decide(hook: &WasmHook, user: &str, password: &str) -> AuthDecision {
    hook.authenticate(&connect(user, password)).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_backend_allows_denies_or_ignores_and_a_bad_answer_is_denied() {
    let backend = Backend::start(script);
    let hook = load(spec(
        &backend.origin(),
        &backend.url(),
        &[("cache-ms", "0")],
    ))
    .await;
    assert_eq!(hook.interest(), Interest::AUTHENTICATE);

    let AuthDecision::Allow(success) = decide(&hook, "alice", "secret").await else {
        panic!("alice must be allowed");
    };
    assert_eq!(success.attributes.get("role"), Some("admin"));
    // Only string attributes are taken.
    assert_eq!(success.attributes.get("level"), None);
    assert_eq!(
        backend.requests()[0],
        serde_json::json!({
            "clientid": "alice-device",
            "username": "alice",
            "password": "secret",
            "peerhost": "127.0.0.1",
        })
    );
    let bob = decide(&hook, "bob", "secret").await;
    assert_eq!(bob.reason_code(), Some(ReasonCode::BadUserNameOrPassword));
    assert_eq!(decide(&hook, "carol", "secret").await, AuthDecision::Next);
    // A status other than 200, or an answer that is not a result: on-error (deny).
    for user in ["dave", "erin"] {
        let refused = decide(&hook, user, "secret").await;
        assert_eq!(
            refused.reason_code(),
            Some(ReasonCode::ServerUnavailable),
            "{user}: {refused:?}"
        );
    }
    assert_eq!(backend.requests().len(), 5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_credentials_again_are_answered_from_the_cache() {
    let backend = Backend::start(script);
    let hook = load(spec(&backend.origin(), &backend.url(), &[])).await;
    assert!(matches!(
        decide(&hook, "alice", "secret").await,
        AuthDecision::Allow(_)
    ));
    let denied = decide(&hook, "bob", "wrong").await;
    assert_eq!(
        denied.reason_code(),
        Some(ReasonCode::BadUserNameOrPassword)
    );
    assert_eq!(backend.requests().len(), 2);
    // Again: the backend is not asked, and the answers (attributes included) are the same.
    let AuthDecision::Allow(success) = decide(&hook, "alice", "secret").await else {
        panic!("alice must be allowed from the cache");
    };
    assert_eq!(success.attributes.get("role"), Some("admin"));
    assert_eq!(decide(&hook, "bob", "wrong").await, denied);
    assert_eq!(backend.requests().len(), 2);
    // Other credentials are other entries.
    assert!(matches!(
        decide(&hook, "alice", "another").await,
        AuthDecision::Allow(_)
    ));
    assert_eq!(backend.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backend_that_does_not_answer_leaves_it_to_on_error_after_the_timeout() {
    let backend = Backend::start(script);
    let deny = load(spec(
        &backend.origin(),
        &backend.url(),
        &[("timeout-ms", "300")],
    ))
    .await;
    let refused = decide(&deny, "silent", "secret").await;
    assert_eq!(refused.reason_code(), Some(ReasonCode::ServerUnavailable));
    let next = load(spec(
        &backend.origin(),
        &backend.url(),
        &[("timeout-ms", "300"), ("on-error", "next")],
    ))
    .await;
    assert_eq!(decide(&next, "silent", "secret").await, AuthDecision::Next);
    // A request never outlasts its call: with a deadline shorter than what the plugin asks
    // for, the request ends early enough for the plugin to apply on-error itself (no trap).
    let mut short = spec(&backend.origin(), &backend.url(), &[("timeout-ms", "5000")]);
    short.auth_deadline = Duration::from_millis(400);
    let short = load(short).await;
    let refused = decide(&short, "silent", "secret").await;
    assert_eq!(refused.reason_code(), Some(ReasonCode::ServerUnavailable));
    // Errors are not cached: each attempt asked.
    assert_eq!(backend.requests().len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_origin_off_the_allow_list_is_not_reached_and_on_error_applies() {
    let backend = Backend::start(script);
    // Same host, another port: not the allowed origin.
    let elsewhere = "http://127.0.0.1:1";
    let deny = load(spec(elsewhere, &backend.url(), &[])).await;
    let refused = decide(&deny, "alice", "secret").await;
    assert_eq!(refused.reason_code(), Some(ReasonCode::ServerUnavailable));
    let next = load(spec(elsewhere, &backend.url(), &[("on-error", "next")])).await;
    assert_eq!(decide(&next, "alice", "secret").await, AuthDecision::Next);
    // Another scheme to the same host and port is another origin too.
    let https = load(spec(
        &backend.origin().replace("http:", "https:"),
        &backend.url(),
        &[],
    ))
    .await;
    let refused = decide(&https, "alice", "secret").await;
    assert_eq!(refused.reason_code(), Some(ReasonCode::ServerUnavailable));
    assert!(backend.requests().is_empty());
}

/// On a runtime of one thread, a call waiting for its backend must leave the thread free: the
/// backend holds the request until this test, on that same thread, lets it through.
#[tokio::test(flavor = "current_thread")]
async fn a_plugin_waiting_on_its_backend_leaves_the_runtime_thread_free() {
    let (arrived_tx, mut arrived) = tokio::sync::mpsc::unbounded_channel();
    let (release, gate) = mpsc::channel();
    let gate = Arc::new(Mutex::new(gate));
    let backend = Backend::start(move |_| Reply::Gated(arrived_tx.clone(), Arc::clone(&gate)));
    let hook = Arc::new(
        load(spec(
            &backend.origin(),
            &backend.url(),
            &[("timeout-ms", "20000")],
        ))
        .await,
    );
    let call = {
        let hook = Arc::clone(&hook);
        tokio::spawn(async move { decide(&hook, "gated", "secret").await })
    };
    // Runs only if the call does not hold the thread.
    arrived.recv().await.unwrap();
    release.send(()).unwrap();
    let decision = call.await.unwrap();
    assert!(matches!(decision, AuthDecision::Allow(_)), "{decision:?}");
}

#[tokio::test]
async fn http_needs_its_grant_and_an_allow_list_of_origins() {
    let engine = Arc::new(PluginEngine::new().unwrap());
    let url = "http://127.0.0.1:1/auth";
    let mut ungranted = spec("http://127.0.0.1:1", url, &[]);
    ungranted.grants.retain(|g| g != "http");
    let error = WasmHook::load(&engine, ungranted).await.unwrap_err();
    assert!(
        matches!(&error, LoadError::Imports { reason, .. } if reason.contains("skein:plugin/http")),
        "{error}"
    );
    let mut empty = spec("http://127.0.0.1:1", url, &[]);
    empty.http_allow.clear();
    let error = WasmHook::load(&engine, empty).await.unwrap_err();
    assert!(matches!(error, LoadError::HttpAllowEmpty { .. }), "{error}");
    assert!(error.to_string().contains("http_allow"), "{error}");
    let bad = spec("http://127.0.0.1:1/auth", url, &[]);
    let error = WasmHook::load(&engine, bad).await.unwrap_err();
    assert!(
        matches!(&error, LoadError::HttpAllow { reason, .. } if reason.contains("\"http://127.0.0.1:1/auth\"")),
        "{error}"
    );
    // The plugin's own configuration is checked by its init.
    let error = WasmHook::load(&engine, spec("http://127.0.0.1:1", "ftp://x", &[]))
        .await
        .unwrap_err();
    assert!(
        matches!(&error, LoadError::Init { reason, .. } if reason.contains("url")),
        "{error}"
    );
}
