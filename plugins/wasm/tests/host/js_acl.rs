//! A plugin written in JavaScript (`plugins/examples/js-acl`, made a component by
//! ComponentizeJS with every WASI feature disabled): it imports only `skein:plugin`
//! interfaces, loads, and decides as the Rust ACL does. Its JavaScript engine (SpiderMonkey)
//! starts at about 9 MiB of linear memory and grows as it serves calls, so it gets a cap of
//! 64 MiB rather than the default 16. One load only: compiling its 12 MB component takes
//! wasmtime seconds, so the engine keeps it in a compile cache in the target folder, and
//! the next run reads it back.

use std::sync::Arc;
use std::time::Duration;

use broker_core::hooks::{
    AuthorizePublishRequest, AuthorizeSubscribeRequest, AuthzDecision, ClientInfo, Hook, Interest,
    ListenerName, Username,
};
use broker_core::types::{
    ClientId, MqttString, ProtocolVersion, QoS, ReasonCode, TopicFilter, TopicName,
};
use skein_plugin_wasm::{PluginEngine, PluginSpec, WasmHook};

use crate::guests;

fn client(id: &str, user: Option<&str>) -> Arc<ClientInfo> {
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

fn publish(client: &Arc<ClientInfo>, topic: &str) -> AuthorizePublishRequest {
    AuthorizePublishRequest {
        client: Arc::clone(client),
        topic: TopicName::new(topic).unwrap(),
        qos: QoS::AtLeastOnce,
        retain: false,
    }
}

fn subscribe(client: &Arc<ClientInfo>, filter: &str) -> AuthorizeSubscribeRequest {
    AuthorizeSubscribeRequest {
        client: Arc::clone(client),
        filter: TopicFilter::new(filter).unwrap(),
        qos: QoS::AtLeastOnce,
    }
}

fn denied(decision: &AuthzDecision) -> Option<ReasonCode> {
    match decision {
        AuthzDecision::Deny { refusal, .. } => Some(refusal.code()),
        _ => None,
    }
}

fn spec(component: Vec<u8>) -> PluginSpec {
    let mut spec = PluginSpec::new("js-acl", component);
    spec.memory_bytes = 64 * 1024 * 1024;
    spec
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_javascript_acl_loads_without_wasi_and_decides_as_the_rust_one() {
    let component = guests::js_acl();
    let engine = Arc::new(PluginEngine::with_cache(&guests::js_acl_cache()).unwrap());
    // Granted `log` only: a WASI import left in the component would refuse it here.
    let hook = WasmHook::load(
        &engine,
        spec(component).with_config([
            ("publish", "sensors/%c/#, public/#"),
            ("subscribe", "public/#, alerts/%u"),
            ("cache-ms", "30000"),
        ]),
    )
    .await
    .unwrap();
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
        AuthzDecision::allow().cached(Duration::from_secs(30))
    );
    let other = hook
        .authorize_publish(&publish(&dev1, "sensors/dev2/t"))
        .await
        .unwrap();
    assert_eq!(denied(&other), Some(ReasonCode::NotAuthorized));
    let public = hook
        .authorize_publish(&publish(&bob, "public/x/y"))
        .await
        .unwrap();
    assert!(matches!(public, AuthzDecision::Allow { .. }), "{public:?}");
    let wide = hook
        .authorize_subscribe(&subscribe(&dev1, "public/+/x"))
        .await
        .unwrap();
    assert!(matches!(wide, AuthzDecision::Allow { .. }), "{wide:?}");
    let mine = hook
        .authorize_subscribe(&subscribe(&bob, "alerts/bob"))
        .await
        .unwrap();
    assert!(matches!(mine, AuthzDecision::Allow { .. }), "{mine:?}");
    let nobody = hook
        .authorize_subscribe(&subscribe(&dev1, "alerts/bob"))
        .await
        .unwrap();
    assert_eq!(denied(&nobody), Some(ReasonCode::NotAuthorized));
    let everything = hook
        .authorize_subscribe(&subscribe(&bob, "#"))
        .await
        .unwrap();
    assert_eq!(denied(&everything), Some(ReasonCode::NotAuthorized));
}
