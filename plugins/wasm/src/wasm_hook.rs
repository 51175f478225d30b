//! [`WasmHook`]: one loaded plugin, behind broker-core's [`Hook`] trait.

use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use broker_core::hooks::{
    filters_overlap, AuthDecision, AuthenticateRequest, AuthorizePublishRequest,
    AuthorizeSubscribeRequest, AuthzDecision, ClientInfo, Event, FilterRewrite, Hook, HookError,
    Interest, Reload, ReloadError, RewritePublishRequest, RewriteSubscribeRequest, TopicRewrite,
};
use broker_core::router::matches;
use broker_core::types::{TopicFilter, TopicName};
use wasmtime::component::Resource;

use crate::breaker::Breaker;
use crate::convert;
use crate::engine::PluginEngine;
use crate::error::LoadError;
use crate::generation::Generation;
use crate::instance::{ticks, Instance};
use crate::kv::KvStore;
use crate::spec::PluginSpec;
use crate::state::ClientHandle;

/// One plugin, loaded: its current generation (compiled component, pool of warm instances,
/// what `init` declared), and how to load it again on a reload.
pub struct WasmHook {
    name: Arc<str>,
    /// Keeps the epoch ticker running while the hook lives, and compiles reloads.
    engine: Arc<PluginEngine>,
    /// What the first generation hooks into; a reload may not change it.
    interest: Interest,
    current: RwLock<Arc<Generation>>,
    reloader: Option<Reloader>,
    breaker: Breaker,
    /// The plugin's `kv` entries, kept across reloads.
    kv: Arc<KvStore>,
}

/// Gives the plugin to load on a reload: its file read again, its configuration resolved
/// again (a rotated secret, say).
pub type Reloader = Arc<dyn Fn() -> Result<PluginSpec, String> + Send + Sync>;

impl WasmHook {
    /// Compiles `spec`'s plugin, links what it is granted, and starts a first instance whose
    /// `init` must accept the configuration; that instance is the pool's first.
    ///
    /// # Errors
    ///
    /// Why the plugin is refused: not a component, an ungranted or unknown import, no
    /// `plugin` export, an `init` that refused or trapped, or a bad topic filter.
    pub async fn load(engine: &Arc<PluginEngine>, spec: PluginSpec) -> Result<WasmHook, LoadError> {
        let name: Arc<str> = Arc::from(spec.name.as_str());
        let kv = KvStore::new();
        let generation = Generation::load(engine, &name, spec, &kv).await?;
        tracing::info!(plugin = %name, version = %generation.version, "Plugin loaded.");
        Ok(WasmHook {
            breaker: Breaker::new(Arc::clone(&name), generation.spec.breaker_failures),
            name,
            engine: Arc::clone(engine),
            interest: generation.interest,
            current: RwLock::new(Arc::new(generation)),
            reloader: None,
            kv,
        })
    }

    /// The same hook, reloaded on [`Hook::reload`] (SIGHUP in `skein`) from what `reloader`
    /// gives: a new generation is compiled and its first instance's `init` must pass before
    /// it replaces the running one; on any failure the running one stays.
    #[must_use]
    pub fn with_reloader(mut self, reloader: Reloader) -> WasmHook {
        self.reloader = Some(reloader);
        self
    }

    /// The version the running generation's `init` declared.
    #[must_use]
    pub fn version(&self) -> String {
        self.current().version.clone()
    }

    /// An instance of `generation` to call, unless the circuit is open.
    async fn checkout(&self, generation: &Generation) -> Result<Box<Instance>, HookError> {
        self.breaker.admit()?;
        generation
            .checkout()
            .await
            .inspect_err(|_| self.breaker.failed("unavailable"))
    }

    /// The hook error of a failed call, counted by the breaker.
    fn failed(
        &self,
        generation: &Generation,
        point: &str,
        deadline: Duration,
        error: &wasmtime::Error,
    ) -> HookError {
        let failure = generation.failure(point, deadline, error);
        self.breaker.failed(match failure {
            HookError::Timeout(_) => "timeout",
            _ => "trap",
        });
        failure
    }

