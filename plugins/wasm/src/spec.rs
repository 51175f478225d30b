//! What the host needs to load one plugin: its component, its configuration, its limits.

use std::time::Duration;

/// One plugin to load, as a `[[plugins]]` table of the node's configuration describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginSpec {
    /// Its name in logs, metrics and errors.
    pub name: String,
    /// The plugin's bytes (`.wasm`): a component, or a core module built by wit-bindgen for
    /// `wasm32-unknown-unknown` (made a component as it loads).
    pub component: Vec<u8>,
    /// Key-value pairs handed to its `init`, in order.
    pub config: Vec<(String, String)>,
    /// The capabilities it is granted: only these interfaces are linked. This host provides
    /// `log`, `kv`, `metrics` and `http`.
    pub grants: Vec<String>,
    /// The origins (`scheme://host[:port]`, as `https://auth.example.com` or
    /// `http://127.0.0.1:8080`) the `http` capability may reach: a request whose scheme, host
    /// and port are not exactly one of them is refused (`not-allowed`). Granting `http` with
    /// none is a load error.
    pub http_allow: Vec<String>,
    /// The longest one HTTP request may take, whatever the plugin asks for. The call's deadline
    /// keeps counting while the plugin waits for an answer: `auth_deadline` (and `deadline`,
    /// for a plugin that sends requests from its authorization hooks) must cover it.
    pub http_timeout: Duration,
    /// The most linear memory one instance may grow to.
    pub memory_bytes: usize,
    /// How long one authorization or rewrite call may run (counted in the engine's ticks).
    pub deadline: Duration,
    /// How long one authentication call may run.
    pub auth_deadline: Duration,
    /// Warm instances kept at most.
    pub pool: usize,
    /// Failures within a minute ([`WINDOW`](crate::WINDOW)) that open the plugin's circuit
    /// for [`COOL_DOWN`](crate::COOL_DOWN): its calls then fail at once, without running it,
    /// and the hook chain's failure policy answers them. 0: never.
    pub breaker_failures: usize,
}

impl PluginSpec {
    /// The default memory cap of an instance: 16 MiB.
    pub const DEFAULT_MEMORY_BYTES: usize = 16 * 1024 * 1024;
    /// The default deadline of an authorization or rewrite call: 5 ms.
    pub const DEFAULT_DEADLINE: Duration = Duration::from_millis(5);
    /// The default deadline of an authentication call: 100 ms.
    pub const DEFAULT_AUTH_DEADLINE: Duration = Duration::from_millis(100);
    /// The default pool: 16 warm instances at most.
    pub const DEFAULT_POOL: usize = 16;
    /// The default longest HTTP request: 2 s.
    pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(2);
    /// The default breaker: 10 failures within a minute.
    pub const DEFAULT_BREAKER_FAILURES: usize = 10;

    /// `component`, named `name`, with no configuration, granted `log`, and the default
    /// limits.
    #[must_use]
    pub fn new(name: impl Into<String>, component: Vec<u8>) -> PluginSpec {
        PluginSpec {
            name: name.into(),
            component,
            config: Vec::new(),
            grants: vec!["log".to_owned()],
            http_allow: Vec::new(),
            http_timeout: Self::DEFAULT_HTTP_TIMEOUT,
            memory_bytes: Self::DEFAULT_MEMORY_BYTES,
            deadline: Self::DEFAULT_DEADLINE,
            auth_deadline: Self::DEFAULT_AUTH_DEADLINE,
            pool: Self::DEFAULT_POOL,
            breaker_failures: Self::DEFAULT_BREAKER_FAILURES,
        }
    }

    /// The same, with `config` for `init`.
    #[must_use]
    pub fn with_config<K: Into<String>, V: Into<String>>(
        mut self,
        config: impl IntoIterator<Item = (K, V)>,
    ) -> PluginSpec {
        self.config = config
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .collect();
        self
    }
}
