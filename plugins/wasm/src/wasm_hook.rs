//! [`WasmHook`]: one loaded plugin, behind broker-core's [`Hook`] trait.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use async_trait::async_trait;
use broker_core::hooks::{
    filters_overlap, AuthDecision, AuthenticateRequest, AuthorizePublishRequest,
    AuthorizeSubscribeRequest, AuthzDecision, ClientInfo, FilterRewrite, Hook, HookError, Interest,
    Refusal, RewritePublishRequest, RewriteSubscribeRequest, TopicRewrite,
};
use broker_core::router::matches;
use broker_core::types::{MqttString, QoS, ReasonCode, TopicFilter, TopicName};
use wasmtime::component::{Component, InstancePre, Linker, Resource};

use crate::bindings::exports::skein::plugin::authn::AuthResult;
use crate::bindings::skein::plugin::types::{self as wit, Decision};
use crate::bindings::skein::plugin::{log, session, types};
use crate::component;
use crate::engine::PluginEngine;
use crate::error::LoadError;
use crate::instance::{ticks, Exports, Instance, StartError};
use crate::spec::PluginSpec;
use crate::state::{ClientHandle, InstanceState};

/// One plugin, loaded: its compiled component, a pool of warm instances, and what its
/// trial instance's `init` declared.
pub struct WasmHook {
    name: Arc<str>,
    spec: PluginSpec,
    /// Keeps the epoch ticker running while the hook lives.
    _engine: Arc<PluginEngine>,
    pre: InstancePre<InstanceState>,
    exports: Exports,
    /// Warm instances. Boxed: an instance (its store and bindings) is large, and moving it in
    /// and out of the vector unboxed made checkout ten times slower (../shared/PLUGINS.md, 4.5).
    #[allow(clippy::vec_box)]
    pool: Mutex<Vec<Box<Instance>>>,
    interest: Interest,
    publish_filters: Vec<TopicFilter>,
    subscribe_filters: Vec<TopicFilter>,
    version: String,
}

impl WasmHook {
    /// Compiles `spec`'s component, links what it is granted, and starts a trial instance
    /// whose `init` must accept the configuration; that instance is the pool's first.
    ///
    /// # Errors
    ///
    /// Why the plugin is refused: not a component, an ungranted or unknown import, no
    /// `plugin` export, an `init` that refused or trapped, or a bad topic filter.
    pub async fn load(engine: &Arc<PluginEngine>, spec: PluginSpec) -> Result<WasmHook, LoadError> {
        let name: Arc<str> = Arc::from(spec.name.as_str());
        let named = || spec.name.clone();
        let compile = |reason| LoadError::Compile {
            name: named(),
            reason,
        };
        let bytes = component::component(&spec.component).map_err(compile)?;
        let component =
            Component::new(engine.engine(), &bytes).map_err(|e| compile(format!("{e:#}")))?;
        let linker = linker(engine, &spec)?;
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Imports {
                name: named(),
                reason: format!("{e:#}"),
            })?;
        let exports = Exports::new(&pre).map_err(|e| LoadError::NoInit {
            name: named(),
            reason: format!("{e:#}"),
        })?;
        let (first, info) = Instance::start(&pre, &exports, &name, &spec)
            .await
            .map_err(|e| match e {
                StartError::Failed(reason) => LoadError::Instantiate {
                    name: named(),
                    reason,
                },
                StartError::Refused(reason) => LoadError::Init {
                    name: named(),
                    reason,
                },
            })?;
        let filters = |list: &[String]| -> Result<Vec<TopicFilter>, LoadError> {
            list.iter()
                .map(|f| {
                    TopicFilter::new(f.as_str()).map_err(|_| LoadError::Filter {
                        name: named(),
                        filter: f.clone(),
                    })
                })
                .collect()
        };
        let publish_filters = filters(&info.publish_filters)?;
        let subscribe_filters = filters(&info.subscribe_filters)?;
        let mut interest = Interest::NONE;
        if exports.has_authn() {
            interest = interest.union(Interest::AUTHENTICATE);
        }
        if exports.has_authz() {
            interest = interest.union(Interest::AUTHORIZE);
        }
        if exports.has_rewrite() {
            interest = interest.union(Interest::REWRITE);
        }
        tracing::info!(
            plugin = %name,
            plugin_name = %info.name,
            version = %info.version,
            "Plugin loaded."
        );
        Ok(WasmHook {
            name,
            spec,
            _engine: Arc::clone(engine),
            pre,
            exports,
            pool: Mutex::new(vec![first]),
            interest,
            publish_filters,
            subscribe_filters,
            version: info.version,
        })
    }

    /// The version its `init` declared.
    #[must_use]
    pub fn version(&self) -> &str {
        &self.version
    }

    /// A warm instance, or a new one.
    async fn checkout(&self) -> Result<Box<Instance>, HookError> {
        let pooled = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        if let Some(instance) = pooled {
            return Ok(instance);
        }
        match Instance::start(&self.pre, &self.exports, &self.name, &self.spec).await {
            Ok((instance, _)) => Ok(instance),
            Err(StartError::Failed(reason) | StartError::Refused(reason)) => {
                Err(HookError::Unavailable(format!(
                    "plugin {}: a new instance failed: {reason}",
                    self.name
                )))
            }
        }
    }

    /// Gives `instance` back to the pool after a call that went well.
    fn checkin(&self, mut instance: Box<Instance>, lent: Resource<ClientHandle>) {
        if instance.store.data_mut().table.delete(lent).is_err() {
            return;
        }
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < self.spec.pool {
            pool.push(instance);
        }
    }

    /// The hook error for a call that failed: the instance is dropped (a trapped instance
    /// cannot be entered again), and the failure logged with what trapped.
    fn failure(&self, point: &str, deadline: Duration, error: &wasmtime::Error) -> HookError {
        let trap = error.downcast_ref::<wasmtime::Trap>().copied();
        tracing::warn!(
            plugin = %self.name,
            hook = point,
            trap = ?trap,
            "The plugin failed; its instance is dropped. {error:#}"
        );
        match trap {
            Some(wasmtime::Trap::Interrupt) => HookError::Timeout(deadline),
            _ => HookError::Failed(format!("plugin {}: {point}: {error:#}", self.name)),
        }
    }
}

