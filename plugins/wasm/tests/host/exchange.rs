//! The `authn` interface's MQTT 5 enhanced authentication (a challenge, its state handed back,
//! the answer checked), the attributes an accepted client carries to `authz`, and lifecycle
//! events through `events`, with the test plugin (`tests/rogue`) through a hook chain.

use std::sync::Arc;

use broker_core::hooks::{
    AuthDecision, AuthMethod, AuthOutcome, AuthenticateRequest, AuthorizePublishRequest,
    AuthorizeSubscribeRequest, AuthzDecision, ClientInfo, EnhancedAuth, Event, Hook, HookChain,
    Interest, ListenerName,
};
use broker_core::session::CloseReason;
use broker_core::types::{
    ClientId, MqttString, ProtocolVersion, QoS, ReasonCode, TopicFilter, TopicName,
};
use bytes::Bytes;
use skein_plugin_wasm::{PluginEngine, PluginSpec, WasmHook};

use crate::guests;

fn client() -> Arc<ClientInfo> {
    Arc::new(ClientInfo::new(
        ClientId::new("dev9").unwrap(),
        ProtocolVersion::V5,
        ListenerName::new("test"),
    ))
}

async fn rogue() -> WasmHook {
    let engine = Arc::new(PluginEngine::new().unwrap());
    let mut spec = PluginSpec::new("rogue", guests::rogue());
    spec.grants.extend(["kv".to_owned(), "metrics".to_owned()]);
    WasmHook::load(&engine, spec).await.unwrap()
}

fn echo(data: Option<&'static [u8]>) -> EnhancedAuth {
    EnhancedAuth::new(
        AuthMethod::new(MqttString::new("echo").unwrap()),
        data.map(Bytes::from_static),
    )
}

fn subscribe(client: &Arc<ClientInfo>, filter: &str) -> AuthorizeSubscribeRequest {
    AuthorizeSubscribeRequest {
        client: Arc::clone(client),
        filter: TopicFilter::new(filter).unwrap(),
        qos: QoS::AtLeastOnce,
    }
}

/// Round 0 gets the plugin's challenge; the client's answer goes back to the plugin with the
/// state it kept (any instance may answer: the state travels, not the instance); a right
/// answer is accepted with the final data and the attributes, a wrong one refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_runs_an_enhanced_authentication_exchange_and_its_attributes_reach_authz() {
    let hook = rogue().await;
    assert!(hook
        .interest()
        .contains(Interest::AUTHENTICATE.union(Interest::EVENTS)));
    let chain = HookChain::builder().hook(hook).build();
    let c = client();
    let start = AuthenticateRequest::connect(Arc::clone(&c), None).with_enhanced(echo(None));
    let AuthOutcome::Continue { data, pending, .. } = chain.authenticate(&start).await else {
        panic!("round 0 must be challenged");
    };
    assert_eq!(&data[..], b"nonce");

    let answer = |data: &'static [u8]| {
        AuthenticateRequest::connect(Arc::clone(&c), None).with_enhanced(echo(Some(data)))
    };
    let wrong = chain
        .continue_authentication(&pending, &answer(b"nonce"))
        .await;
    assert!(
        matches!(&wrong, AuthOutcome::Denied(r) if r.code() == ReasonCode::NotAuthorized),
        "{wrong:?}"
    );
    let AuthOutcome::Allowed(success) = chain
        .continue_authentication(&pending, &answer(b"ecnon"))
        .await
    else {
        panic!("the right answer must be accepted");
    };
    assert_eq!(success.data.as_deref(), Some(&b"welcome"[..]));
    assert_eq!(success.attributes.get("prefix"), Some("dev9/"));

    // The runtime keeps the attributes on the connection: the plugin's authz reads them.
    let accepted = Arc::new((*c).clone().with_attributes(success.attributes));
    assert!(chain
        .authorize_subscribe(&subscribe(&accepted, "dev9/#"))
        .await
        .is_allowed());
    assert!(!chain
        .authorize_subscribe(&subscribe(&accepted, "other/#"))
        .await
        .is_allowed());
    // Without them the plugin has no opinion, and the chain's default allows.
    assert!(chain
        .authorize_subscribe(&subscribe(&c, "other/#"))
        .await
        .is_allowed());

    // A plain CONNECT: refused for the password "deny", left to the next hook otherwise.
    let plain = |password: &'static [u8]| {
        AuthenticateRequest::connect(
            Arc::clone(&c),
            Some(broker_core::hooks::Password::new(Bytes::from_static(
                password,
            ))),
        )
    };
    let refused = chain.authenticate(&plain(b"deny")).await;
    assert!(matches!(refused, AuthOutcome::Denied(_)), "{refused:?}");
    let other = rogue().await.authenticate(&plain(b"other")).await.unwrap();
    assert_eq!(other, AuthDecision::Next);
}

/// The kinds of event the plugin asked for (`connected`, `disconnected`) reach it, the
/// others do not.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_receives_the_events_it_asked_for() {
    let hook = rogue().await;
    let c = client();
    hook.on_event(&Event::Connected {
        client: Arc::clone(&c),
        session_present: false,
    })
    .await
    .unwrap();
    hook.on_event(&Event::Subscribed {
        client_id: c.client_id.clone(),
        filter: TopicFilter::new("a/#").unwrap(),
        qos: QoS::AtMostOnce,
    })
    .await
    .unwrap();
    for _ in 0..2 {
        hook.on_event(&Event::Disconnected {
            client_id: c.client_id.clone(),
            reason: CloseReason::ConnectionLost,
        })
        .await
        .unwrap();
    }
    let counts = hook
        .authorize_publish(&AuthorizePublishRequest {
            client: Arc::clone(&c),
            topic: TopicName::new("events").unwrap(),
            qos: QoS::AtMostOnce,
            retain: false,
        })
        .await
        .unwrap();
    let AuthzDecision::Deny { refusal, .. } = counts else {
        panic!("{counts:?}");
    };
    assert_eq!(
        refusal.reason().map(MqttString::as_str),
        Some("connected=1 disconnected=2")
    );
}
