//! One warm instance of a plugin: its store and the exported interfaces it has.

use std::sync::Arc;
use std::time::Duration;

use wasmtime::component::InstancePre;
use wasmtime::Store;

use crate::bindings::exports::skein::plugin::{authn, authz, events, plugin, rewrite};
use crate::engine::TICK;
use crate::http::HttpClient;
use crate::kv::KvStore;
use crate::spec::PluginSpec;
use crate::state::InstanceState;

/// Where each exported interface sits in the plugin's component, found once per component: a
/// plugin exports `plugin` and any of the hook interfaces.
pub(crate) struct Exports {
    plugin: plugin::GuestIndices,
    authn: Option<authn::GuestIndices>,
    authz: Option<authz::GuestIndices>,
    rewrite: Option<rewrite::GuestIndices>,
    events: Option<events::GuestIndices>,
}

impl Exports {
    /// The exports of `pre`'s component; an error when it has no `plugin` interface.
    pub(crate) fn new(pre: &InstancePre<InstanceState>) -> wasmtime::Result<Exports> {
        Ok(Exports {
            plugin: plugin::GuestIndices::new(pre)?,
            authn: authn::GuestIndices::new(pre).ok(),
            authz: authz::GuestIndices::new(pre).ok(),
            rewrite: rewrite::GuestIndices::new(pre).ok(),
            events: events::GuestIndices::new(pre).ok(),
        })
    }

    pub(crate) fn has_authn(&self) -> bool {
        self.authn.is_some()
    }

    pub(crate) fn has_authz(&self) -> bool {
        self.authz.is_some()
    }

    pub(crate) fn has_rewrite(&self) -> bool {
        self.rewrite.is_some()
    }

    pub(crate) fn has_events(&self) -> bool {
        self.events.is_some()
    }
}

/// One instance, its `init` done.
pub(crate) struct Instance {
    pub(crate) store: Store<InstanceState>,
    pub(crate) authn: Option<authn::Guest>,
    pub(crate) authz: Option<authz::Guest>,
    pub(crate) rewrite: Option<rewrite::Guest>,
    pub(crate) events: Option<events::Guest>,
}

/// Why an instance could not be started.
pub(crate) enum StartError {
    /// Instantiation failed, or `init` trapped.
    Failed(String),
    /// `init` refused the configuration.
    Refused(String),
}

/// Deadline ticks for `deadline`, at least one.
pub(crate) fn ticks(deadline: Duration) -> u64 {
    u64::try_from(deadline.as_micros() / TICK.as_micros().max(1))
        .unwrap_or(u64::MAX)
        .max(1)
}

impl Instance {
    /// A new instance from `pre`, with `spec`'s limits, its `init` called with `spec`'s
    /// configuration; gives the plugin's info too. `http`: the plugin's HTTP client, when it
    /// is granted `http`.
    pub(crate) fn start(
        pre: &InstancePre<InstanceState>,
        exports: &Exports,
        plugin_name: &Arc<str>,
        spec: &PluginSpec,
        kv: &Arc<KvStore>,
        http: Option<&Arc<HttpClient>>,
    ) -> Result<(Box<Instance>, plugin::PluginInfo), StartError> {
        let failed = |e: wasmtime::Error| StartError::Failed(format!("{e:#}"));
        let mut state = InstanceState::new(
            Arc::clone(plugin_name),
            spec.memory_bytes,
            Arc::clone(kv),
            http.cloned(),
        );
        state.begin_call(spec.auth_deadline);
        let mut store = Store::new(pre.engine(), state);
        store.limiter(|state| &mut state.limits);
        store.epoch_deadline_trap();
        store.set_epoch_deadline(ticks(spec.auth_deadline));
        let instance = pre.instantiate(&mut store).map_err(failed)?;
        let plugin = exports.plugin.load(&mut store, &instance).map_err(failed)?;
        let authn = match &exports.authn {
            Some(indices) => Some(indices.load(&mut store, &instance).map_err(failed)?),
            None => None,
        };
        let authz = match &exports.authz {
            Some(indices) => Some(indices.load(&mut store, &instance).map_err(failed)?),
            None => None,
        };
        let rewrite = match &exports.rewrite {
            Some(indices) => Some(indices.load(&mut store, &instance).map_err(failed)?),
            None => None,
        };
        let events = match &exports.events {
            Some(indices) => Some(indices.load(&mut store, &instance).map_err(failed)?),
            None => None,
        };
        let info = plugin
            .call_init(&mut store, &spec.config)
            .map_err(failed)?
            .map_err(StartError::Refused)?;
        Ok((
            Box::new(Instance {
                store,
                authn,
                authz,
                rewrite,
                events,
            }),
            info,
        ))
    }
}