    /// One call into the plugin, `point` in the logs: an instance checked out (unless the
    /// circuit is open), `client` lent to it with the call's `deadline`, then `call` made
    /// (`None` when the instance lacks the interface). A call that went well gives the
    /// instance back; one that failed drops it and is counted by the breaker.
    async fn call<R>(
        &self,
        generation: &Generation,
        point: &str,
        deadline: Duration,
        client: &Arc<ClientInfo>,
        call: impl FnOnce(&mut Instance, Resource<ClientHandle>) -> Option<wasmtime::Result<R>>,
    ) -> Result<Option<R>, HookError> {
        let mut instance = self.checkout(generation).await?;
        let lent = lend(&mut instance, client, deadline)?;
        match call(&mut instance, borrowed(&lent)) {
            None => Ok(None),
            Some(Ok(answer)) => {
                generation.checkin(instance, lent);
                self.breaker.succeeded();
                Ok(Some(answer))
            }
            Some(Err(error)) => Err(self.failed(generation, point, deadline, &error)),
        }
    }

    /// The running generation.
    fn current(&self) -> Arc<Generation> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// Lends `client` to `instance`'s next call, and sets the call's deadline.
fn lend(
    instance: &mut Instance,
    client: &Arc<ClientInfo>,
    deadline: Duration,
) -> Result<Resource<ClientHandle>, HookError> {
    instance.store.set_epoch_deadline(ticks(deadline));
    instance
        .store
        .data_mut()
        .table
        .push(ClientHandle(Arc::clone(client)))
        .map_err(|e| HookError::Failed(format!("lending the client to the plugin: {e}")))
}

/// Milliseconds since the Unix epoch (0 if the clock is before it).
fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// A borrow of `handle` for one call.
fn borrowed(handle: &Resource<ClientHandle>) -> Resource<ClientHandle> {
    Resource::new_borrow(handle.rep())
}

#[async_trait]
impl Hook for WasmHook {
    fn name(&self) -> &str {
        &self.name
    }

    fn interest(&self) -> Interest {
        self.interest
    }

    async fn authenticate(&self, request: &AuthenticateRequest) -> Result<AuthDecision, HookError> {
        let generation = self.current();
        if !generation.exports.has_authn() {
            return Ok(AuthDecision::Next);
        }
        let ask = convert::auth_request(request, unix_ms());
        let deadline = generation.spec.auth_deadline;
        let called = self
            .call(
                &generation,
                "authenticate",
                deadline,
                &request.client,
                |i, lent| {
                    let authn = i.authn.as_ref()?;
                    Some(authn.call_authenticate(&mut i.store, lent, &ask))
                },
            )
            .await?;
        Ok(called.map_or(AuthDecision::Next, convert::auth_decision))
    }

    async fn authorize_publish(
        &self,
        request: &AuthorizePublishRequest,
    ) -> Result<AuthzDecision, HookError> {
        let generation = self.current();
        let wanted = generation.publish_filters.is_empty()
            || generation
                .publish_filters
                .iter()
                .any(|f| matches(f.as_str(), request.topic.as_str()));
        if !generation.exports.has_authz() || !wanted {
            return Ok(AuthzDecision::Next);
        }
        let deadline = generation.spec.deadline;
        let called = self
            .call(
                &generation,
                "authorize-publish",
                deadline,
                &request.client,
                |i, lent| {
                    let authz = i.authz.as_ref()?;
                    Some(authz.call_authorize_publish(
                        &mut i.store,
                        lent,
                        request.topic.as_str(),
                        convert::qos(request.qos),
                        request.retain,
                    ))
                },
            )
            .await?;
        Ok(called.map_or(AuthzDecision::Next, convert::authz_decision))
    }

    async fn authorize_subscribe(
        &self,
        request: &AuthorizeSubscribeRequest,
    ) -> Result<AuthzDecision, HookError> {
        let generation = self.current();
        let wanted = generation.subscribe_filters.is_empty()
            || generation
                .subscribe_filters
                .iter()
                .any(|f| filters_overlap(f, &request.filter));
        if !generation.exports.has_authz() || !wanted {
            return Ok(AuthzDecision::Next);
        }
        let deadline = generation.spec.deadline;
        let called = self
            .call(
                &generation,
                "authorize-subscribe",
                deadline,
                &request.client,
                |i, lent| {
                    let authz = i.authz.as_ref()?;
                    Some(authz.call_authorize_subscribe(
                        &mut i.store,
                        lent,
                        request.filter.as_str(),
                        convert::qos(request.qos),
                    ))
                },
            )
            .await?;
        Ok(called.map_or(AuthzDecision::Next, convert::authz_decision))
    }

