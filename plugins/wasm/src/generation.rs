//! One generation of a plugin: its compiled component, what its first instance's `init`
//! declared, and its pool of warm instances. A reload makes a new generation and swaps it in;
//! the old one goes once the calls that hold it end.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use broker_core::hooks::{HookError, Interest};
use broker_core::types::TopicFilter;
use wasmtime::component::{Component, InstancePre, Linker, Resource};

use crate::bindings::skein::plugin::{http, kv, log, metrics, session, types};
use crate::component;
use crate::convert;
use crate::engine::PluginEngine;
use crate::error::LoadError;
use crate::http::HttpClient;
use crate::instance::{Exports, Instance, StartError};
use crate::kv::KvStore;
use crate::spec::PluginSpec;
use crate::state::{ClientHandle, InstanceState};

/// One loaded version of a plugin.
pub(crate) struct Generation {
    pub(crate) spec: PluginSpec,
    name: Arc<str>,
    /// The plugin's `kv` entries: every generation's.
    kv: Arc<KvStore>,
    /// Its HTTP client, when it is granted `http`: then its calls block on the network and
    /// run on tokio's blocking pool.
    http: Option<Arc<HttpClient>>,
    pre: InstancePre<InstanceState>,
    pub(crate) exports: Exports,
    /// Warm instances. Boxed: an instance (its store and bindings) is large, and moving it in
    /// and out of the vector unboxed made checkout ten times slower (../shared/PLUGINS.md, 4.5).
    #[allow(clippy::vec_box)]
    pool: Mutex<Vec<Box<Instance>>>,
    pub(crate) interest: Interest,
    pub(crate) publish_filters: Vec<TopicFilter>,
    pub(crate) subscribe_filters: Vec<TopicFilter>,
    /// The kinds of event the plugin asked for, a bit each
    /// ([`event_bit`](crate::convert::event_bit)); none unless it exports `events`.
    pub(crate) events: u8,
    pub(crate) version: String,
}

impl Generation {
    /// Compiles `spec`'s plugin, links what it is granted, and starts a first instance whose
    /// `init` must accept the configuration; that instance is the pool's first.
    pub(crate) async fn load(
        engine: &PluginEngine,
        name: &Arc<str>,
        spec: PluginSpec,
        kv: &Arc<KvStore>,
    ) -> Result<Generation, LoadError> {
        let named = || spec.name.clone();
        let compile = |reason| LoadError::Compile {
            name: named(),
            reason,
        };
        let http = HttpClient::for_spec(&spec, name)?;
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
        let (first, info) = Instance::start(&pre, &exports, name, &spec, kv, http.as_ref())
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
        let events = if exports.has_events() {
            info.events
                .iter()
                .fold(0, |bits, kind| bits | convert::event_bit(*kind))
        } else {
            0
        };
        if events != 0 {
            interest = interest.union(Interest::EVENTS);
        }
        Ok(Generation {
            spec,
            name: Arc::clone(name),
            kv: Arc::clone(kv),
            http,
            pre,
            exports,
            pool: Mutex::new(vec![first]),
            interest,
            publish_filters,
            subscribe_filters,
            events,
            version: info.version,
        })
    }

    /// Whether the plugin's calls may block on the network (it is granted `http`): they must
    /// run on tokio's blocking pool, not on a worker.
    pub(crate) fn blocks(&self) -> bool {
        self.http.is_some()
    }

    /// A warm instance, or a new one (whose `init` runs here).
    pub(crate) fn checkout(&self) -> Result<Box<Instance>, HookError> {
        let pooled = self
            .pool
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        if let Some(instance) = pooled {
            return Ok(instance);
        }
        let started = Instance::start(
            &self.pre,
            &self.exports,
            &self.name,
            &self.spec,
            &self.kv,
            self.http.as_ref(),
        );
        match started {
            Ok((instance, _)) => Ok(instance),
            Err(StartError::Failed(reason) | StartError::Refused(reason)) => {
                Err(HookError::Unavailable(format!(
                    "plugin {}: a new instance failed: {reason}",
                    self.name
                )))
            }
        }
    }

    /// Gives `instance` back to the pool after a call that went well, the client it was lent
    /// taken back.
    pub(crate) fn checkin(&self, mut instance: Box<Instance>, lent: Resource<ClientHandle>) {
        if instance.store.data_mut().table.delete(lent).is_err() {
            return;
        }
        self.give_back(instance);
    }

    /// Gives `instance`, which holds no lent client, back to the pool.
    pub(crate) fn give_back(&self, instance: Box<Instance>) {
        let mut pool = self.pool.lock().unwrap_or_else(PoisonError::into_inner);
        if pool.len() < self.spec.pool {
            pool.push(instance);
        }
    }

    /// The hook error for a call that failed: the instance is dropped (a trapped instance
    /// cannot be entered again), and the failure logged with what trapped.
    pub(crate) fn failure(
        &self,
        point: &str,
        deadline: Duration,
        error: &wasmtime::Error,
    ) -> HookError {
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
            "kv" => kv::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
                .map_err(linked)?,
            "metrics" => {
                metrics::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
                    .map_err(linked)?;
            }
            "http" => {
                http::add_to_linker::<_, wasmtime::component::HasSelf<_>>(&mut linker, |s| s)
                    .map_err(linked)?;
            }
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
