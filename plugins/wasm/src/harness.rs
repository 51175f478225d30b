//! [`PluginHarness`]: a plugin under the real host, for the plugin's own tests.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use broker_core::hooks::{
    AuthDecision, AuthenticateRequest, AuthorizePublishRequest, AuthorizeSubscribeRequest,
    AuthzDecision, Event, FilterRewrite, Hook, HookError, Password, RewritePublishRequest,
    RewriteSubscribeRequest, TopicRewrite,
};
use broker_core::types::{QoS, TopicFilter, TopicName};
use thiserror::Error;

use crate::component::build_plugin;
use crate::engine::PluginEngine;
use crate::error::LoadError;
use crate::spec::PluginSpec;
use crate::test_client::TestClient;
use crate::wasm_hook::WasmHook;

/// What went wrong in a [`PluginHarness`].
#[derive(Debug, Error)]
pub enum HarnessError {
    /// The plugin crate did not build.
    #[error("building the plugin: {0}")]
    Build(String),
    /// The host refused the plugin.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The engine could not be made.
    #[error("making the plugin engine: {0}")]
    Engine(String),
    /// A call failed: the plugin trapped, ran past its deadline, or answered what the broker
    /// refuses.
    #[error(transparent)]
    Hook(#[from] HookError),
    /// A topic or filter given to the harness is not a valid MQTT one.
    #[error("{0:?} is not a valid MQTT topic name or filter")]
    Topic(String),
    /// A client identifier or user name given to the harness is not a valid MQTT one.
    #[error("{0:?} is not a valid MQTT client identifier or user name")]
    Client(String),
}

/// One plugin loaded by the real host (the same sandbox, limits, failure handling and
/// conversions as in `skein`), called the way the broker calls it:
///
/// ```no_run
/// use skein_plugin_wasm::{PluginHarness, PluginSpec, TestClient};
///
/// # async fn test() -> Result<(), skein_plugin_wasm::HarnessError> {
/// let wasm = PluginHarness::build(env!("CARGO_MANIFEST_DIR"), "my_acl")?;
/// let plugin = PluginHarness::load(
///     PluginSpec::new("my-acl", wasm).with_config([("publish", "sensors/%c/#")]),
/// )
/// .await?;
/// let device = TestClient::new("dev1")?;
/// assert!(matches!(
///     plugin.publish(&device, "sensors/dev1/t").await?,
///     broker_core::hooks::AuthzDecision::Allow { .. }
/// ));
/// # Ok(())
/// # }
/// ```
pub struct PluginHarness {
    hook: WasmHook,
}

impl PluginHarness {
    /// Builds the plugin crate at `crate_dir` (library `library`) for
    /// `wasm32-unknown-unknown`, in `$CARGO_TARGET_DIR/skein-harness` (or the crate's
    /// `target/skein-harness`), and returns its bytes.
    ///
    /// # Errors
    ///
    /// [`HarnessError::Build`]: cargo failed, or its output could not be read.
    pub fn build(crate_dir: impl AsRef<Path>, library: &str) -> Result<Vec<u8>, HarnessError> {
        let crate_dir = crate_dir.as_ref();
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| crate_dir.join("target"), PathBuf::from)
            .join("skein-harness");
        let wasm = build_plugin(crate_dir, &target, library).map_err(HarnessError::Build)?;
        std::fs::read(&wasm).map_err(|e| HarnessError::Build(format!("{}: {e}", wasm.display())))
    }

    /// Loads `spec`'s plugin on an engine of its own.
    ///
    /// # Errors
    ///
    /// Why the host refused it ([`LoadError`]).
    pub async fn load(spec: PluginSpec) -> Result<PluginHarness, HarnessError> {
        let engine =
            Arc::new(PluginEngine::new().map_err(|e| HarnessError::Engine(format!("{e:#}")))?);
        Ok(PluginHarness {
            hook: WasmHook::load(&engine, spec).await?,
        })
    }

    /// The hook, for what the harness does not wrap (a chain, a reload).
    #[must_use]
    pub fn hook(&self) -> &WasmHook {
        &self.hook
    }

    /// A CONNECT of `client` with `password`.
    ///
    /// # Errors
    ///
    /// The call failed ([`HarnessError::Hook`]).
    pub async fn connect(
        &self,
        client: &TestClient,
        password: Option<&[u8]>,
    ) -> Result<AuthDecision, HarnessError> {
        let request = AuthenticateRequest::connect(
            client.info(),
            password.map(|p| Password::new(p.to_vec())),
        );
        Ok(self.hook.authenticate(&request).await?)
    }

    /// A QoS 1 publish of `client` to `topic`.
    ///
    /// # Errors
    ///
    /// `topic` is not a topic name, or the call failed.
    pub async fn publish(
        &self,
        client: &TestClient,
        topic: &str,
    ) -> Result<AuthzDecision, HarnessError> {
        let request = AuthorizePublishRequest {
            client: client.info(),
            topic: topic_name(topic)?,
            qos: QoS::AtLeastOnce,
            retain: false,
        };
        Ok(self.hook.authorize_publish(&request).await?)
    }

    /// A QoS 1 subscription of `client` to `filter`.
    ///
    /// # Errors
    ///
    /// `filter` is not a topic filter, or the call failed.
    pub async fn subscribe(
        &self,
        client: &TestClient,
        filter: &str,
    ) -> Result<AuthzDecision, HarnessError> {
        let request = AuthorizeSubscribeRequest {
            client: client.info(),
            filter: topic_filter(filter)?,
            qos: QoS::AtLeastOnce,
        };
        Ok(self.hook.authorize_subscribe(&request).await?)
    }

    /// What the plugin makes of a publish topic.
    ///
    /// # Errors
    ///
    /// `topic` is not a topic name, or the call failed (a rewrite to an invalid topic too).
    pub async fn rewrite_topic(
        &self,
        client: &TestClient,
        topic: &str,
    ) -> Result<TopicRewrite, HarnessError> {
        let request = RewritePublishRequest {
            client: client.info(),
            topic: topic_name(topic)?,
        };
        Ok(self.hook.rewrite_publish_topic(&request).await?)
    }

    /// What the plugin makes of a subscription filter.
    ///
    /// # Errors
    ///
    /// `filter` is not a topic filter, or the call failed.
    pub async fn rewrite_filter(
        &self,
        client: &TestClient,
        filter: &str,
    ) -> Result<FilterRewrite, HarnessError> {
        let request = RewriteSubscribeRequest {
            client: client.info(),
            filter: topic_filter(filter)?,
        };
        Ok(self.hook.rewrite_subscribe_filter(&request).await?)
    }

    /// Hands the plugin `event`.
    ///
    /// # Errors
    ///
    /// The call failed.
    pub async fn event(&self, event: &Event) -> Result<(), HarnessError> {
        Ok(self.hook.on_event(event).await?)
    }
}

fn topic_name(topic: &str) -> Result<TopicName, HarnessError> {
    TopicName::new(topic).map_err(|_| HarnessError::Topic(topic.to_owned()))
}

fn topic_filter(filter: &str) -> Result<TopicFilter, HarnessError> {
    TopicFilter::new(filter).map_err(|_| HarnessError::Topic(filter.to_owned()))
}

impl std::fmt::Debug for PluginHarness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHarness")
            .field("hook", &self.hook)
            .finish()
    }
}
