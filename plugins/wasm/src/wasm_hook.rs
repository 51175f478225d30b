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

    /// One call into the plugin, `point` in the logs, unless the circuit is open: an instance
    /// checked out, `client` (if any) lent to it with the call's `deadline`, then `call` made
    /// with `request` (`None` when the instance lacks the interface). A call that went well
    /// gives the instance back; one that failed drops it and is counted by the breaker.
    ///
    /// A plugin granted `http` may wait on the network in any call: its calls run on tokio's
    /// blocking pool, the instance moved there and back (and `request` cloned: it is not
    /// borrowed there). Any other plugin is called right here, synchronously: its imports
    /// answer at once and its deadline bounds the call, which is the fast path.
    async fn call<Q, R, F>(
        &self,
        generation: &Arc<Generation>,
        point: &str,
        deadline: Duration,
        client: Option<&Arc<ClientInfo>>,
        request: &Q,
        call: F,
    ) -> Result<Option<R>, HookError>
    where
        Q: Clone + Send + Sync + 'static,
        R: Send + 'static,
        F: FnOnce(&mut Instance, Option<Resource<ClientHandle>>, &Q) -> Option<wasmtime::Result<R>>
            + Send
            + 'static,
    {
        self.breaker.admit()?;
        let called = if generation.blocks() {
            let on_pool = Arc::clone(generation);
            let client = client.cloned();
            let request = request.clone();
            tokio::task::spawn_blocking(move || {
                run(&on_pool, deadline, client.as_ref(), &request, call)
            })
            .await
            .map_err(|e| HookError::Failed(format!("plugin {}: {point}: {e}", self.name)))?
        } else {
            run(generation, deadline, client, request, call)
        };
        match called {
            Called::Answer(None) => Ok(None),
            Called::Answer(Some(answer)) => {
                self.breaker.succeeded();
                Ok(Some(answer))
            }
            Called::NoInstance(error) => {
                self.breaker.failed("unavailable");
                Err(error)
            }
            Called::NotLent(error) => Err(error),
            Called::Failed(error) => Err(self.failed(generation, point, deadline, &error)),
        }
    }

    /// The running generation.
    fn current(&self) -> Arc<Generation> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }
}

/// What one call into an instance came to.
enum Called<R> {
    /// The plugin answered; `None`: the instance lacks the interface.
    Answer(Option<R>),
    /// No instance could be had.
    NoInstance(HookError),
    /// The client could not be lent; nothing was called.
    NotLent(HookError),
    /// The call trapped or passed its deadline: the instance was dropped.
    Failed(wasmtime::Error),
}

/// The synchronous part of a call (see [`WasmHook::call`]): checkout, lend, call, checkin.
fn run<Q, R>(
    generation: &Generation,
    deadline: Duration,
    client: Option<&Arc<ClientInfo>>,
    request: &Q,
    call: impl FnOnce(&mut Instance, Option<Resource<ClientHandle>>, &Q) -> Option<wasmtime::Result<R>>,
) -> Called<R> {
    let mut instance = match generation.checkout() {
        Ok(instance) => instance,
        Err(error) => return Called::NoInstance(error),
    };
    instance.store.set_epoch_deadline(ticks(deadline));
    instance.store.data_mut().begin_call(deadline);
    let lent = match client.map(|c| lend(&mut instance, c)).transpose() {
        Ok(lent) => lent,
        Err(error) => return Called::NotLent(error),
    };
    let answer = match call(&mut instance, lent.as_ref().map(borrowed), request) {
        Some(Err(error)) => return Called::Failed(error),
        Some(Ok(answer)) => Some(answer),
        None => None,
    };
    match lent {
        Some(lent) => generation.checkin(instance, lent),
        None => generation.give_back(instance),
    }
    Called::Answer(answer)
}

/// Lends `client` to `instance`'s next call.
fn lend(
    instance: &mut Instance,
    client: &Arc<ClientInfo>,
) -> Result<Resource<ClientHandle>, HookError> {
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
                Some(&request.client),
                &ask,
                |i, lent, ask| {
                    let authn = i.authn.as_ref()?;
                    Some(authn.call_authenticate(&mut i.store, lent?, ask))
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
                Some(&request.client),
                request,
                |i, lent, request| {
                    let authz = i.authz.as_ref()?;
                    Some(authz.call_authorize_publish(
                        &mut i.store,
                        lent?,
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
                Some(&request.client),
                request,
                |i, lent, request| {
                    let authz = i.authz.as_ref()?;
                    Some(authz.call_authorize_subscribe(
                        &mut i.store,
                        lent?,
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
                Some(&request.client),
                request,
                |i, lent, request| {
                    let rewrite = i.rewrite.as_ref()?;
                    Some(rewrite.call_rewrite_publish_topic(
                        &mut i.store,
                        lent?,
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
                Some(&request.client),
                request,
                |i, lent, request| {
                    let rewrite = i.rewrite.as_ref()?;
                    Some(rewrite.call_rewrite_subscribe_filter(
                        &mut i.store,
                        lent?,
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
        if generation.events & convert::event_bit(convert::event_kind(event)) == 0 {
            return Ok(());
        }
        let event = convert::event(event);
        // No client is lent to an event: the event says who it is about.
        self.call(
            &generation,
            "on-event",
            generation.spec.deadline,
            None,
            &event,
            |i, _, event| {
                let events = i.events.as_ref()?;
                Some(events.call_on_event(&mut i.store, event))
            },
        )
        .await?;
        Ok(())
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
