//! What one instance's store holds, and the imports the host gives a plugin: `log`, and the
//! `client` handle a hook call lends it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use broker_core::hooks::ClientInfo;
use broker_core::types::ProtocolVersion as Version;
use wasmtime::component::{Resource, ResourceTable};
use wasmtime::{StoreLimits, StoreLimitsBuilder};

use crate::bindings::skein::plugin::log::{self, Level};
use crate::bindings::skein::plugin::session;
use crate::bindings::skein::plugin::types::{self, ProtocolVersion};
use crate::http::{self, HttpClient};
use crate::kv::KvStore;

/// The connection a hook call is about, lent to the plugin as a `client` resource.
// `pub`: the generated bindings re-export it (as the WIT's `client`) from a public module.
#[allow(unreachable_pub)]
pub struct ClientHandle(pub(crate) Arc<ClientInfo>);

/// The state of one instance's store.
pub(crate) struct InstanceState {
    /// The `client` handles lent to the call under way.
    pub(crate) table: ResourceTable,
    /// The instance's memory cap.
    pub(crate) limits: StoreLimits,
    /// The plugin's name, for its log lines.
    pub(crate) plugin: Arc<str>,
    /// The plugin's `kv` entries, shared by its instances.
    pub(crate) kv: Arc<KvStore>,
    /// The plugin's HTTP client, when it is granted `http`.
    pub(crate) http: Option<Arc<HttpClient>>,
    /// When an HTTP request of the call under way must be done (with `http` only).
    pub(crate) http_until: Option<Instant>,
}

impl InstanceState {
    /// The state of a new instance of `plugin`, whose memory may grow to `memory_bytes`.
    pub(crate) fn new(
        plugin: Arc<str>,
        memory_bytes: usize,
        kv: Arc<KvStore>,
        http: Option<Arc<HttpClient>>,
    ) -> InstanceState {
        InstanceState {
            table: ResourceTable::new(),
            limits: StoreLimitsBuilder::new()
                .memory_size(memory_bytes)
                .instances(4)
                .tables(8)
                .memories(2)
                .build(),
            plugin,
            kv,
            http,
            http_until: None,
        }
    }

    /// A call with `deadline` starts: the HTTP requests it sends must be done in time for the
    /// plugin to answer before it (nothing to do without `http`).
    pub(crate) fn begin_call(&mut self, deadline: Duration) {
        if self.http.is_some() {
            self.http_until = Some(http::budget_end(deadline));
        }
    }

    fn client(&self, handle: &Resource<ClientHandle>) -> wasmtime::Result<&ClientInfo> {
        Ok(&self.table.get(handle)?.0)
    }
}

impl types::Host for InstanceState {}

impl log::Host for InstanceState {
    fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        let plugin = &*self.plugin;
        match level {
            Level::Trace => tracing::trace!(plugin, "{message}"),
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
        Ok(())
    }
}

impl session::Host for InstanceState {}

impl session::HostClient for InstanceState {
    fn client_id(&mut self, handle: Resource<ClientHandle>) -> wasmtime::Result<String> {
        Ok(self.client(&handle)?.client_id.as_str().to_owned())
    }

    fn username(&mut self, handle: Resource<ClientHandle>) -> wasmtime::Result<Option<String>> {
        Ok(self
            .client(&handle)?
            .username
            .as_ref()
            .map(|u| u.as_str().to_owned()))
    }

    fn peer_addr(&mut self, handle: Resource<ClientHandle>) -> wasmtime::Result<String> {
        Ok(self
            .client(&handle)?
            .peer_addr
            .map(|a| a.to_string())
            .unwrap_or_default())
    }

    fn listener(&mut self, handle: Resource<ClientHandle>) -> wasmtime::Result<String> {
        Ok(self.client(&handle)?.listener.as_str().to_owned())
    }

    fn protocol(&mut self, handle: Resource<ClientHandle>) -> wasmtime::Result<ProtocolVersion> {
        Ok(match self.client(&handle)?.protocol {
            Version::V3_1 => ProtocolVersion::V31,
            Version::V3_1_1 => ProtocolVersion::V311,
            Version::V5 => ProtocolVersion::V5,
        })
    }

    fn cert_common_name(
        &mut self,
        handle: Resource<ClientHandle>,
    ) -> wasmtime::Result<Option<String>> {
        // The certificate's subject is not parsed here yet: a plugin that needs it gets none.
        let _ = self.client(&handle)?;
        Ok(None)
    }

    fn attribute(
        &mut self,
        handle: Resource<ClientHandle>,
        name: String,
    ) -> wasmtime::Result<Option<String>> {
        Ok(self
            .client(&handle)?
            .attributes
            .get(&name)
            .map(str::to_owned))
    }

    fn drop(&mut self, handle: Resource<ClientHandle>) -> wasmtime::Result<()> {
        self.table.delete(handle)?;
        Ok(())
    }
}