/// The linker of `spec`'s plugin: the types and the `client` handle always, and each granted
/// capability.
fn linker(engine: &PluginEngine, spec: &PluginSpec) -> Result<Linker<InstanceState>, LoadError> {
    let mut linker = Linker::new(engine.engine());
    let linked = |e: wasmtime::Error| LoadError::Imports {
        name: spec.name.clone(),
        reason: format!("{e:#}"),
    };
    types::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
        .map_err(linked)?;
    session::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
        .map_err(linked)?;
    for grant in &spec.grants {
        match grant.as_str() {
            "log" => log::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
                .map_err(linked)?,
            other => {
                return Err(LoadError::UnknownGrant {
                    name: spec.name.clone(),
                    grant: other.to_owned(),
                })
            }
        }
    }
    Ok(linker)
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

/// A borrow of `handle` for one call.
fn borrowed(handle: &Resource<ClientHandle>) -> Resource<ClientHandle> {
    Resource::new_borrow(handle.rep())
}

fn wit_qos(qos: QoS) -> wit::Qos {
    match qos {
        QoS::AtMostOnce => wit::Qos::AtMostOnce,
        QoS::AtLeastOnce => wit::Qos::AtLeastOnce,
        QoS::ExactlyOnce => wit::Qos::ExactlyOnce,
    }
}

fn reason_code(code: wit::ReasonCode) -> ReasonCode {
    match code {
        wit::ReasonCode::UnspecifiedError => ReasonCode::UnspecifiedError,
        wit::ReasonCode::ImplementationSpecificError => ReasonCode::ImplementationSpecificError,
        wit::ReasonCode::BadUserNameOrPassword => ReasonCode::BadUserNameOrPassword,
        wit::ReasonCode::NotAuthorized => ReasonCode::NotAuthorized,
        wit::ReasonCode::ServerUnavailable => ReasonCode::ServerUnavailable,
        wit::ReasonCode::ServerBusy => ReasonCode::ServerBusy,
        wit::ReasonCode::Banned => ReasonCode::Banned,
        wit::ReasonCode::BadAuthenticationMethod => ReasonCode::BadAuthenticationMethod,
        wit::ReasonCode::TopicNameInvalid => ReasonCode::TopicNameInvalid,
        wit::ReasonCode::QuotaExceeded => ReasonCode::QuotaExceeded,
        wit::ReasonCode::PayloadFormatInvalid => ReasonCode::PayloadFormatInvalid,
    }
}

fn refusal(refusal: wit::Refusal) -> (Refusal, u32) {
    let mut out = Refusal::new(reason_code(refusal.code));
    if let Some(reason) = refusal.reason.and_then(|r| MqttString::new(r).ok()) {
        out = out.with_reason(reason);
    }
    (out, refusal.cache)
}

fn cached(decision: AuthzDecision, ms: u32) -> AuthzDecision {
    if ms == 0 {
        decision
    } else {
        decision.cached(Duration::from_millis(u64::from(ms)))
    }
}

fn authz_decision(decision: Decision) -> AuthzDecision {
    match decision {
        Decision::Allow(ms) => cached(AuthzDecision::allow(), ms),
        Decision::Deny(r) => {
            let (r, ms) = refusal(r);
            cached(AuthzDecision::refuse(r), ms)
        }
        Decision::Next => AuthzDecision::Next,
    }
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
        if !self.exports.has_authn() || request.enhanced.is_some() {
            return Ok(AuthDecision::Next);
        }
        let deadline = self.spec.auth_deadline;
        let mut instance = self.checkout().await?;
        let lent = lend(&mut instance, &request.client, deadline)?;
        let password = request.password.as_ref().map(|p| p.as_bytes().to_vec());
        let Instance { store, authn, .. } = &mut *instance;
        let Some(authn) = authn else {
            return Ok(AuthDecision::Next);
        };
        match authn
            .call_authenticate(&mut *store, borrowed(&lent), password.as_deref())
            .await
        {
            Ok(result) => {
                self.checkin(instance, lent);
                Ok(match result {
                    AuthResult::Accept => AuthDecision::allow(),
                    AuthResult::Deny(r) => AuthDecision::Deny(refusal(r).0),
                    AuthResult::Next => AuthDecision::Next,
                })
            }
            Err(error) => Err(self.failure("authenticate", deadline, &error)),
        }
    }

    async fn authorize_publish(
        &self,
        request: &AuthorizePublishRequest,
    ) -> Result<AuthzDecision, HookError> {
        if !self.exports.has_authz()
            || !(self.publish_filters.is_empty()
                || self
                    .publish_filters
                    .iter()
                    .any(|f| matches(f.as_str(), request.topic.as_str())))
        {
            return Ok(AuthzDecision::Next);
        }
        let deadline = self.spec.deadline;
        let mut instance = self.checkout().await?;
        let lent = lend(&mut instance, &request.client, deadline)?;
        let Instance { store, authz, .. } = &mut *instance;
        let Some(authz) = authz else {
            return Ok(AuthzDecision::Next);
        };
        let called = authz
            .call_authorize_publish(
                &mut *store,
                borrowed(&lent),
                request.topic.as_str(),
                wit_qos(request.qos),
                request.retain,
            )
            .await;
        match called {
            Ok(decision) => {
                self.checkin(instance, lent);
                Ok(authz_decision(decision))
            }
            Err(error) => Err(self.failure("authorize-publish", deadline, &error)),
        }
    }

    async fn authorize_subscribe(
        &self,
        request: &AuthorizeSubscribeRequest,
    ) -> Result<AuthzDecision, HookError> {
        if !self.exports.has_authz()
            || !(self.subscribe_filters.is_empty()
                || self
                    .subscribe_filters
                    .iter()
                    .any(|f| filters_overlap(f, &request.filter)))
        {
            return Ok(AuthzDecision::Next);
        }
        let deadline = self.spec.deadline;
        let mut instance = self.checkout().await?;
        let lent = lend(&mut instance, &request.client, deadline)?;
        let Instance { store, authz, .. } = &mut *instance;
        let Some(authz) = authz else {
            return Ok(AuthzDecision::Next);
        };
        let called = authz
            .call_authorize_subscribe(
                &mut *store,
                borrowed(&lent),
                request.filter.as_str(),
                wit_qos(request.qos),
            )
            .await;
        match called {
            Ok(decision) => {
                self.checkin(instance, lent);
                Ok(authz_decision(decision))
            }
            Err(error) => Err(self.failure("authorize-subscribe", deadline, &error)),
        }
    }

    async fn rewrite_publish_topic(
        &self,
        request: &RewritePublishRequest,
    ) -> Result<TopicRewrite, HookError> {
        if !self.exports.has_rewrite() {
            return Ok(TopicRewrite::Keep);
        }
        let deadline = self.spec.deadline;
        let mut instance = self.checkout().await?;
        let lent = lend(&mut instance, &request.client, deadline)?;
        let Instance { store, rewrite, .. } = &mut *instance;
        let Some(rewrite) = rewrite else {
            return Ok(TopicRewrite::Keep);
        };
        let called = rewrite
            .call_rewrite_publish_topic(&mut *store, borrowed(&lent), request.topic.as_str())
            .await;
        match called {
            Ok(topic) => {
                self.checkin(instance, lent);
                match topic {
                    None => Ok(TopicRewrite::Keep),
                    Some(topic) => TopicName::new(topic.as_str())
                        .map(TopicRewrite::Replace)
                        .map_err(|_| {
                            HookError::InvalidDecision(
                                "a plugin rewrote a topic to an invalid topic name",
                            )
                        }),
                }
            }
            Err(error) => Err(self.failure("rewrite-publish-topic", deadline, &error)),
        }
    }

    async fn rewrite_subscribe_filter(
        &self,
        request: &RewriteSubscribeRequest,
    ) -> Result<FilterRewrite, HookError> {
        if !self.exports.has_rewrite() {
            return Ok(FilterRewrite::Keep);
        }
        let deadline = self.spec.deadline;
        let mut instance = self.checkout().await?;
        let lent = lend(&mut instance, &request.client, deadline)?;
        let Instance { store, rewrite, .. } = &mut *instance;
        let Some(rewrite) = rewrite else {
            return Ok(FilterRewrite::Keep);
        };
        let called = rewrite
            .call_rewrite_subscribe_filter(&mut *store, borrowed(&lent), request.filter.as_str())
            .await;
        match called {
            Ok(filter) => {
                self.checkin(instance, lent);
                match filter {
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
            Err(error) => Err(self.failure("rewrite-subscribe-filter", deadline, &error)),
        }
    }
}

impl fmt::Debug for WasmHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WasmHook")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("interest", &self.interest)
            .finish_non_exhaustive()
    }
}