    async fn rewrite_publish_topic(
        &self,
        request: &RewritePublishRequest,
    ) -> Result<TopicRewrite, HookError> {
        let generation = self.current();
        if !generation.exports.has_rewrite() {
            return Ok(TopicRewrite::Keep);
        }
        let deadline = generation.spec.deadline;
        let called = self
            .call(
                &generation,
                "rewrite-publish-topic",
                deadline,
                &request.client,
                |i, lent| {
                    let rewrite = i.rewrite.as_ref()?;
                    Some(rewrite.call_rewrite_publish_topic(
                        &mut i.store,
                        lent,
                        request.topic.as_str(),
                    ))
                },
            )
            .await?;
        match called.flatten() {
            None => Ok(TopicRewrite::Keep),
            Some(topic) => TopicName::new(topic.as_str())
                .map(TopicRewrite::Replace)
                .map_err(|_| {
                    HookError::InvalidDecision("a plugin rewrote a topic to an invalid topic name")
                }),
        }
    }

    async fn rewrite_subscribe_filter(
        &self,
        request: &RewriteSubscribeRequest,
    ) -> Result<FilterRewrite, HookError> {
        let generation = self.current();
        if !generation.exports.has_rewrite() {
            return Ok(FilterRewrite::Keep);
        }
        let deadline = generation.spec.deadline;
        let called = self
            .call(
                &generation,
                "rewrite-subscribe-filter",
                deadline,
                &request.client,
                |i, lent| {
                    let rewrite = i.rewrite.as_ref()?;
                    Some(rewrite.call_rewrite_subscribe_filter(
                        &mut i.store,
                        lent,
                        request.filter.as_str(),
                    ))
                },
            )
            .await?;
        match called.flatten() {
            None => Ok(FilterRewrite::Keep),
            Some(filter) => TopicFilter::new(filter.as_str())
                .map(FilterRewrite::Replace)
                .map_err(|_| {
                    HookError::InvalidDecision(
                        "a plugin rewrote a filter to an invalid topic filter",
                    )
                }),
        }
    }

    async fn on_event(&self, event: &Event) -> Result<(), HookError> {
        let generation = self.current();
        let (kind, event) = convert::event(event);
        if generation.events & convert::event_bit(kind) == 0 {
            return Ok(());
        }
        // No client is lent to an event: the event says who it is about.
        let mut instance = self.checkout(&generation).await?;
        let deadline = generation.spec.deadline;
        instance.store.set_epoch_deadline(ticks(deadline));
        let Some(events) = instance.events.as_ref() else {
            generation.give_back(instance);
            return Ok(());
        };
        match events.call_on_event(&mut instance.store, &event) {
            Ok(()) => {
                generation.give_back(instance);
                self.breaker.succeeded();
                Ok(())
            }
            Err(error) => Err(self.failed(&generation, "on-event", deadline, &error)),
        }
    }

    async fn reload(&self) -> Result<Reload, ReloadError> {
        let Some(reloader) = &self.reloader else {
            return Ok(Reload::Unsupported);
        };
        let subject = format!("plugin {}", self.name);
        let kept = || format!("version {} keeps serving", self.version());
        // It reads files: off the runtime's workers.
        let reloader = Arc::clone(reloader);
        let spec = tokio::task::spawn_blocking(move || reloader())
            .await
            .map_err(|e| ReloadError::new(&subject, kept(), e))?
            .map_err(|e| ReloadError::new(&subject, kept(), e))?;
        let generation = Generation::load(&self.engine, &self.name, spec, &self.kv)
            .await
            .map_err(|e| ReloadError::new(&subject, kept(), e))?;
        if generation.interest != self.interest {
            return Err(ReloadError::new(
                &subject,
                kept(),
                "the new version exports other hook interfaces than the running one; restart the broker to change them",
            ));
        }
        let version = generation.version.clone();
        *self.current.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(generation);
        Ok(Reload::reloaded(format!(
            "plugin {} (version {version})",
            self.name
        )))
    }
}

impl fmt::Debug for WasmHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmHook")
            .field("name", &self.name)
            .field("version", &self.version())
            .field("interest", &self.interest)
            .finish_non_exhaustive()
    }
}
