//! Authorize-publish through the hook chain, decision cache off: the `acl` example plugin
//! (WASM, `plugins/examples/acl`) against a native hook that makes the same check, and the
//! plugin called directly. Run with `cargo bench -p skein-plugin-wasm`.
//!
//! The plugin is built from source for wasm32-unknown-unknown first (cargo, once).

// A benchmark: setup that fails stops it, as a test would.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use broker_core::hooks::{
    AuthorizePublishRequest, AuthzDecision, ClientInfo, Hook, HookChain, HookError, ListenerName,
};
use broker_core::router::matches;
use broker_core::types::{ClientId, ProtocolVersion, QoS, ReasonCode, TopicName};
use criterion::{criterion_group, criterion_main, Criterion};
use skein_plugin_wasm::{build_plugin, PluginEngine, PluginSpec, WasmHook};

/// The ACL's rule, natively: publish under `sensors/<client id>/`.
struct NativeAcl;

#[async_trait]
impl Hook for NativeAcl {
    fn name(&self) -> &str {
        "native-acl"
    }

    async fn authorize_publish(
        &self,
        request: &AuthorizePublishRequest,
    ) -> Result<AuthzDecision, HookError> {
        let rule = format!("sensors/{}/#", request.client.client_id.as_str());
        Ok(if matches(&rule, request.topic.as_str()) {
            AuthzDecision::allow()
        } else {
            AuthzDecision::deny(ReasonCode::NotAuthorized)
        })
    }
}

fn acl_wasm() -> Vec<u8> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("plugin-examples");
    let wasm = build_plugin(
        &root.join("plugins").join("examples").join("acl"),
        &target,
        "skein_example_acl",
    )
    .expect("building the acl example");
    std::fs::read(wasm).expect("reading the acl example")
}

fn request() -> AuthorizePublishRequest {
    AuthorizePublishRequest {
        client: Arc::new(ClientInfo::new(
            ClientId::new("sensor-0042").expect("client id"),
            ProtocolVersion::V5,
            ListenerName::new("bench"),
        )),
        topic: TopicName::new("sensors/sensor-0042/temperature").expect("topic"),
        qos: QoS::AtLeastOnce,
        retain: false,
    }
}

/// Mean time of one `chain.authorize_publish` over `iters` calls.
fn run(rt: &tokio::runtime::Runtime, chain: &HookChain, iters: u64) -> Duration {
    let request = request();
    rt.block_on(async {
        let start = Instant::now();
        for _ in 0..iters {
            let outcome = chain.authorize_publish(&request).await;
            assert!(outcome.is_allowed());
        }
        start.elapsed()
    })
}

fn authorize(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let engine = Arc::new(PluginEngine::new().expect("engine"));
    let spec = PluginSpec::new("acl", acl_wasm())
        .with_config([("publish", "sensors/%c/#"), ("cache-ms", "0")]);
    let wasm = rt
        .block_on(WasmHook::load(&engine, spec))
        .expect("loading the acl example");
    let wasm = Arc::new(wasm);
    let native_chain = HookChain::builder()
        .hook(NativeAcl)
        .cache_capacity(0)
        .build();
    let wasm_chain = HookChain::builder()
        .shared_hook(Arc::clone(&wasm) as Arc<dyn Hook>, Default::default())
        .cache_capacity(0)
        .build();
    let mut group = c.benchmark_group("authorize_publish");
    group.bench_function("native hook, chain", |b| {
        b.iter_custom(|iters| run(&rt, &native_chain, iters));
    });
    group.bench_function("wasm acl plugin, chain", |b| {
        b.iter_custom(|iters| run(&rt, &wasm_chain, iters));
    });
    let request = request();
    group.bench_function("wasm acl plugin, hook alone", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    let decision = wasm.authorize_publish(&request).await.expect("decision");
                    assert!(matches!(decision, AuthzDecision::Allow { .. }));
                }
                start.elapsed()
            })
        });
    });
    group.finish();
}

criterion_group!(benches, authorize);
criterion_main!(benches);
